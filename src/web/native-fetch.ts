/**
 * Fetching a peer's native HTTPS address (`/tls/http`, and `/tcp/…/http` where allowed) with the
 * platform's own `fetch` (a browser's, or Node's global one), with Peer ID Authentication run over it:
 * the same flow as the Node client's interceptor (`auth/client.ts`), driving the same state machine
 * (`auth/client-handshake.ts`, no Node imports).
 *
 * Per request: a cached bearer token when there is one, else the client-initiated handshake, which
 * proves the server's peer id **before** any request body is sent (a request with a body, or with an
 * unsafe method, is preceded by a body-less `OPTIONS` carrying the handshake). A server that ignores our
 * challenge gets the server-initiated flow. A `401` on a token re-runs the handshake when the body can
 * be sent again.
 *
 * In a browser the server is another origin than the page: the `Authorization` header makes every
 * request "non-simple" (a CORS preflight first), and the page reads `WWW-Authenticate` and
 * `Authentication-Info` only when the server exposes them. Our Node server does all of it for the
 * origins its `auth.server.allowOrigins` lists (`auth/server.ts`); a server that does not answers the
 * preflight with its `401`, and the browser's fetch fails with a `TypeError`.
 *
 * @module
 */
import { ClientHandshake } from '../auth/client-handshake.js'
import { formatAuthHeader, isPeerIdAuth } from '../auth/params.js'
import { TokenCache } from '../auth/token-cache.js'
import { PeerAuthError, PeerAuthNotReplayableError, PeerAuthUnsupportedError, PeerMismatchError } from '../errors.js'
import { setServerPeer } from '../identity.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** Options of {@link createNativeFetch}. */
export interface NativeFetchOptions {
  /** The platform's fetch. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch
  /**
   * Our identity key: with it, every request authenticates the server with Peer ID Authentication (and
   * us to it), and the response records the server's peer (`serverPeer(response)`). Without it the
   * platform's fetch runs as it is.
   */
  privateKey?: PrivateKey
  /**
   * How many bearer tokens to keep, one per (host, server peer id); the least recently used go first.
   *
   * @default 256
   */
  maxTokens?: number
  /** The clock, in ms since the epoch (tests). @default Date.now */
  now?: () => number
  /** The randomness of challenges (tests). @default crypto.getRandomValues */
  randomBytes?: (length: number) => Uint8Array
}

/** What one request adds to `RequestInit`. */
export interface NativeFetchInit extends RequestInit {
  /** The peer the address names (its `/p2p`): a server proving another id fails with `PeerMismatchError`. */
  peer?: PeerId
}

/** The platform's fetch with Peer ID Authentication (see the module comment). */
export type NativeFetch = (url: string | URL, init?: NativeFetchInit) => Promise<Response>

/**
 * A fetch for `https:` URLs made from peers' native addresses, keeping its bearer tokens between calls.
 *
 * @throws {PeerAuthUnsupportedError} the server does not answer the handshake with a challenge
 * @throws {PeerAuthError} the server's proof fails, or it refuses ours, or the platform's fetch followed
 * a redirect to another origin (unproven; `redirect: 'manual'` hands the redirect to the caller)
 * @throws {PeerMismatchError} the server proved another peer id than `init.peer`
 * @throws {PeerAuthNotReplayableError} a token was refused and the body (a stream) cannot be sent again
 */
export function createNativeFetch (options: NativeFetchOptions = {}): NativeFetch {
  const platformFetch = options.fetch ?? (async (input, init) => await globalThis.fetch(input, init))
  const privateKey = options.privateKey
  if (privateKey == null) {
    return async (url, init = {}) => {
      const { peer: _peer, ...rest } = init
      return await platformFetch(url, rest)
    }
  }
  const now = options.now ?? Date.now
  const randomBytes = options.randomBytes ?? ((n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n)))
  const tokens = new TokenCache(options.maxTokens, now)
  const pending = new Map<string, Promise<void>>()
  return async (url, init = {}) => {
    const { peer, ...request } = init
    const run = new NativeAuthRun(platformFetch, String(url), request, peer, {
      handshake: (hostname) => new ClientHandshake({ privateKey, hostname, now, randomBytes }),
      tokens,
      pending
    })
    return await run.run()
  }
}

/**
 * One request with {@link createNativeFetch} made for it (no token kept past it). With `privateKey`
 * in `options`, authenticated.
 */
export async function nativeFetch (url: string | URL, init: NativeFetchInit = {}, options: NativeFetchOptions = {}): Promise<Response> {
  return await createNativeFetch(options)(url, init)
}

interface AuthState {
  handshake: (hostname: string) => ClientHandshake
  tokens: TokenCache
  /** Handshakes in flight by (host, expected peer): concurrent requests wait for one token. */
  pending: Map<string, Promise<void>>
}

/** The `libp2p-PeerID` challenge of a `401`, if it is one. */
function challengeOf (response: Response): string | undefined {
  const value = response.headers.get('www-authenticate') ?? undefined
  return response.status === 401 && isPeerIdAuth(value) ? value : undefined
}

/** An auth-only response: never read (its body is not the caller's and may be large). */
async function discard (response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {})
}

class NativeAuthRun {
  readonly #fetch: typeof globalThis.fetch
  readonly #url: string
  readonly #init: RequestInit
  readonly #peer: PeerId | undefined
  readonly #auth: AuthState
  /** What signatures bind: the `Host` the platform sends for this URL. */
  readonly #host: string
  readonly #key: string

