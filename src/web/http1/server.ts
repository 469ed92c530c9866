/**
 * The server side of HTTP/1.1 over a libp2p stream, with Web platform parts only: requests parsed by
 * llhttp (`parser.ts`) become WHATWG `Request`s (streaming bodies, `remotePeer(request)` set from the
 * connection), a fetch-style handler answers, and its `Response` is written back (streaming; chunked
 * when its length is unknown). The stream stays open for another request when the client asks for it
 * (HTTP/1.1 without `Connection: close`), one request at a time: the parser pauses after each request
 * and the next one is read once the response is out (pipelined bytes wait in the stream).
 *
 * What a request may do is bounded as on the Node server (`server/limits.ts`, same option names and
 * defaults), and bad input gets the status Node's server gives: `400` (not HTTP/1.1, a bad target, no
 * or two `Host`s), `431` (head over `maxHeaderSize`), `408` (`headersTimeout`, `requestTimeout`), `413`
 * (`maxRequestBodySize`, or chunk framing over `maxHeaderSize` between two pieces of body), `505` (an HTTP major version other than 1); a handler that throws, `500`.
 *
 * @module
 */
import { RequestBodyTooLargeError, StreamResetError } from '../../errors.js'
import { setAuthentication, setRemotePeer } from '../../identity.js'
import { isValidHost, originForm } from '../../server/request-target.js'
import { encodeHead, gatherBody, sendMessage } from './message.js'
import { HTTP1ParseError, createHTTP1Parser } from './parser.js'
import { StreamReader, resetError, resetStream } from './stream-io.js'
import type { GatheredBody } from './message.js'
import type { HTTP1Head, HTTP1Parser } from './parser.js'
import type { Connection, Stream, StreamCloseEvent } from '@libp2p/interface'

/** A fetch-style handler: a WHATWG `Request` in, a `Response` out. */
export type FetchHandler = (request: Request) => Response | Promise<Response>

/** Limits of {@link serveStream}: the names, meanings and defaults of the Node server's `ServerLimits`. */
export interface StreamServerOptions {
  /** How long the request head may take, in ms (`408`). `0` disables. @default 60000 */
  headersTimeout?: number
  /** How long the whole request may take, body included, in ms (`408`). `0` disables. @default 300000 */
  requestTimeout?: number
  /** The most bytes a request line and headers may take (`431`). @default 16384 */
  maxHeaderSize?: number
  /** A stream with no byte moving either way for this long is reset, in ms. `0` disables. @default 300000 */
  idleTimeout?: number
  /** The most bytes a request body may have (`413`). @default Infinity */
  maxRequestBodySize?: number
  /**
   * How long a kept-alive stream waits for the first byte of its next request, in ms (Node's
   * `keepAliveTimeout`); then it is closed.
   *
   * @default 5000
   */
  keepAliveTimeout?: number
  /** Ends the serving of the stream: closed between requests, reset while one is under way. */
  signal?: AbortSignal
  /** Told about handler failures (the client got `500` or a reset stream). */
  onError?: (err: unknown) => void
}

/** The statuses this module answers by itself, with their reason phrases (RFC 9110 §15). */
const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported'
}

/** Fields of a handler's response this module decides (RFC 9110 §7.6.1 hop-by-hop; framing, RFC 9112 §6). */
const OWN_FIELDS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection', 'te', 'trailer', 'upgrade'])

/** Statuses whose responses carry no content (RFC 9110 §15.2, §15.3.5, §15.4.5). */
function hasNoContent (status: number): boolean {
  return status < 200 || status === 204 || status === 304
}

/**
 * Serve HTTP/1.1 requests arriving on `stream` (an inbound `/http/1.1` stream of `connection`) with
 * `handler`. Resolves when the stream is done; never rejects (failures end as a status answered or the
 * stream reset). A handler that throws gets a `500`; bytes that are not HTTP/1.1 get `400`, a head over
 * `maxHeaderSize` `431`, a body over `maxRequestBodySize` `413`.
 *
 * `remotePeer(request)` is `connection.remotePeer` (authenticated by the connection's security
 * handshake); `request.signal` aborts when the client resets the stream or goes away.
 */
