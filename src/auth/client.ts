/**
 * The client side of Peer ID Authentication as an undici interceptor. Per request to a web origin:
 * a cached bearer token when there is one, else the client-initiated handshake, which proves the
 * server's peer id **before** any request body is sent (a request with a body is preceded by a
 * body-less `OPTIONS` carrying the handshake). A server that ignores our challenge gets the
 * server-initiated flow. A 401 on a token re-runs the handshake when the body can be sent again.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { withHeader } from '../client/dispatcher.js'
import { PeerAuthError, PeerAuthNotReplayableError, PeerAuthUnsupportedError, PeerMismatchError } from '../errors.js'
import { ClientHandshake } from './handshake.js'
import { formatAuthHeader, isPeerIdAuth } from './params.js'
import { TokenCache } from './token-cache.js'
import type { HandshakeEnv, IssuedToken } from './handshake.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'

// without Node imports, for the Web path's native fetch too
export { TokenCache } from './token-cache.js'

type Handler = Dispatcher.DispatchHandler
type Controller = Dispatcher.DispatchController
type Headers = Record<string, string | string[]>

/** Options of the client side of Peer ID Authentication. */
export interface AuthClientOptions extends Partial<HandshakeEnv> {
  /** The client's identity key. */
  privateKey: PrivateKey
  /**
   * How many bearer tokens to keep, one per (hostname, server peer id); the least recently used go first.
   *
   * @default 256
   */
  maxTokens?: number
}

/** One host's client: its key and its tokens. */
export class AuthClient {
  readonly tokens: TokenCache
  readonly #init: AuthClientOptions
  readonly #env: HandshakeEnv

