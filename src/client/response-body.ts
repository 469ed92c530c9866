/**
 * The body `host.fetch` hands out: decoded (fetch's way) or as sent, and bounded.
 *
 * undici's `fetch` decodes every `Content-Encoding` it knows (gzip, deflate, br, zstd) and has no option
 * to stop: a 260 KB gzip bomb becomes 256 MiB. To get the bytes as sent, an interceptor hides
 * `Content-Encoding` from fetch for the final response (fetch then has nothing to decode) and the
 * `Response` is given its header back. The bound counts what the `Response` body yields, after decoding
 * when there is any, and cancels the body past it (the request is aborted, its stream reset).
 *
 * @module
 */
import { Headers as UndiciHeaders } from 'undici'
import { FetchResponse } from './fetch-response.js'
import { ResponseBodyTooLargeError } from '../errors.js'
import { ForwardingHandler } from './forwarding-handler.js'
import type { Dispatcher } from 'undici'

/** Hides `Content-Encoding` of final responses from the handler, telling `seen` what it was. */
class HideContentEncoding extends ForwardingHandler {
  readonly #seen: (value: string | string[] | undefined) => void

  constructor (inner: Dispatcher.DispatchHandler, seen: (value: string | string[] | undefined) => void) {
    super(inner)
    this.#seen = seen
  }

  override onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    if (statusCode >= 200) {
      // undici gives header names in lower case
      const { 'content-encoding': coding, ...rest } = headers
      this.#seen(coding)
      if (coding != null) headers = rest
    }
    super.onResponseStart(controller, statusCode, headers, statusMessage)
  }
}

/**
 * For one fetch that wants the body as sent: compose {@link KeepContentEncoding.interceptor} into its
 * dispatcher, and pass the `Response` through {@link KeepContentEncoding.headers} to restore the header.
 */
export class KeepContentEncoding {
  /** The last final response's `Content-Encoding` (after redirects, the one that reached the caller). */
  #value: string | string[] | undefined

  readonly interceptor: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) =>
    dispatch(options, new HideContentEncoding(handler, (value) => { this.#value = value }))

  /** `response`'s headers with `Content-Encoding` put back, or `undefined` when there was none. */
  headers (response: Response): Headers | undefined {
    if (this.#value == null) {
      return undefined
    }
    const headers = new UndiciHeaders(response.headers as never)
    for (const value of Array.isArray(this.#value) ? this.#value : [this.#value]) {
      headers.append('content-encoding', value)
    }
    return headers as unknown as Headers
  }
}

/** `body` erroring with {@link ResponseBodyTooLargeError} once it has yielded more than `max` bytes; cancelling it then. */
export function boundedBody (body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  let seen = 0
  return body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform (chunk, controller) {
      seen += chunk.byteLength
      if (seen > max) {
        // erroring the transform cancels `body`: fetch aborts the request, decoding stops
        controller.error(new ResponseBodyTooLargeError(max))
        return
      }
      controller.enqueue(chunk)
    }
  }))
}

/**
 * `response` with other headers and/or body. Fetch's responses are immutable, so a new one is built
 * around its body; `url`, `redirected` and fetch's `type` are carried over (see {@link FetchResponse}).
 * A body kept is piped on rather than shared: `response` is dropped here, and a fetched response
 * collected with its body unlocked cancels it (undici's and {@link FetchResponse}'s registries), which
 * would empty the new response's body; piped, the old stream is locked and the new one is watched.
 */
export function rebuildResponse (response: Response, changes: { headers?: Headers, body?: ReadableStream<Uint8Array> }): Response {
  const body = changes.body ?? response.body?.pipeThrough(new TransformStream<Uint8Array, Uint8Array>()) ?? null
  return new FetchResponse(body, {
    status: response.status,
    statusText: response.statusText,
    headers: (changes.headers ?? response.headers) as never
  }, { url: response.url, redirected: response.redirected, type: response.type === 'cors' ? 'cors' : 'basic' }) as unknown as Response
}