export async function serveStream (stream: Stream, connection: Pick<Connection, 'remotePeer'>, handler: FetchHandler, options: StreamServerOptions = {}): Promise<void> {
  let parser: HTTP1Parser | undefined
  const server = new StreamServer(stream, connection, handler, options)
  try {
    parser = await createHTTP1Parser('request', server, { maxHeaderSize: options.maxHeaderSize ?? 16_384 })
  } catch (err) {
    options.onError?.(err)
    resetStream(stream, err as Error)
    return
  }
  await server.run(parser)
}

/** One request being read. */
interface Incoming {
  head: HTTP1Head
  controller: ReadableStreamDefaultController<Uint8Array> | undefined
  /** Body bytes that came with the head, before the body stream was made. */
  early: Uint8Array[]
  /** Why the body failed before the body stream was made. */
  failure?: Error
  abort: AbortController
  received: number
  complete: boolean
  /** The request's body failed (too large, malformed, cut short): no further request on the stream. */
  broken: boolean
  /** Bytes delivered by the last execute (drives the body's `pull`). */
  delivered: number
}

class StreamServer {
  readonly #stream: Stream
  readonly #connection: Pick<Connection, 'remotePeer'>
  readonly #handler: FetchHandler
  readonly #options: StreamServerOptions
  readonly #reader: StreamReader
  #parser: HTTP1Parser | undefined
  #current: Incoming | undefined
  /** The head of the request being read, once parsed. */
  #parsedHead: HTTP1Head | undefined
  /** Bytes after the request, where the parser paused. */
  #rest: Uint8Array | undefined
  #responding = false
  /** The response body being sent: cancelled when the stream goes, so that its producer stops. */
  #sending: GatheredBody | undefined
  #closed = false
  #idleTimer: ReturnType<typeof setTimeout> | undefined
  #requestTimer: ReturnType<typeof setTimeout> | undefined
  /** Why the exchange under way must stop (a timeout, the stream reset): fails the current wait. */
  #stop: ((err: Error) => void) | undefined

  constructor (stream: Stream, connection: Pick<Connection, 'remotePeer'>, handler: FetchHandler, options: StreamServerOptions) {
    this.#stream = stream
    this.#connection = connection
    this.#handler = handler
    this.#options = options
    this.#reader = new StreamReader(stream)
    stream.addEventListener('close', this.#onClose)
    options.signal?.addEventListener('abort', this.#onAbort)
    this.#touch()
  }

  #onClose = (evt: StreamCloseEvent): void => {
    if (evt.error != null) {
      this.#reset(resetError(this.#stream, evt))
    }
  }

  #onAbort = (): void => {
    const reason = this.#options.signal?.reason as Error
    if (this.#current == null && !this.#responding) {
      this.#finish()
    } else {
      this.#reset(reason instanceof Error ? reason : new Error('serving aborted'))
    }
    this.#stop?.(reason)
  }

