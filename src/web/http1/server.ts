/**
 * The server side of HTTP/1.1 over a libp2p stream, with Web platform parts only: requests parsed by
 * llhttp (`parser.ts`) become WHATWG `Request`s (streaming bodies, `remotePeer(request)` set from the
 * connection), a fetch-style handler answers, and its `Response` is written back (streaming; chunked
 * when its length is unknown). The stream stays open for another request when the client asks for it
 * (HTTP/1.1 without `Connection: close`), one request at a time.
 *
 * @module
 */
import type { Connection, Stream } from '@libp2p/interface'

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
  /** A stream with no byte moving either way for this long is closed, in ms. `0` disables. @default 300000 */
  idleTimeout?: number
  /** The most bytes a request body may have (`413`). @default Infinity */
  maxRequestBodySize?: number
  /** Ends the serving of the stream (the stream is closed, or reset if a response is under way). */
  signal?: AbortSignal
}

/**
 * Serve HTTP/1.1 requests arriving on `stream` (an inbound `/http/1.1` stream of `connection`) with
 * `handler`. Resolves when the stream is done; never rejects (failures end as a status answered or the
 * stream reset). A handler that throws gets a `500`; bytes that are not HTTP/1.1 get `400`, a head over
 * `maxHeaderSize` `431`, a body over `maxRequestBodySize` `413`.
 */
export async function serveStream (stream: Stream, connection: Pick<Connection, 'remotePeer' | 'remoteAddr'>, handler: FetchHandler, options: StreamServerOptions = {}): Promise<void> {
  void stream; void connection; void handler; void options
  throw new Error('not yet')
}
