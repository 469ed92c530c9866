/**
 * `host.fetch`'s own fetch: WHATWG fetch's observable behaviour on undici's `dispatch`, without
 * undici's `fetch` machinery (its Request/fetchParams objects, body streams fed through an async
 * iterator, a copy of every body chunk, its AbortSignal plumbing): 40–160 µs of client CPU less per small
 * request (see docs/decisions.md, "host.fetch without undici's fetch").
 *
 * What the caller sees is undici's `fetch`'s: the request as `fetch-request.ts` prepares it, redirects
 * by `redirect-rules.ts`, the body decoded as `content-decoding.ts` decodes it, the `Response` of
 * `fetch-response.ts`; network failures reject with `TypeError('fetch failed', { cause })`, an abort
 * with the signal's reason in every phase (the body stream errors with it), a body cut short errors the
 * reader with `TypeError('terminated', { cause })`. Calls it does not reproduce go to undici's `fetch`
 * (the rule is `prepareRequest`'s).
 *
 * @module
 */
import { Readable, pipeline } from 'node:stream'
import { contentDecoders } from './content-decoding.js'
import { dispatchOptions } from './fetch-request.js'
import { FetchResponse } from './fetch-response.js'
import { REDIRECT_STATUSES, redirectStep } from './redirect-rules.js'
import { recordHop } from './redirect.js'
import { ResponseBodyTooLargeError } from '../errors.js'
import type { PreparedRequest } from './fetch-request.js'
import type { Transform } from 'node:stream'
import type { Dispatcher } from 'undici'

/** What the body of a followed redirect may carry before its exchange is aborted rather than read to its end. */
const REDIRECT_BODY_LIMIT = 64 * 1024

/**
 * Body bytes queued in the `Response` stream before the exchange is paused: what undici's fetch buffers
 * (its body `Readable`'s 16 KiB), so a small body is never paused.
 */
const BODY_QUEUE_BYTES = 16 * 1024

/** Statuses whose response has no body (Fetch standard, "null body status"). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

/** How the engine treats the response body. */
export interface LeanFetchOptions {
  /** Decode `Content-Encoding` as fetch does (`false`: the bytes as sent). */
  decode: boolean
  /** The most bytes the body may yield (after decoding); past it the body errors with `ResponseBodyTooLargeError`. */
  maxBodySize: number
  /**
   * Each hop's URL is recorded here before it is dispatched, and a redirect that would carry an unsafe
   * method to another origin is refused (`redirect.ts` `recordHop`): what the `guardRedirects`
   * interceptor does for undici's fetch, without composing a dispatcher per call.
   */
  hops?: string[]
}

/**
 * Fetches `url` with `request` (from `prepareRequest`) over `dispatcher`, following redirects as fetch
 * does; resolves with the `Response` once the final response's head has arrived.
 */
export async function leanFetch (url: URL, request: PreparedRequest, dispatcher: Dispatcher, options: LeanFetchOptions): Promise<Response> {
  return await new Promise<Response>((resolve, reject) => {
    new Fetching(request, dispatcher, options, resolve, reject).start(url)
  })
}

/** A network error as undici's fetch reports it. */
function fetchFailed (cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause })
}

/** `url` serialised without its fragment, as `Response#url` gives it. */
function withoutFragment (url: URL): string {
  const href = url.href
  const hash = href.indexOf('#')
  return hash < 0 ? href : href.slice(0, hash)
}

/** A response header's value as one string (repeats joined as `Headers#get` joins them). */
function single (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

/** The `Location` of a redirect resolved as fetch resolves it, or the error that makes it a network error. */
function locationURL (location: string, base: URL): URL | Error {
  // servers that send UTF-8 unencoded: read the bytes as UTF-8, as undici and browsers do
  const text = /[^\x00-\x7f]/.test(location) ? Buffer.from(location, 'latin1').toString('utf8') : location
  let next: URL
  try {
    next = new URL(text, base)
  } catch (err) {
    return err as Error
  }
  if (next.hash === '') next.hash = base.hash
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    return new Error('URL scheme must be a HTTP(S) scheme')
  }
  if (next.username !== '' || next.password !== '') {
    // fetch's mode is "cors", whose redirects may not carry credentials (Fetch standard, HTTP-redirect fetch step 9)
    return new Error('cross origin not allowed for request mode "cors"')
  }
  return next
}