  constructor (platformFetch: typeof globalThis.fetch, url: string, init: RequestInit, peer: PeerId | undefined, auth: AuthState) {
    this.#fetch = platformFetch
    this.#url = url
    this.#init = init
    this.#peer = peer
    this.#auth = auth
    this.#host = new URL(url).host
    this.#key = `${this.#host} ${peer?.toString() ?? '*'}`
  }

  /** Whether the request must wait for the server's proof: it has a body, or an unsafe method. */
  get #mustWaitForProof (): boolean {
    return this.#init.body != null || !['GET', 'HEAD'].includes((this.#init.method ?? 'GET').toUpperCase())
  }

  /** A stream body is gone once sent; every other `BodyInit` can be sent again. */
  get #replayable (): boolean {
    return !(this.#init.body instanceof ReadableStream)
  }

  async #send (authorization: string, probe: boolean): Promise<Response> {
    const headers = new Headers(probe ? undefined : this.#init.headers)
    headers.set('authorization', authorization)
    const init: RequestInit = probe ? { method: 'OPTIONS', headers, signal: this.#init.signal } : { ...this.#init, headers }
    return await this.#fetch(this.#url, init)
  }

  #verified (peer: PeerId): void {
    if (this.#peer != null && !this.#peer.equals(peer)) {
      throw new PeerMismatchError(this.#peer.toString(), peer.toString())
    }
  }

  /**
   * @throws {PeerAuthError} the platform's fetch followed a redirect to another origin: what answered
   * there proved nothing (the Node client authenticates every hop; the platform's fetch cannot)
   */
  #deliver (response: Response, peer: PeerId): Response {
    const origin = response.redirected && response.url !== '' ? new URL(response.url).origin : undefined
    if (origin != null && origin !== new URL(this.#url).origin) {
      void discard(response)
      throw new PeerAuthError(`${this.#url} redirected to ${origin}, which Peer ID Authentication did not prove (pass redirect: 'manual' to follow it yourself)`)
    }
    setServerPeer(response, peer)
    return response
  }

  async run (): Promise<Response> {
    let token = this.#auth.tokens.get(this.#host, this.#peer)
    const inFlight = token == null ? this.#auth.pending.get(this.#key) : undefined
    if (inFlight != null) {
      await inFlight
      token = this.#auth.tokens.get(this.#host, this.#peer)
    }
    if (token != null) {
      const response = await this.#send(formatAuthHeader([['bearer', token.bearer]]), false)
      if (challengeOf(response) == null) {
        this.#verified(token.serverPeer)
        return this.#deliver(response, token.serverPeer)
      }
      await discard(response)
      this.#auth.tokens.delete(this.#host, token.serverPeer)
      if (!this.#replayable) {
        throw new PeerAuthNotReplayableError(this.#url)
      }
    }
    let end!: () => void
    const done = new Promise<void>(resolve => { end = resolve })
    const mine = !this.#auth.pending.has(this.#key)
    if (mine) this.#auth.pending.set(this.#key, done)
    try {
      return await this.#handshake()
    } finally {
      if (mine) this.#auth.pending.delete(this.#key)
      end()
    }
  }

  async #handshake (): Promise<Response> {
    const handshake = this.#auth.handshake(this.#host)
    const probe = this.#mustWaitForProof
    const first = await this.#send(handshake.start(), probe)
    const challenge = challengeOf(first)
    if (challenge == null) {
      await discard(first)
      // Peer ID Authentication is optional (spec http/peer-id-auth.md): the caller may reach the peer another way
      throw new PeerAuthUnsupportedError(this.#url, first.status)
    }
    await discard(first)
    const answer = await handshake.respond(challenge)
    if (handshake.serverPeer != null) {
      // the server took our challenge and proved itself: the request (with its body) goes with our proof
      this.#verified(handshake.serverPeer)
      return await this.#final(await this.#send(answer, false), handshake, handshake.serverPeer)
    }
    if (!probe) {
      // server-initiated, no body to protect: the request itself answers; its response is held until the server is proven
      return await this.#final(await this.#send(answer, false), handshake, undefined)
    }
    const second = await this.#send(answer, true)
    const info = second.headers.get('authentication-info')
    await discard(second)
    if (info == null) {
      throw new PeerAuthError(`${this.#url} answered ${second.status} without Authentication-Info: the server is not proven`)
    }
    const issued = await handshake.finish(info)
    this.#verified(issued.serverPeer)
    this.#auth.tokens.set(this.#host, issued)
    return await this.#final(await this.#send(formatAuthHeader([['bearer', issued.bearer]]), false), undefined, issued.serverPeer)
  }

  /** The response the caller gets, once the server is proven (its `Authentication-Info` checked). */
  async #final (response: Response, handshake: ClientHandshake | undefined, peer: PeerId | undefined): Promise<Response> {
    if (challengeOf(response) != null) {
      await discard(response)
      throw new PeerAuthError(`${this.#url} refused our authentication (401)`)
    }
    const info = response.headers.get('authentication-info')
    if (handshake != null && info != null) {
      try {
        const issued = await handshake.finish(info)
        this.#verified(issued.serverPeer)
        this.#auth.tokens.set(this.#host, issued)
        return this.#deliver(response, issued.serverPeer)
      } catch (err) {
        await discard(response)
        throw err
      }
    }
    if (peer == null) {
      await discard(response)
      throw new PeerAuthError(`${this.#url} answered ${response.status} without Authentication-Info: the server is not proven`)
    }
    return this.#deliver(response, peer)
  }
}
