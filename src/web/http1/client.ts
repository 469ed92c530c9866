/**
 * The client side of HTTP/1.1 over a libp2p stream, with Web platform parts only: a WHATWG `Request`
 * is written on the stream and the response parsed by llhttp (`parser.ts`) into a WHATWG `Response`
 * whose body streams with backpressure.
 *
 * It talks as the Node client (undici on `stream/connect.ts`) does, so that every server that accepts
 * one accepts the other (ours, go-libp2p's, @libp2p/http's): one request per stream, `Host` the
 * server's peer id as a base36 CIDv1 unless the request names another, `Connection: close`, a body of
 * unknown length sent chunked, the stream's write side closed after the request.
 *
 * @module
 */
import { BadResponseError, DialError, ProtocolNotSupportedError, ResponseBodyTooLargeError, ResponseHeadersTooLargeError, ResponseTimeoutError, StreamResetError } from '../../errors.js'
import { setServerPeer } from '../../identity.js'
import { BodyLengthError, encodeHead, gatherBody, sendMessage } from './message.js'
import { HTTP1ParseError, createHTTP1Parser } from './parser.js'
import { StreamReader, resetStream } from './stream-io.js'
import { PreambleCheck } from '../../stream/optimistic.js'
import { concatBytes } from '../../util/bytes.js'
import { HTTP_STREAM_PROTOCOL } from '../../stream/protocol.js'
import type { Framing, GatheredBody } from './message.js'
import type { HTTP1Head, HTTP1Parser } from './parser.js'
import type { StreamPreamble } from '../../stream/optimistic.js'
import type { AbortOptions, Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options of {@link fetchOverStream}; the bounds are the Node client's, with its defaults. */
export interface FetchOverStreamOptions {
  /** Aborts the exchange in any phase: the stream is reset and the promise (or the body) fails with the signal's reason. */
  signal?: AbortSignal
  /**
   * The `Host` header sent when the request's URL does not name one the server should see: by default
   * the server's peer id as a base36 CIDv1 (what the Node client's dispatcher URLs carry).
   */
  host?: string
  /**
   * How long the final response's headers may take, in ms (`ResponseTimeoutError`, phase `headers`). `0` disables.
   *
   * @default 300000
   */
  headersTimeout?: number
  /**
   * How long the body may stall between two pieces, in ms (`ResponseTimeoutError`, phase `body`). `0` disables.
   *
   * @default 300000
   */
  bodyTimeout?: number
  /**
   * The most bytes the response's status line and headers may take (`ResponseHeadersTooLargeError`).
   *
   * @default 16384
   */
  maxHeaderSize?: number
  /**
   * The most bytes the response body may have (`ResponseBodyTooLargeError` from the body, stream reset).
   *
   * @default Infinity
   */
  maxBodySize?: number
  /** The server's peer, recorded on the response for `serverPeer(response)`. */
  serverPeer?: PeerId
  /**
   * The request body's length in bytes, when the caller knows it (the `BodyInit` was a string, bytes or
   * a `Blob`): sent as `Content-Length`. A browser's `Request` drops a `Content-Length` header, and
   * some servers (@libp2p/http 2.0.6) read no chunked request body. Without it, a body whose bytes are
   * at hand at once still gets `Content-Length`; any other is sent chunked.
   */
  contentLength?: number
  /**
   * The stream was opened to propose its protocol optimistically (`stream/optimistic.ts`): the proposal
   * goes in front of the request, a body waits for the peer's confirmation, and the confirmation is
   * checked in front of the response. A refusal fails the exchange with the preamble's error.
   */
  preamble?: StreamPreamble
}

/**
 * Send `request` on `stream` (a fresh `/http/1.1` stream) and resolve with the response once its head
 * has arrived. The stream carries this one exchange: it is closed when the response is read to its end,
 * reset when the exchange fails or is aborted.
 *
 * @throws {BadResponseError} the response is not HTTP/1.1, or the stream ended before its head
 * @throws {ResponseHeadersTooLargeError} the head is over `maxHeaderSize`
 * @throws {ResponseTimeoutError} the head did not arrive within `headersTimeout`
 * @throws {StreamResetError} the stream was reset before the head
 * @throws the signal's reason when `signal` aborts
 */
export async function fetchOverStream (stream: Stream, request: Request, options: FetchOverStreamOptions = {}): Promise<Response> {
  const signals = [options.signal, request.signal].filter((s): s is AbortSignal => s != null)
  const aborted = signals.find(s => s.aborted)
  if (aborted != null) {
    resetStream(stream, abortError(aborted))
    await request.body?.cancel(aborted.reason).catch(() => {})
    throw aborted.reason
  }
  const url = new URL(request.url)
  const method = request.method
  let gathered: GatheredBody | undefined
  let head: Uint8Array
  let parser: HTTP1Parser
  try {
    gathered = await gatherBody(request.body, options.contentLength ?? declaredLength(request.headers))
    head = encodeHead(`${method} ${url.pathname === '' ? '/' : url.pathname}${url.search} HTTP/1.1`, requestFields(request, url, options.host, method, gathered.framing))
    parser = await createHTTP1Parser('response', {
      onHead: (h) => exchange.onHead(h),
      onBody: (chunk) => { exchange.onBody(chunk) },
      onComplete: () => { exchange.onComplete() }
    }, { maxHeaderSize: options.maxHeaderSize ?? 16_384 })
  } catch (err) {
    // nothing was sent: the stream is not left open, the body's producer is told
    resetStream(stream, err as Error)
    await (gathered?.rest ?? request.body)?.cancel(err).catch(() => {})
    throw err
  }
  const exchange = new ClientExchange(stream, parser, method, options, signals)
  return await exchange.run(head, gathered)
}

/** `Content-Length` as the request states it (Node's `Request` keeps it; a browser's drops it). */
function declaredLength (headers: Headers): number | undefined {
  const value = headers.get('content-length')
  if (value == null || !/^\d+$/.test(value)) return undefined
  return Number(value)
}

/**
 * Hop-by-hop fields and those this module writes itself: a caller cannot set them (RFC 9110 §7.6.1;
 * the framing is decided from the body, RFC 9112 §6).
 */
const OWN_FIELDS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer'])

function requestFields (request: Request, url: URL, host: string | undefined, method: string, framing: Framing): Array<[string, string]> {
  const fields: Array<[string, string]> = [['host', host ?? url.host]]
  for (const [name, value] of request.headers) {
    if (!OWN_FIELDS.has(name)) fields.push([name, value])
  }
  // one request per stream, as the Node client (keep-alive off on the stream path)
  fields.push(['connection', 'close'])
  if (framing.kind === 'chunked') {
    fields.push(['transfer-encoding', 'chunked'])
  } else if (framing.kind === 'length' && (framing.length > 0 || !BODYLESS.has(method))) {
    fields.push(['content-length', String(framing.length)])
  } else if (framing.kind === 'none' && !BODYLESS.has(method)) {
    // RFC 9110 §8.6: a user agent SHOULD send Content-Length: 0 for a POST without content (as undici does)
    fields.push(['content-length', '0'])
  }
  return fields
}

/** Methods whose requests normally have no content: no `Content-Length: 0` for them. */
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'])

/** Statuses whose response has no content (RFC 9110 §15.3.5, §15.3.6, §15.4.5): `Response` refuses a body for them. */
const NULL_BODY = new Set([204, 205, 304])

function abortError (signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError')
}

/** A parser error as the Node client reports it (`client/response-errors.ts`). */
function responseErrorOf (err: unknown): Error {
  if (err instanceof HTTP1ParseError) {
    return err.code === 'HPE_HEADER_OVERFLOW'
      ? new ResponseHeadersTooLargeError(`the response headers are larger than the client accepts: ${err.reason}`, err.code, { cause: err })
      : new BadResponseError(`malformed response: ${err.reason}`, err.code, { cause: err })
  }
  return err as Error
}

/**
 * Responses dropped with their body neither read nor cancelled: the exchange is failed, which resets its
 * stream and so frees it and the per-peer slot it holds. Without this, a caller that drops a `Response`
 * whose body has not all arrived (the server held back by flow control) keeps a stream open for good,
 * and enough of them lock the peer out of `maxStreamsPerPeer`. undici's fetch does the same for its
 * responses. A body that was taken (a reader holds its lock) is left to its reader.
 */
const droppedResponses = new FinalizationRegistry<{ body: ReadableStream<Uint8Array>, drop: () => void }>(({ body, drop }) => {
  if (!body.locked) drop()
})

/**
 * The bodies of cloned responses: `clone()` tees the body, which locks the stream registered above, so
 * a response and its clone both dropped unread were never cancelled (a browser's `Response` does not
 * cancel collected branches itself, as undici's does in Node). Each branch is cancelled once its
 * response is collected with it unread; with both branches cancelled the tee cancels the body, which
 * fails the exchange. A branch a reader holds is left to it.
 */
const droppedBranches = new FinalizationRegistry<ReadableStream<Uint8Array>>((branch) => {
  if (!branch.locked) branch.cancel(new Error('the response was garbage-collected with its body unread')).catch(() => {})
})

/** `clone()` of `response` (and of its clones) registers both responses' branches in `droppedBranches`. */
function watchClones (response: Response): void {
  Object.defineProperty(response, 'clone', {
    configurable: true,
    writable: true,
    value: function clone (this: Response): Response {
      const copy = Response.prototype.clone.call(this)
      // the Fetch standard's clone: this response's body is now one branch of the tee, the copy's the other
      for (const branched of [this, copy]) {
        if (branched.body != null) droppedBranches.register(branched, branched.body)
      }
      watchClones(copy)
      return copy
    }
  })
}

/** One request and its response on one stream. */
class ClientExchange {
  readonly #stream: Stream
  readonly #parser: HTTP1Parser
  readonly #method: string
  readonly #options: FetchOverStreamOptions
  readonly #signals: AbortSignal[]
  readonly #reader: StreamReader
  #phase: 'head' | 'body' | 'done' | 'failed' = 'head'
  #head: { resolve: (response: Response) => void, reject: (err: Error) => void } | undefined
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined
  /** Body bytes delivered by the last execute (drives `pull`). */
  #delivered = 0
  #received = 0
  #discardBody = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #sending = false
  #cancelSend = false
  #body: GatheredBody | undefined
  /** The peer's confirmation of an optimistic proposal, while it is checked (see `preamble`). */
  readonly #check: PreambleCheck | undefined

  constructor (stream: Stream, parser: HTTP1Parser, method: string, options: FetchOverStreamOptions, signals: AbortSignal[]) {
    this.#stream = stream
    this.#parser = parser
    this.#method = method
    this.#options = options
    this.#signals = signals
    this.#reader = new StreamReader(stream)
    this.#check = options.preamble == null ? undefined : new PreambleCheck(options.preamble, (err) => { this.#fail(err) })
  }

  #onAbort = (evt: Event): void => {
    this.#fail(abortError(evt.target as AbortSignal), true)
  }

  async run (head: Uint8Array, body: GatheredBody): Promise<Response> {
    const response = new Promise<Response>((resolve, reject) => { this.#head = { resolve, reject } })
    for (const signal of this.#signals) signal.addEventListener('abort', this.#onAbort)
    // a signal that aborted while the body was gathered or the parser made has no event left to fire
    const aborted = this.#signals.find(s => s.aborted)
    if (aborted != null) {
      this.#fail(abortError(aborted), true)
      await body.rest?.cancel(aborted.reason).catch(() => {})
      return await response
    }
    const headersTimeout = this.#options.headersTimeout ?? 300_000
    if (headersTimeout > 0) {
      this.#timer = setTimeout(() => {
        this.#fail(new ResponseTimeoutError('headers', 'the response headers did not arrive within the client headers timeout'))
      }, headersTimeout)
    }
    const preamble = this.#options.preamble
    // the proposal in the same frame as the request head: the round trip the optimism saves
    this.#send(preamble == null ? head : concatBytes([preamble.outgoing, head]), body)
    void this.#readHead()
    return await response
  }

  /** Write the request; its write side is closed once it is out. The response may come first (an early `413`). */
  #send (head: Uint8Array, body: GatheredBody): void {
    this.#sending = true
    this.#body = body
    sendMessage(this.#stream, head, body, { isCancelled: () => this.#cancelSend || this.#phase === 'failed', separateHead: true, beforeBody: this.#check?.confirmation }).then(
      () => {
        this.#sending = false
        if (this.#phase === 'failed') return
        // On an optimistic stream the write side closes only once the peer has confirmed: js-libp2p
        // 3's multistream-select `handle` puts the bytes after the proposal back onto the stream, and
        // throws (resetting it) when the remote has already closed its write side by then.
        const confirmed = this.#check?.pending === true ? this.#check.confirmation : undefined
        if (confirmed == null) {
          this.#stream.close().catch(() => {})
        } else {
          confirmed.then(() => { if (this.#phase !== 'failed') this.#stream.close().catch(() => {}) }, () => {})
        }
      },
      (err: Error) => {
        this.#sending = false
        if (this.#phase === 'done') return
        this.#fail(err instanceof StreamResetError ? err : err instanceof BodyLengthError ? new TypeError(err.message, { cause: err }) : err)
      }
    )
  }

  async #readHead (): Promise<void> {
    try {
      while (this.#phase === 'head') {
        if (!await this.#step()) break
      }
    } catch (err) {
      this.#fail(responseErrorOf(err))
    }
  }

  /** Whether the exchange failed (read through a getter: callbacks change the phase behind TypeScript's narrowing). */
  get #failed (): boolean {
    return this.#phase === 'failed'
  }

  /** Read one chunk and parse it; `false` at the end of the stream. */
  async #step (): Promise<boolean> {
    const chunk = await this.#reader.read()
    if (this.#phase === 'failed' || this.#phase === 'done') return false
    if (chunk == null) {
      this.#check?.ended()
      if (this.#failed) return false
      this.#parser.finish()
      if (this.#phase === 'head' || this.#phase === 'body') {
        throw new BadResponseError(this.#phase === 'head' ? 'the stream ended before the response head' : 'the stream ended before the response was complete', 'HPE_INVALID_EOF_STATE')
      }
      return false
    }
    if (this.#check?.pending === true) {
      const rest = this.#check.consume(chunk)
      if (rest == null) return !this.#failed
      this.#parser.execute(rest)
      return true
    }
    this.#parser.execute(chunk)
    return true
  }

  onHead (head: HTTP1Head): 'body' | 'skip-body' {
    if (head.status < 200) {
      if (head.status === 101) {
        throw new BadResponseError('the server switched protocols (101) on a request that did not ask for it', 'UPGRADE')
      }
      return 'body' // interim: llhttp knows it has no body, the final response follows
    }
    if (head.status > 599) {
      throw new BadResponseError(`invalid response status ${head.status}`, 'INVALID_STATUS')
    }
    clearTimeout(this.#timer)
    this.#timer = undefined
    const headers = new Headers()
    for (const [name, value] of head.headers) headers.append(name, value)
    const skip = this.#method === 'HEAD'
    const nullBody = skip || NULL_BODY.has(head.status)
    this.#discardBody = nullBody
    const body = nullBody
      ? null
      : new ReadableStream<Uint8Array>({
        start: (controller) => { this.#controller = controller },
        pull: async () => { await this.#pull() },
        cancel: (reason) => { this.#fail(reason instanceof Error ? reason : new Error('the response body was cancelled'), false) }
      }, { highWaterMark: 0 })
    let response: Response
    try {
      response = new Response(body, { status: head.status, statusText: head.statusText, headers })
    } catch {
      // a reason phrase `Response` does not take (obs-text): the status is what matters
      response = new Response(body, { status: head.status, headers })
    }
    setServerPeer(response, this.#options.serverPeer)
    if (body != null) {
      // held: the body and the exchange, neither of which refers to the response
      droppedResponses.register(response, { body, drop: () => { this.#fail(new Error('the response was garbage-collected with its body unread'), true) } })
      watchClones(response)
    }
    this.#phase = 'body'
    this.#head?.resolve(response)
    this.#head = undefined
    if (nullBody) {
      // a 205 may still carry bytes: read them to the end of the message, bounded, then close
      void this.#drain()
    }
    return skip ? 'skip-body' : 'body'
  }

  onBody (chunk: Uint8Array): void {
    this.#received += chunk.byteLength
    const max = this.#options.maxBodySize ?? Infinity
    if (this.#received > max) {
      throw new ResponseBodyTooLargeError(max)
    }
    if (this.#discardBody) return
    this.#delivered += chunk.byteLength
    this.#controller?.enqueue(chunk)
  }

  onComplete (): void {
    if (this.#phase !== 'body') return // an interim response
    this.#phase = 'done'
    clearTimeout(this.#timer)
    this.#controller?.close()
    this.#cleanup()
    // a request body still going out is of no use now (the server answered without it)
    this.#cancelSend = true
    if (this.#sending) {
      // a producer that waits for the response before it ends would hold the request open for ever
      this.#body?.rest?.cancel(new Error('the response is complete')).catch(() => {})
    } else {
      this.#stream.close().catch(() => {})
    }
  }

  async #pull (): Promise<void> {
    this.#delivered = 0
    try {
      while (this.#phase === 'body' && this.#delivered === 0) {
        if (!await this.#bodyStep()) break
      }
    } catch (err) {
      this.#fail(responseErrorOf(err))
    }
  }

  /** Read content nobody will see to the end of the message; a stall is bounded as a read body's is. */
  async #drain (): Promise<void> {
    try {
      while (this.#phase === 'body') {
        if (!await this.#bodyStep()) break
      }
    } catch (err) {
      this.#fail(responseErrorOf(err))
    }
  }

  /** One {@link #step} of the body, failing the exchange when it stalls past `bodyTimeout`. */
  async #bodyStep (): Promise<boolean> {
    const bodyTimeout = this.#options.bodyTimeout ?? 300_000
    if (bodyTimeout > 0) {
      this.#timer = setTimeout(() => {
        this.#fail(new ResponseTimeoutError('body', 'the response body stalled for longer than the client body timeout'))
      }, bodyTimeout)
    }
    try {
      return await this.#step()
    } finally {
      clearTimeout(this.#timer)
    }
  }

  /**
   * End the exchange with `err`: the stream is reset, the pending head rejected, the body errored. A
   * failure after the head reaches the body as fetch reports it, `TypeError('terminated')` with our
   * error as `cause` (as undici does), except an abort (the signal's reason) and `maxBodySize`.
   */
  #fail (err: Error, abort = false): void {
    if (this.#phase === 'done' || this.#phase === 'failed') return
    this.#phase = 'failed'
    clearTimeout(this.#timer)
    this.#check?.cancel(err)
    resetStream(this.#stream, err)
    if (this.#sending) this.#body?.rest?.cancel(err).catch(() => {})
    if (this.#head != null) {
      this.#head.reject(err)
      this.#head = undefined
    } else if (this.#controller != null) {
      const direct = abort || err instanceof ResponseBodyTooLargeError
      try {
        this.#controller.error(direct ? err : new TypeError('terminated', { cause: err }))
      } catch {}
    }
    this.#cleanup()
  }

  #cleanup (): void {
    for (const signal of this.#signals) signal.removeEventListener('abort', this.#onAbort)
    this.#reader.release()
    // not at once: this may run inside a parser callback, while llhttp is executing
    queueMicrotask(() => { this.#parser.destroy() })
  }
}

/** The part of a js-libp2p node that {@link openHTTPStream} needs. */
export interface HTTPStreamDialer {
  dial: (peer: PeerId | Multiaddr | Multiaddr[], options?: AbortOptions) => Promise<Connection>
}

/** Options of {@link openHTTPStream}. */
export interface OpenHTTPStreamOptions extends AbortOptions {
  /** @default '/http/1.1' */
  protocol?: string
  /** Whether a limited (relayed) connection may carry the stream. @default true */
  runOnLimitedConnection?: boolean
}

/**
 * Dial `peer` (or reuse a connection) and open one stream of `protocol` on it, with js-libp2p's public
 * API (`dial` then `newStream`; no optimistic negotiation on this path).
 *
 * @throws {DialError} the peer could not be dialled or the stream not opened
 * @throws {ProtocolNotSupportedError} the peer does not speak `protocol`
 */
export async function openHTTPStream (node: HTTPStreamDialer, peer: PeerId | Multiaddr | Multiaddr[], options: OpenHTTPStreamOptions = {}): Promise<{ stream: Stream, connection: Connection }> {
  const protocol = options.protocol ?? HTTP_STREAM_PROTOCOL
  const name = Array.isArray(peer) ? peer.map(String).join(', ') : peer.toString()
  let connection: Connection
  try {
    connection = await node.dial(peer, { signal: options.signal })
  } catch (err) {
    options.signal?.throwIfAborted()
    throw new DialError(name, `could not dial peer ${name}: ${(err as Error).message}`, { cause: err })
  }
  try {
    const stream = await connection.newStream(protocol, { signal: options.signal, runOnLimitedConnection: options.runOnLimitedConnection ?? true })
    return { stream, connection }
  } catch (err) {
    options.signal?.throwIfAborted()
    const remote = connection.remotePeer.toString()
    if ((err as Error).name === 'UnsupportedProtocolError') {
      throw new ProtocolNotSupportedError(remote, protocol, { cause: err })
    }
    throw new DialError(remote, `could not open a ${protocol} stream to ${remote}: ${(err as Error).message}`, { cause: err })
  }
}