  constructor (init: AuthClientOptions) {
    this.#init = init
    this.#env = { now: init.now ?? Date.now, randomBytes: init.randomBytes ?? ((n) => new Uint8Array(randomBytes(n))) }
    this.tokens = new TokenCache(init.maxTokens, this.#env.now)
  }

  readonly #handshakes = new Map<string, { done: Promise<void>, end: () => void }>()

  /** A fresh handshake for `hostname`. */
  handshake (hostname: string): ClientHandshake {
    return new ClientHandshake({ privateKey: this.#init.privateKey, hostname, ...this.#env })
  }

  /** The handshake in flight for `key` (hostname and expected peer), settled once it has a token or gave up. */
  pending (key: string): Promise<void> | undefined {
    return this.#handshakes.get(key)?.done
  }

  /**
   * Note that a handshake for `key` starts, so that concurrent requests wait for its token instead of
   * each running their own. Returns what ends it (idempotent); a second caller gets a no-op.
   */
  begin (key: string): () => void {
    if (this.#handshakes.has(key)) {
      return () => {}
    }
    let end!: () => void
    const done = new Promise<void>(resolve => {
      end = () => {
        if (this.#handshakes.get(key)?.done === done) this.#handshakes.delete(key)
        resolve()
      }
    })
    this.#handshakes.set(key, { done, end })
    return end
  }

  /** Store a token from a handshake for `key`, and release the requests waiting for it. */
  issued (key: string, hostname: string, token: IssuedToken): void {
    this.tokens.set(hostname, token)
    this.#handshakes.get(key)?.end()
  }
}

/** What one fetch asks of the interceptor. */
export interface AuthRequest {
  /** The peer the target named: any other proven id fails the request with {@link PeerMismatchError}. */
  expectedPeer?: PeerId
  /** The `Host` a request to `origin` carries (what signatures bind). */
  hostOf: (origin: URL) => string
  /** Origins reached without the handshake (libp2p streams: the connection authenticates the peer). */
  skip: (origin: URL) => boolean
  /** The request body again, for a resend after a 401 (fetch hands the dispatcher a one-shot stream). */
  replayBody?: string | Uint8Array
  /** Called with the server's proven peer id, before the response reaches the caller. */
  onVerified: (peer: PeerId) => void
  /** Called before a request carrying the caller's body is sent (the auth-only requests carry none). */
  onBodySent?: () => void
}

/** Largest auth-only response read (a 401, an `OPTIONS` answer). */
const MAX_EXCHANGE_BYTES = 64 * 1024

/** One controller for the caller across the several requests of a handshake. */
class RelayController implements Controller {
  #current: Controller | undefined
  #aborted = false
  #paused = false
  #reason: Error | null = null
  #onAbort: ((reason: Error) => void) | undefined
  /** Rejects when the caller aborts: for waits that no request of ours is part of. */
  readonly whenAborted = new Promise<never>((_resolve, reject) => { this.#onAbort = reject })

  constructor () {
    this.whenAborted.catch(() => {})
  }

  attach (controller: Controller): void {
    this.#current = controller
    if (this.#aborted) controller.abort(this.#reason ?? new Error('aborted'))
    else if (this.#paused) controller.pause()
  }

  abort (reason: Error): void {
    this.#aborted = true
    this.#reason = reason
    this.#current?.abort(reason)
    this.#onAbort?.(reason)
  }

  pause (): void {
    this.#paused = true
    this.#current?.pause()
  }

  resume (): void {
    this.#paused = false
    this.#current?.resume()
  }

  get aborted (): boolean { return this.#aborted }
  get paused (): boolean { return this.#paused }
  get reason (): Error | null { return this.#reason }
}

interface Exchange {
  status: number
  headers: Headers
}

function header (headers: Headers, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function challengeOf (response: Exchange): string | undefined {
  const value = header(response.headers, 'www-authenticate')
  return response.status === 401 && isPeerIdAuth(value) ? value : undefined
}

/** What the final request of a run must check before its response reaches the caller. */
interface FinalCheck {
  /** The handshake whose `Authentication-Info` completes it. */
  handshake?: ClientHandshake
  /** The peer already proven (a token, or a verified signature). */
  peer?: PeerId
  /**
   * What a 401 challenge means: `retry` (a cached token was refused; authenticate again, the body can
   * be resent), `not-replayable` (the same, but the body is gone), `refused` (the server refused what
   * it had just issued or challenged).
   */
  on401: 'retry' | 'not-replayable' | 'refused'
}

/** Runs the handshake for one dispatch, then relays the final response to the caller's handler. */
class AuthRun {
  readonly #dispatch: Dispatcher.Dispatch
  readonly #opts: Dispatcher.DispatchOptions
  readonly #handler: Handler
  readonly #client: AuthClient
  readonly #request: AuthRequest
  readonly #relay = new RelayController()
  readonly #hostname: string
  readonly #url: string
  /** Concurrent handshakes with the same key are merged. */
  readonly #key: string

  constructor (dispatch: Dispatcher.Dispatch, opts: Dispatcher.DispatchOptions, handler: Handler, client: AuthClient, request: AuthRequest, origin: URL) {
    this.#dispatch = dispatch
    this.#opts = opts
    this.#handler = handler
    this.#client = client
    this.#request = request
    this.#hostname = request.hostOf(origin)
    this.#url = new URL(opts.path, origin).toString()
    this.#key = `${this.#hostname} ${request.expectedPeer?.toString() ?? '*'}`
  }

  start (): void {
    this.#handler.onRequestStart?.(this.#relay, {})
    this.#run().catch((err: Error) => {
      this.#handler.onResponseError?.(this.#relay, err)
    })
  }

  /**
   * Whether the request must wait for the server's proof before it is sent: it has a body, or its method
   * is not safe (a bodiless DELETE acts as much as a POST does). Such requests are preceded by an
   * `OPTIONS` that carries the handshake.
   */
  get #mustWaitForProof (): boolean {
    return this.#opts.body != null || !['GET', 'HEAD'].includes((this.#opts.method ?? 'GET').toUpperCase())
  }

  get #body (): Dispatcher.DispatchOptions['body'] {
    return this.#opts.body == null ? null : this.#request.replayBody ?? this.#opts.body
  }

  get #replayable (): boolean {
    const body = this.#opts.body
    return body == null || typeof body === 'string' || body instanceof Uint8Array || this.#request.replayBody != null
  }

  #with (authorization: string, init: { method?: string, body?: Dispatcher.DispatchOptions['body'] } = {}): Dispatcher.DispatchOptions {
    return { ...this.#opts, method: init.method ?? this.#opts.method, body: 'body' in init ? init.body : this.#body, headers: withHeader(this.#opts.headers, 'authorization', authorization) as Headers }
  }

  #verified (peer: PeerId): void {
    const expected = this.#request.expectedPeer
    if (expected != null && !expected.equals(peer)) {
      throw new PeerMismatchError(expected.toString(), peer.toString())
    }
  }

  async #run (): Promise<void> {
    let token = this.#client.tokens.get(this.#hostname, this.#request.expectedPeer)
    const pending = token == null ? this.#client.pending(this.#key) : undefined
    if (pending != null) {
      await Promise.race([pending, this.#relay.whenAborted])
      token = this.#client.tokens.get(this.#hostname, this.#request.expectedPeer)
    }
    if (token != null) {
      let outcome: 'done' | 'retry'
      try {
        outcome = await this.#final(this.#with(formatAuthHeader([['bearer', token.bearer]])), { peer: token.serverPeer, on401: this.#replayable ? 'retry' : 'not-replayable' })
      } catch (err) {
        // refused: no later request may present it again
        if (err instanceof PeerAuthNotReplayableError) this.#client.tokens.delete(this.#hostname, token.serverPeer)
        throw err
      }
      if (outcome !== 'retry') return
      this.#client.tokens.delete(this.#hostname, token.serverPeer)
    }
    const end = this.#client.begin(this.#key)
    try {
      await this.#handshake()
    } finally {
      end()
    }
  }

  async #handshake (): Promise<void> {
    const handshake = this.#client.handshake(this.#hostname)
    // Nothing that acts goes out before the server is proven: a body, or an unsafe method, waits behind an OPTIONS.
    const probe = this.#mustWaitForProof ? { method: 'OPTIONS', body: null } : {}
    const first = await this.#exchange(this.#with(handshake.start(), probe), true)
    const challenge = challengeOf(first)
    if (challenge == null) {
      // Peer ID Authentication is optional (spec http/peer-id-auth.md): the caller may reach the peer another way
      throw new PeerAuthUnsupportedError(this.#url, first.status)
    }
    const answer = await handshake.respond(challenge)
    if (handshake.serverPeer != null) {
      this.#verified(handshake.serverPeer)
      await this.#final(this.#with(answer), { handshake, peer: handshake.serverPeer, on401: 'refused' })
      return
    }
    if (!this.#mustWaitForProof) {
      // server-initiated, no body to protect: the request itself answers; its response is held until the server is proven
      await this.#final(this.#with(answer), { handshake, on401: 'refused' })
      return
    }
    const second = await this.#exchange(this.#with(answer, probe), false)
    const info = header(second.headers, 'authentication-info')
    if (info == null) {
      throw new PeerAuthError(`${this.#url} answered ${second.status} without Authentication-Info: the server is not proven`)
    }
    const issued = await handshake.finish(info)
    this.#verified(issued.serverPeer)
    this.#client.issued(this.#key, this.#hostname, issued)
    await this.#final(this.#with(formatAuthHeader([['bearer', issued.bearer]])), { peer: issued.serverPeer, on401: 'refused' })
  }

  /**
   * An auth-only request: its response is read (bounded) and never reaches the caller. With
   * `challenge`, anything but a 401 `libp2p-PeerID` challenge ends it at once (its body is not read).
   */
  async #exchange (opts: Dispatcher.DispatchOptions, challenge: boolean): Promise<Exchange> {
    return await new Promise((resolve, reject) => {
      let response: Exchange | undefined
      let bytes = 0
      const relay = this.#relay
      const url = this.#url
      this.#dispatch(opts, {
        onRequestStart (controller) { relay.attach(controller) },
        onResponseStart (controller, status, headers) {
          response = { status, headers: headers as Headers }
          if (challenge && challengeOf(response) == null) {
            const answered = response
            controller.abort(new PeerAuthUnsupportedError(url, status))
            resolve(answered)
          }
        },
        onResponseData (controller, chunk) {
          bytes += chunk.byteLength
          if (bytes > MAX_EXCHANGE_BYTES) controller.abort(new PeerAuthError(`the server's answer to a handshake request is over ${MAX_EXCHANGE_BYTES} bytes`))
        },
        onResponseEnd () {
          if (response == null) reject(new PeerAuthError('no response to a handshake request'))
          else afterConnectionFreed(() => { resolve(response as Exchange) })
        },
        onResponseError (_controller, err) { reject(err) }
      })
    })
  }

  /**
   * The request whose response the caller gets. Its start is held until any `Authentication-Info`
   * signature has verified (data arriving meanwhile is queued); a 401 challenge is swallowed and
   * reported as `'retry'` when the check allows one.
   */
  async #final (opts: Dispatcher.DispatchOptions, check: FinalCheck): Promise<'done' | 'retry'> {
    const handler = this.#handler
    const relay = this.#relay
    const request = this.#request
    const client = this.#client
    const hostname = this.#hostname
    const key = this.#key
    const url = this.#url
    const verified = (peer: PeerId): void => { this.#verified(peer) }
    return await new Promise((resolve, reject) => {
      let mode: 'relay' | 'hold' | 'swallow' | 'failed' = 'relay'
      let swallowed = 0
      const held: Array<() => void> = []
      const fail = (controller: Controller, err: Error): void => {
        mode = 'failed'
        controller.abort(err)
        reject(err)
      }
      const release = (): void => {
        mode = 'relay'
        for (const run of held.splice(0)) run()
      }
      this.#dispatch(opts, {
        onRequestStart (controller) { relay.attach(controller) },
        onRequestUpgrade (controller, status, headers, socket: Duplex) {
          if (check.peer == null) {
            socket.destroy()
            fail(controller, new PeerAuthError(`${url} upgraded the connection before proving its peer id`))
            return
          }
          request.onVerified(check.peer)
          handler.onRequestUpgrade?.(relay, status, headers, socket)
          resolve('done')
        },
        onResponseStart (controller, status, headers, message) {
          const response = { status, headers: headers as Headers }
          if (challengeOf(response) != null) {
            if (check.on401 === 'retry') {
              mode = 'swallow'
              return
            }
            fail(controller, check.on401 === 'not-replayable' ? new PeerAuthNotReplayableError(url) : new PeerAuthError(`${url} refused our authentication (401)`))
            return
          }
          const info = header(response.headers, 'authentication-info')
          const start = (): void => { handler.onResponseStart?.(relay, status, headers, message) }
          if (check.handshake == null || info == null) {
            if (check.peer == null) {
              fail(controller, new PeerAuthError(`${url} answered ${status} without Authentication-Info: the server is not proven`))
              return
            }
            request.onVerified(check.peer)
            start()
            return
          }
          mode = 'hold'
          controller.pause()
          check.handshake.finish(info).then((issued) => {
            verified(issued.serverPeer)
            client.issued(key, hostname, issued)
            request.onVerified(issued.serverPeer)
            start()
            release()
            // the caller may have paused meanwhile (backpressure): then it resumes itself
            if (!relay.paused) controller.resume()
          }).catch((err: Error) => {
            // a wrong peer (PeerMismatchError) or a failing caller handler ends the request, never
            // an unhandled rejection with the response held forever
            fail(controller, err)
          })
        },
        onResponseData (controller, chunk) {
          if (mode === 'relay') handler.onResponseData?.(relay, chunk)
          else if (mode === 'hold') held.push(() => { handler.onResponseData?.(relay, chunk) })
          else if (mode === 'swallow' && (swallowed += chunk.byteLength) > MAX_EXCHANGE_BYTES) {
            // the body of a 401 we retry after is thrown away, but not without bound
            fail(controller, new PeerAuthError(`${url} sent a 401 body over ${MAX_EXCHANGE_BYTES} bytes`))
          }
        },
        onResponseEnd (_controller, trailers) {
          if (mode === 'swallow') {
            resolve('retry')
          } else if (mode === 'relay') {
            handler.onResponseEnd?.(relay, trailers)
            resolve('done')
          } else if (mode === 'hold') {
            held.push(() => { handler.onResponseEnd?.(relay, trailers); resolve('done') })
          }
        },
        onResponseError (_controller, err) {
          if (mode === 'failed') return
          if (mode === 'swallow' || mode === 'hold') {
            reject(err)
            return
          }
          handler.onResponseError?.(relay, err)
          resolve('done')
        }
      })
    })
  }
}

/**
 * The interceptor for one fetch: Peer ID Authentication on every request that `request.skip` does not
 * exclude. Failures reach the caller as the request's error ({@link PeerAuthError},
 * {@link PeerMismatchError}, {@link PeerAuthNotReplayableError}).
 */
export function peerIdAuthInterceptor (client: AuthClient, request: AuthRequest): Dispatcher.DispatcherComposeInterceptor {
  return (next) => {
    const dispatch: Dispatcher.Dispatch = (opts, handler) => {
      if (opts.body != null) request.onBodySent?.()
      return next(opts, handler)
    }
    return (opts, handler) => {
      const origin = opts.origin == null ? undefined : new URL(opts.origin)
      if (origin == null || request.skip(origin)) {
        return dispatch(opts, handler)
      }
      new AuthRun(dispatch, opts, handler, client, request, origin).start()
      return true
    }
  }
}

/**
 * The request body again for a resend, when fetch's body init allows it (a string, bytes,
 * `URLSearchParams`, a `Blob`); `undefined` for streams and `FormData` (fetch picks its boundary).
 */
export async function replayableBody (body: unknown): Promise<string | Uint8Array | undefined> {
  if (typeof body === 'string' || body instanceof URLSearchParams) {
    return body.toString()
  }
  if (body instanceof ArrayBuffer) {
    return new Uint8Array(body.slice(0))
  }
  if (ArrayBuffer.isView(body)) {
    return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength))
  }
  if (body instanceof Blob) {
    return new Uint8Array(await body.arrayBuffer())
  }
  return undefined
}