  /** The stream moved a byte: the idle timer starts again. */
  #touch (): void {
    const idle = this.#options.idleTimeout ?? 300_000
    if (idle <= 0 || this.#closed) return
    clearTimeout(this.#idleTimer)
    this.#idleTimer = setTimeout(() => {
      this.#reset(new StreamResetError(`no byte moved on the stream for ${idle} ms`))
    }, idle)
  }

  async run (parser: HTTP1Parser): Promise<void> {
    this.#parser = parser
    try {
      let first = true
      while (!this.#closed) {
        const head = await this.#nextHead(first)
        first = false
        if (head == null) break
        const keep = await this.#answer(head)
        if (!keep) break
        parser.resume()
      }
    } catch (err) {
      this.#options.onError?.(err)
      this.#reset(err as Error)
    } finally {
      this.#finish()
    }
  }

  // --- reading -----------------------------------------------------------------------------------

  /** Read until the next request's head; `undefined` when the stream has no further request. */
  async #nextHead (first: boolean): Promise<HTTP1Head | undefined> {
    const headersTimeout = this.#options.headersTimeout ?? 60_000
    const requestTimeout = this.#options.requestTimeout ?? 300_000
    const keepAliveTimeout = this.#options.keepAliveTimeout ?? 5000
    this.#parsedHead = undefined
    const stopped = new Promise<never>((_resolve, reject) => { this.#stop = reject })
    stopped.catch(() => {})
    const timers: Array<ReturnType<typeof setTimeout>> = []
    const stop = (err: Error): void => { this.#stop?.(err) }
    // the timers of a request start with its first byte; before that the stream is only waiting
    let started = false
    const start = (): void => {
      if (started) return
      started = true
      clearTimeout(timers[0])
      if (headersTimeout > 0) timers.push(setTimeout(() => { stop(new Timeout('headers')) }, headersTimeout))
      if (requestTimeout > 0) {
        this.#requestTimer = setTimeout(() => { this.#requestTimedOut() }, requestTimeout)
      }
    }
    if (!first) {
      timers.push(setTimeout(() => { stop(new Timeout('keep-alive')) }, keepAliveTimeout))
    } else {
      start()
    }
    try {
      const rest = this.#rest
      this.#rest = undefined
      if (rest != null && rest.byteLength > 0) {
        start()
        this.#execute(rest)
      }
      for (;;) {
        const parsed = this.#parsedHead
        if (parsed != null) return parsed
        const got = await Promise.race([this.#reader.read().then(chunk => ({ chunk })), stopped])
        const { chunk } = got
        if (chunk == null) {
          // the client ended its side: between requests that is the end; inside a head, nobody to answer
          return undefined
        }
        start()
        this.#execute(chunk)
      }
    } catch (err) {
      if (err instanceof Timeout) {
        if (err.phase === 'keep-alive') return undefined
        await this.#refuse(408, 'the request head did not arrive within the headers timeout\n')
        return undefined
      }
      if (err instanceof HTTP1ParseError) {
        await this.#refuse(err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400, `${err.reason}\n`)
        return undefined
      }
      if (err instanceof StreamResetError) return undefined
      throw err
    } finally {
      for (const timer of timers) clearTimeout(timer)
      this.#parsedHead = undefined
      this.#stop = undefined
    }
  }

  /** Parse `data`; the bytes after a complete request are kept for the next one. */
  #execute (data: Uint8Array): void {
    this.#touch()
    const rest = (this.#parser as HTTP1Parser).execute(data)
    if (rest != null) {
      this.#rest = rest.slice()
    }
  }

  // HTTP1ParserCallbacks
  onHead (head: HTTP1Head): 'body' {
    this.#current = { head, controller: undefined, early: [], abort: new AbortController(), received: 0, complete: false, broken: false, delivered: 0 }
    this.#parsedHead = head
    return 'body'
  }

  onBody (chunk: Uint8Array): void {
    const current = this.#current
    if (current == null || current.broken) return
    current.received += chunk.byteLength
    const max = this.#options.maxRequestBodySize ?? Infinity
    if (current.received > max) {
      current.broken = true
      const err = new RequestBodyTooLargeError(max)
      this.#failBody(err)
      if (!this.#responding) {
        void this.#refuse(413, `request body larger than ${max} bytes\n`)
      } else {
        this.#reset(err)
      }
      return
    }
    current.delivered += chunk.byteLength
    if (current.controller != null) current.controller.enqueue(chunk)
    else current.early.push(chunk)
  }

  onComplete (): void {
    const current = this.#current
    if (current == null) return
    current.complete = true
    clearTimeout(this.#requestTimer)
    if (!current.broken) {
      try { current.controller?.close() } catch {}
    }
  }

  /** The request body's pull: read and parse until body bytes come, the request completes, or it fails. */
  async #pullBody (current: Incoming): Promise<void> {
    current.delivered = 0
    try {
      while (!current.complete && !current.broken && current.delivered === 0) {
        const chunk = await this.#reader.read()
        if (chunk == null) {
          current.broken = true
          this.#failBody(new TypeError('the request body ended before it was complete'))
          return
        }
        this.#execute(chunk)
      }
    } catch (err) {
      current.broken = true
      if (err instanceof HTTP1ParseError && !this.#responding) {
        this.#failBody(new TypeError(`malformed request body: ${err.reason}`, { cause: err }))
        // 413 for endless chunk extensions, as Node's server answers them
        await this.#refuse(err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? 413 : 400, `${err.reason}\n`)
        return
      }
      this.#failBody(err instanceof HTTP1ParseError ? new TypeError(`malformed request body: ${err.reason}`, { cause: err }) : err as Error)
    }
  }

  #failBody (err: Error): void {
    const current = this.#current
    if (current == null || current.complete) return
    current.failure ??= err
    try { current.controller?.error(err) } catch {}
  }

  #requestTimedOut (): void {
    const current = this.#current
    if (current == null || current.complete) return
    current.broken = true
    const err = new Timeout('request')
    this.#failBody(new TypeError('the request did not arrive within the request timeout', { cause: err }))
    current.abort.abort(err)
    if (!this.#responding) {
      void this.#refuse(408, 'the request did not arrive within the request timeout\n')
    } else {
      this.#reset(new StreamResetError('the request did not arrive within the request timeout'))
    }
  }

  // --- answering ---------------------------------------------------------------------------------

  /** Check, hand to the handler, write the response; whether the stream may carry another request. */
  async #answer (head: HTTP1Head): Promise<boolean> {
    const current = this.#current as Incoming
    if (current.broken || this.#closed) {
      return false // refused while its head was read (a body over the limit came with it), or the stream is gone
    }
    const refusal = this.#admit(head)
    if (refusal != null) {
      current.broken = true
      await this.#refuse(refusal.status, refusal.reason)
      return false
    }
    const declared = contentLength(head)
    const max = this.#options.maxRequestBodySize ?? Infinity
    if (declared != null && declared > max) {
      // before the handler runs, and before a `100 Continue` would invite the body (RFC 9110 §15.5.14)
      current.broken = true
      await this.#refuse(413, `request body larger than ${max} bytes\n`)
      return false
    }
    let request: Request
    try {
      request = this.#request(head, current)
    } catch (err) {
      // what the platform's Request refuses from the client: a method such as TRACE (RFC 9110 §15.6.2: 501)
      current.broken = true
      await this.#refuse(501, `${(err as Error).message}\n`)
      return false
    }
    let response: Response
    try {
      response = await this.#handler(request)
      if (!(response instanceof Response)) {
        throw new TypeError(`the handler returned ${typeof response}, not a Response`)
      }
      if (response.status < 200) {
        // Response.error() or an opaque redirect (status 0): nothing an HTTP/1.1 status line can say
        throw new TypeError(`the handler returned a ${response.type} Response with status ${response.status}, not an HTTP response`)
      }
    } catch (err) {
      if (this.#closed) return false
      this.#options.onError?.(err)
      current.broken = true // its body may be unread
      await this.#refuse(500, 'Internal Server Error\n')
      return false
    }
    if (this.#closed) {
      await response.body?.cancel().catch(() => {})
      return false
    }
    return await this.#respond(head, current, response)
  }

  /** The checks the Node server makes that llhttp leaves to it (`server/request-checks.ts`). */
  #admit (head: HTTP1Head): { status: number, reason: string } | undefined {
    if (!head.httpVersion.startsWith('1.')) {
      return { status: 505, reason: 'only HTTP/1.x is spoken here\n' }
    }
    const hosts = head.headers.filter(([name]) => name.toLowerCase() === 'host')
    if (hosts.length > 1) {
      return { status: 400, reason: 'more than one Host header\n' }
    }
    if (hosts.length === 0 && head.httpVersion === '1.1') {
      // RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host (Node does)
      return { status: 400, reason: 'an HTTP/1.1 request must have a Host header\n' }
    }
    if (hosts.length === 1 && hosts[0][1] !== '' && !isValidHost(hosts[0][1])) {
      // RFC 9112 §3.2: an invalid Host is a 400; the handler's URL is built from it ('x/admin?' moved the path)
      return { status: 400, reason: 'invalid Host header\n' }
    }
    const verdict = originForm(head.url, hosts[0]?.[1])
    if ('refusal' in verdict) {
      return { status: 400, reason: `${verdict.refusal}\n` }
    }
    head.url = verdict.target
    return undefined
  }

  #request (head: HTTP1Head, current: Incoming): Request {
    const headers = new Headers()
    for (const [name, value] of head.headers) headers.append(name, value)
    const host = headers.get('host')
    let url: URL
    try {
      url = new URL(`http://${host != null && host !== '' ? host : 'localhost'}${head.url}`)
    } catch {
      url = new URL(`http://localhost${head.url}`)
    }
    const hasBody = contentLength(head) !== 0 && (contentLength(head) != null || headers.has('transfer-encoding'))
    let body: ReadableStream<Uint8Array> | undefined
    if (hasBody) {
      body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          current.controller = controller
          for (const chunk of current.early) controller.enqueue(chunk)
          current.early = []
          if (current.failure != null) controller.error(current.failure)
          else if (current.complete) controller.close()
        },
        pull: async () => { await this.#pullBody(current) },
        cancel: () => { current.broken = true } // unread: the stream will not carry another request
      }, { highWaterMark: 0 })
    }
    const canHaveBody = head.method !== 'GET' && head.method !== 'HEAD'
    const init: RequestInit & { duplex?: 'half' } = { method: head.method, headers, signal: current.abort.signal }
    if (body != null && canHaveBody) {
      init.body = body
      init.duplex = 'half'
    } else if (body != null) {
      // a GET or HEAD with content (RFC 9110 §9.3.1: no defined semantics): read and dropped
      void body.pipeTo(new WritableStream()).catch(() => {})
    }
    const request = new Request(url, init)
    // A browser's `Request` drops "forbidden" fields (Host, Cookie, Content-Length, …) from the headers
    // it is given; the handler sees what the client sent.
    if (request.headers.get('host') !== host || [...headers.keys()].length !== [...request.headers.keys()].length) {
      Object.defineProperty(request, 'headers', { value: headers, enumerable: false, configurable: true })
    }
    setRemotePeer(request, this.#connection.remotePeer)
    setAuthentication(request, 'libp2p-connection')
    return request
  }

  /** Write the handler's response; whether the stream may carry another request. */
  async #respond (head: HTTP1Head, current: Incoming, response: Response): Promise<boolean> {
    this.#responding = true
    const noContent = hasNoContent(response.status) || head.method === 'HEAD'
    let body = response.body
    if (noContent && body != null) {
      await body.cancel().catch(() => {})
      body = null
    }
    const declared = response.headers.get('content-length')
    const gathered = await gatherBody(body, declared != null && /^\d+$/.test(declared) ? Number(declared) : undefined)
    // another request only when the client asked for it and this one was read to its end
    const keep = head.keepAlive && !head.upgrade && current.complete && !current.broken && !this.#closed
    const fields: Array<[string, string]> = []
    for (const [name, value] of response.headers) {
      if (!OWN_FIELDS.has(name)) fields.push([name, value])
    }
    if (!response.headers.has('date')) fields.push(['date', new Date().toUTCString()])
    if (gathered.framing.kind === 'chunked') {
      fields.push(['transfer-encoding', 'chunked'])
    } else if (gathered.framing.kind === 'length') {
      fields.push(['content-length', String(gathered.framing.length)])
    } else if (head.method === 'HEAD' && declared != null && /^\d+$/.test(declared)) {
      fields.push(['content-length', declared]) // RFC 9110 §9.3.2: what a GET would have sent
    } else if (!hasNoContent(response.status)) {
      fields.push(['content-length', '0'])
    }
    fields.push(['connection', keep ? 'keep-alive' : 'close'])
    let bytes: Uint8Array
    try {
      bytes = encodeHead(`HTTP/1.1 ${response.status} ${response.statusText}`, fields)
    } catch (err) {
      await gathered.rest?.cancel(err).catch(() => {})
      this.#options.onError?.(err)
      await this.#refuse(500, 'Internal Server Error\n')
      return false
    }
    this.#sending = gathered
    try {
      await sendMessage(this.#stream, bytes, gathered, { isCancelled: () => this.#closed, onWrite: () => { this.#touch() } })
    } catch (err) {
      // the status line is out: a reset is the only way left to tell the client the response is not whole
      if (!(err instanceof StreamResetError)) this.#options.onError?.(err)
      this.#reset(err as Error)
      return false
    } finally {
      this.#responding = false
      this.#sending = undefined
    }
    this.#touch()
    // the handler did not read the whole body: its signal says the exchange is over
    if (!current.complete) current.abort.abort(new DOMException('the response was sent', 'AbortError'))
    return keep && !this.#closed
  }

  /** Answer with `status` and close (the request is not read further). */
  async #refuse (status: number, text: string): Promise<void> {
    if (this.#closed) return
    this.#responding = true
    try {
      const body = new TextEncoder().encode(text)
      const head = encodeHead(`HTTP/1.1 ${status} ${REASONS[status] ?? ''}`, [
        ['content-type', 'text/plain; charset=utf-8'],
        ['content-length', String(body.byteLength)],
        ['connection', 'close']
      ])
      await sendMessage(this.#stream, head, { framing: { kind: 'length', length: body.byteLength }, head: [body] })
    } catch {
      // the stream is gone: nothing to tell
    } finally {
      this.#responding = false
    }
    this.#finish()
  }

  // --- ending ------------------------------------------------------------------------------------

  #reset (err: Error): void {
    if (this.#closed) return
    this.#closed = true
    resetStream(this.#stream, err)
    this.#current?.abort.abort(err)
    this.#failBody(err)
    this.#sending?.rest?.cancel(err).catch(() => {})
    this.#cleanup()
  }

  /** Close gracefully: our side is closed, the rest of what the client sends is not read. */
  #finish (): void {
    if (this.#closed) return
    this.#closed = true
    this.#stream.close().catch((err: Error) => { resetStream(this.#stream, err) })
    this.#cleanup()
  }

  #cleanup (): void {
    clearTimeout(this.#idleTimer)
    clearTimeout(this.#requestTimer)
    this.#stream.removeEventListener('close', this.#onClose)
    this.#options.signal?.removeEventListener('abort', this.#onAbort)
    this.#reader.release()
    const parser = this.#parser
    this.#parser = undefined
    if (parser != null) queueMicrotask(() => { parser.destroy() })
  }
}


/** Which wait ran out. */
class Timeout extends Error {
  readonly phase: 'headers' | 'request' | 'keep-alive'
  constructor (phase: 'headers' | 'request' | 'keep-alive') {
    super(`${phase} timeout`)
    this.phase = phase
  }
}

/** The request's `Content-Length`, when it has one (llhttp has already refused a malformed or repeated one). */
function contentLength (head: HTTP1Head): number | undefined {
  const field = head.headers.find(([name]) => name.toLowerCase() === 'content-length')
  return field == null ? undefined : Number(field[1])
}