/** One `host.fetch` call: its hops, the abort signal, the body of the final response. */
class Fetching {
  readonly #request: PreparedRequest
  readonly #dispatcher: Dispatcher
  readonly #options: LeanFetchOptions
  /**
   * The call's promise, until it settles. Dropped then: a resolved promise holds its `Response`, and the
   * exchange (undici's handler, the body's source) holds this object, so keeping it would keep the
   * `Response` alive as long as its body is unread and `FetchResponse` could never cancel it.
   */
  #outcome: { resolve: (response: Response) => void, reject: (err: unknown) => void } | undefined
  #urls: URL[] = []
  #redirects = 0
  /** undici's "response tainting": `'cors'` from the first hop to another origin than the first URL's on. */
  #type: 'basic' | 'cors' = 'basic'
  #hop: Hop | undefined
  #body: Body | undefined
  #settled = false
  #finished = false

  constructor (request: PreparedRequest, dispatcher: Dispatcher, options: LeanFetchOptions, resolve: (response: Response) => void, reject: (err: unknown) => void) {
    this.#request = request
    this.#dispatcher = dispatcher
    this.#options = options
    this.#outcome = { resolve, reject }
  }

  start (url: URL): void {
    const signal = this.#request.signal
    if (signal?.aborted === true) {
      this.#finished = true
      this.#rejectWith(signal.reason)
      return
    }
    if (signal != null) {
      this.#onAbort = this.#abort.bind(this)
      signal.addEventListener('abort', this.#onAbort)
    }
    this.#dispatch(url)
  }

  /**
   * The signal's listener, bound only when there is a signal. No arrow functions per call here or in
   * `Hop` and `Body`: the published build keeps function names (`keepNames`), which costs a
   * `defineProperty` for each named closure created per request (issue 21).
   */
  #onAbort: (() => void) | undefined

  #abort (): void {
    const reason = this.#request.signal?.reason
    this.#end(reason)
    this.#hop?.abort(reason)
  }