/**
 * A stream that reads nothing of `source` before `sent` resolves. fetch takes a stream body over when
 * the request is made (it tees it, which reads ahead), not when the body goes out; given this instead,
 * a fetch that fails before the body is sent (in Peer ID Authentication, which runs first) leaves
 * `source` unread and unlocked, for another attempt. Cancelled before then, it leaves `source` alone.
 */
export function deferredBody (source: AsyncIterable<unknown>, sent: Promise<void>): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<unknown> | undefined
  let cancelled!: () => void
  const whenCancelled = new Promise<'cancelled'>(resolve => { cancelled = () => { resolve('cancelled') } })
  return new ReadableStream<Uint8Array>({
    async pull (controller) {
      if (iterator == null) {
        if (await Promise.race([sent, whenCancelled]) === 'cancelled') return
        iterator = source[Symbol.asyncIterator]()
      }
      const { done, value } = await iterator.next()
      if (done === true) {
        controller.close()
      } else {
        // what fetch makes of an async iterable's chunks: bytes, or text as UTF-8
        controller.enqueue(typeof value === 'string' ? new TextEncoder().encode(value) : ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value as ArrayBuffer))
      }
    },
    async cancel (reason) {
      cancelled()
      await iterator?.return?.(reason)
    }
  }, { highWaterMark: 0 })
}

