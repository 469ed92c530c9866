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
import type { AbortOptions, Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The `/http/1.1` stream protocol id (libp2p+HTTP spec). */
export const HTTP_STREAM_PROTOCOL = '/http/1.1'

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
  void stream; void request; void options
  throw new Error('not yet')
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
  void node; void peer; void options
  throw new Error('not yet')
}