  #dispatch (url: URL): void {
    this.#urls.push(url)
    if (url.origin !== this.#urls[0].origin) this.#type = 'cors'
    const hop = this.#hop = new Hop(this, url)
    try {
      const options = dispatchOptions(url, this.#request)
      if (this.#options.hops != null) recordHop(this.#options.hops, options.origin as string, options.path, options.method)
      this.#dispatcher.dispatch(options, hop)
    } catch (err) {
      // a refused redirect (recordHop), an interceptor refusing the hop, or undici refusing the options
      this.fail(hop, err)
    }
  }

  /** The response head of `hop`: a redirect to follow (its body then dumped), or the final response. */
  head (hop: Hop, status: number, headers: Record<string, string | string[]>, statusText: string): void {
    if (hop !== this.#hop || this.#finished) {
      hop.abort(new Error('superseded'))
      return
    }
    const request = this.#request
    const location = single(headers.location)
    if (location != null && request.redirect !== 'manual' && REDIRECT_STATUSES.has(status)) {
      if (request.redirect === 'error') {
        this.#fail(new Error('unexpected redirect'))
        hop.abort(new Error('unexpected redirect'))
        return
      }
      const next = locationURL(location, hop.url)
      const step = next instanceof Error
        ? undefined
        : redirectStep({ method: request.method, body: request.body == null ? 'none' : request.body.replayable ? 'replayable' : 'stream', redirectCount: this.#redirects }, status, hop.url.origin, next.origin)
      if (next instanceof Error || step?.follow !== true) {
        this.#fail(next instanceof Error ? next : new Error((step as { reason: string }).reason))
        hop.abort(new Error('redirect not followed'))
        return
      }
      this.#redirects++
      request.method = step.method
      if (step.dropBody) request.body = null
      for (const name of step.dropHeaders) request.headers.delete(name)
      this.#hop = undefined
      hop.dump(REDIRECT_BODY_LIMIT)
      // the next hop goes out once this callback has returned to undici
      queueMicrotask(() => { if (!this.#finished) this.#dispatch(next) })
      return
    }
    const noBody = request.method === 'HEAD' || request.method === 'CONNECT' || NULL_BODY_STATUSES.has(status)
    let decoders: Transform[] = []
    if (!noBody && this.#options.decode) {
      const found = contentDecoders(single(headers['content-encoding']))
      if (found instanceof Error) {
        this.#fail(found)
        hop.abort(found)
        return
      }
      decoders = found
    }
    let body: Body | undefined
    if (noBody) {
      hop.dump(Infinity)
    } else {
      const length = single(headers['content-length'])
      body = this.#body = new Body(hop, decoders, this.#options.maxBodySize, length != null && /^\d+$/.test(length) ? Number(length) : -1, this)
    }
    const pairs: Array<[string, string]> = []
    for (const name in headers) {
      const value = headers[name]
      if (Array.isArray(value)) for (const item of value) pairs.push([name, item])
      else pairs.push([name, value])
    }
    let response: FetchResponse
    try {
      response = new FetchResponse(body?.stream ?? null, { status, statusText, headers: pairs }, { url: withoutFragment(hop.url), redirected: this.#urls.length > 1, type: this.#type })
    } catch (err) {
      // a status or reason phrase the Response constructor refuses
      this.#fail(err)
      hop.abort(err as Error)
      return
    }
    this.#settled = true
    if (body == null) this.#end()
    const outcome = this.#outcome
    this.#outcome = undefined
    outcome?.resolve(response as unknown as Response)
  }

  /** A failure of `hop`: before the final head a network error, after it the body's (see {@link Body}). */
  fail (hop: Hop, err: unknown): void {
    if (hop !== this.#hop || this.#finished) return
    if (this.#settled) {
      this.#body?.fail(new TypeError('terminated', { cause: err }))
      this.#end()
      return
    }
    this.#fail(err)
  }

  #fail (cause: unknown): void {
    if (this.#finished) return
    this.#end()
    this.#rejectWith(fetchFailed(cause))
  }

  #rejectWith (err: unknown): void {
    const outcome = this.#outcome
    this.#outcome = undefined
    outcome?.reject(err)
  }

  /** The final response's body is over (read to its end, failed or cancelled). */
  bodyDone (): void {
    this.#end()
  }

  /** The call is over (`reason`: aborted with it): no more hops, the signal's listener removed. */
  #end (reason?: unknown): void {
    if (this.#finished) return
    this.#finished = true
    if (this.#onAbort != null) this.#request.signal?.removeEventListener('abort', this.#onAbort)
    if (reason === undefined) return
    if (this.#settled) this.#body?.fail(reason)
    else this.#rejectWith(reason)
  }
}

/** One exchange of a fetch (a redirect hop or the final one), as an undici dispatch handler. */
class Hop implements Dispatcher.DispatchHandler {
  readonly url: URL
  readonly #fetching: Fetching
  controller: Dispatcher.DispatchController | undefined
  /** The final response's body, which takes the data once the head is in. */
  body: Body | undefined
  /** Instead of a body: the bytes still to read into nothing before the exchange is aborted (see `dump`). */
  #dumpLeft = -1
  #abortReason: Error | undefined

  constructor (fetching: Fetching, url: URL) {
    this.#fetching = fetching
    this.url = url
  }

  /** Aborts the exchange now, or as soon as undici hands over its controller. */
  abort (reason: unknown): void {
    const error = reason instanceof Error ? reason : new DOMException('The operation was aborted.', 'AbortError')
    if (this.controller == null) this.#abortReason ??= error
    else if (!this.controller.aborted) this.controller.abort(error)
  }

  /** Reads the rest of the body into nothing, aborting the exchange past `limit` bytes. */
  dump (limit: number): void {
    this.#dumpLeft = limit
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.#abortReason != null) controller.abort(this.#abortReason)
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    if (statusCode < 200) return
    this.#fetching.head(this, statusCode, headers, statusMessage ?? '')
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.body != null) {
      this.body.data(chunk)
    } else if (this.#dumpLeft >= 0) {
      this.#dumpLeft -= chunk.byteLength
      if (this.#dumpLeft < 0) this.abort(new Error('redirect body too large to read to its end'))
    }
  }

  onResponseEnd (): void {
    this.body?.end()
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.#fetching.fail(this, err)
  }
}

/**
 * The final response's body: a `ReadableStream` fed by the exchange (decoded through zlib when it has
 * codings), the exchange paused while the stream's queue is full and resumed when it is read,
 * cancelling it aborts the exchange, and past `max` bytes it errors with `ResponseBodyTooLargeError`.
 * Chunks are handed on without a copy: the stream is not a byte stream, so nothing transfers (detaches)
 * the socket's buffers, which is why undici's fetch copies them.
 */
class Body implements UnderlyingDefaultSource<Uint8Array> {
  readonly stream: ReadableStream<Uint8Array>
  #controller!: ReadableStreamDefaultController<Uint8Array>
  readonly #hop: Hop
  readonly #fetching: Fetching
  readonly #max: number
  readonly #contentLength: number
  #received = 0
  #seen = 0
  #over = false
  /** With codings: the raw body's side of the decoding pipeline, and its decoded end. */
  readonly #raw: Readable | undefined
  readonly #decoded: Transform | undefined

  /**
   * `contentLength`: the body's `Content-Length`, or -1. The chunk that completes it never pauses the
   * exchange: undici 7's HTTP/1.1 parser, paused on a message's last byte, crashes the process when the
   * server then closes the connection (nodejs/undici#5360, fixed in undici 8), which every stream
   * response does and which undici's fetch hits with an unread body over 16 KiB. The body is its stream's
   * source itself (`start`, `pull`, `cancel`) and takes the exchange's data from `Hop`: no closures per
   * response (see `Fetching#onAbort`).
   */
  constructor (hop: Hop, decoders: Transform[], max: number, contentLength: number, fetching: Fetching) {
    this.#hop = hop
    this.#fetching = fetching
    this.#max = max
    this.#contentLength = contentLength
    const decoded = this.#decoded = decoders[decoders.length - 1] as Transform | undefined
    this.stream = new ReadableStream<Uint8Array>(this, new ByteLengthQueuingStrategy({ highWaterMark: BODY_QUEUE_BYTES }))
    hop.body = this
    if (decoded == null) return
    const raw = this.#raw = new Readable({ read: () => { hop.controller?.resume() } })
    pipeline(raw, ...decoders as [Transform], (err) => {
      if (err != null && !this.#over) {
        // a coding that does not decode: the body fails as fetch's does, and the exchange ends
        this.fail(new TypeError('terminated', { cause: err }))
        hop.abort(err)
      }
    })
    decoded.on('data', (chunk: Buffer) => {
      if (this.#deliver(chunk) && (this.#controller.desiredSize ?? 0) <= 0) decoded.pause()
    })
    decoded.on('end', () => { this.#close() })
  }

  /** The stream's source: keeps its controller. */
  start (controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller
  }

  /** The stream's source: the reader wants more. */
  pull (): void {
    if (this.#decoded == null) this.#hop.controller?.resume()
    else this.#decoded.resume()
  }

  /** The stream's source: the reader gave up; the exchange is aborted. */
  cancel (reason: unknown): void {
    this.#over = true
    this.#raw?.destroy()
    this.#hop.abort(reason)
    this.#fetching.bodyDone()
  }

  /** A chunk of the exchange's body (as sent: decoding, if any, follows). */
  data (chunk: Buffer): void {
    const final = (this.#received += chunk.byteLength) === this.#contentLength
    if (this.#raw != null) {
      if (!this.#raw.push(chunk) && !final) this.#hop.controller?.pause()
    } else if (this.#deliver(chunk) && !final && (this.#controller.desiredSize ?? 0) <= 0) {
      this.#hop.controller?.pause()
    }
  }

  /** The exchange's body is complete. */
  end (): void {
    if (this.#raw != null) this.#raw.push(null)
    else this.#close()
  }

  /** Enqueues `chunk` unless the body is over or past its bound; whether it was enqueued. */
  #deliver (chunk: Uint8Array): boolean {
    if (this.#over) return false
    this.#seen += chunk.byteLength
    if (this.#seen > this.#max) {
      const err = new ResponseBodyTooLargeError(this.#max)
      this.fail(err)
      this.#hop.abort(err)
      return false
    }
    if (chunk.byteLength > 0) this.#controller.enqueue(chunk)
    return true
  }

  #close (): void {
    if (this.#over) return
    this.#over = true
    this.#controller.close()
    this.#fetching.bodyDone()
  }

  /** Errors the stream with `err` (once) and stops decoding. */
  fail (err: unknown): void {
    if (this.#over) return
    this.#over = true
    this.#controller.error(err)
    this.#raw?.destroy()
    this.#fetching.bodyDone()
  }
}