function isAsyncIterable (value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
}

/** Peer ID Authentication for one `host.fetch`: the interceptor, the peer it proved last, the body to send. */
export interface FetchAuth {
  interceptor: Dispatcher.DispatcherComposeInterceptor
  /** The server peer id proven by the last authenticated hop. */
  verified: () => PeerId | undefined
  /** The request body for fetch: a stream body as a {@link deferredBody}, anything else as given. */
  body: unknown
}

/** Set up {@link peerIdAuthInterceptor} for one fetch to `expectedPeer` (if named), with `body` for resends. */
export async function fetchAuth (client: AuthClient, options: Omit<AuthRequest, 'onVerified' | 'replayBody'> & { body: unknown }): Promise<FetchAuth> {
  let last: PeerId | undefined
  let onBodySent!: () => void
  const sent = new Promise<void>(resolve => { onBodySent = resolve })
  const replayBody = await replayableBody(options.body)
  return {
    interceptor: peerIdAuthInterceptor(client, { ...options, replayBody, onVerified: (peer) => { last = peer }, onBodySent }),
    verified: () => last,
    body: replayBody == null && isAsyncIterable(options.body) ? deferredBody(options.body, sent) : options.body
  }
}

/**
 * Runs `next` once undici has given the connection of a finished exchange back to its pool. undici 7's
 * HTTP/1.1 client frees a keep-alive connection that carries one request at a time only in a
 * `setImmediate` queued after the response's end is reported (`client-h1.js`, `onMessageComplete`): the
 * next handshake request dispatched before that finds it busy and opens a second connection, one more
 * TLS handshake (a round trip) for every Peer ID Authentication over HTTP/1.1. Two turns of the event loop
 * are after undici's.
 */
function afterConnectionFreed (next: () => void): void {
  setImmediate(() => { setImmediate(next) })
}
