/**
 * The server's limits on what a peer may send: Node's own (header size, headers and request timeouts,
 * idle streams) set from one options object, the request body limit Node does not have, and the few
 * request checks llhttp leaves to the server.
 *
 * @module
 */
import { RequestBodyTooLargeError } from '../errors.js'
import { isHTTP2 } from './http2.js'
import { admitRequest } from './request-checks.js'
import type { ResolvedServerLimits } from './limit-values.js'
import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http'

export { resolveServerLimits } from './limit-values.js'
export type { ServerLimits, ResolvedServerLimits } from './limit-values.js'

/**
 * Whether `req` declares a body over `max` (`Content-Length`): checked before `100 Continue` is sent, so
 * a client is never invited to upload what will be refused.
 */
export function declaresTooLarge (req: IncomingMessage, max: number): boolean {
  const declared = req.headers['content-length']
  return Number.isFinite(max) && declared != null && Number(declared) > max
}

/** Node's default `connectionsCheckingInterval`. */
const NODE_CHECKING_INTERVAL = 30_000

/**
 * `http.createServer` options for the limits. Node checks the headers and request timeouts only every
 * `connectionsCheckingInterval` (30 s by default), which would let a slowloris outlive a short
 * `headersTimeout` by up to that much: the interval follows the shortest timeout.
 */
export function nodeServerOptions (limits: ResolvedServerLimits): Pick<ServerOptions, 'headersTimeout' | 'requestTimeout' | 'maxHeaderSize' | 'connectionsCheckingInterval'> {
  const timeouts = [limits.headersTimeout, limits.requestTimeout].filter(t => t > 0)
  const interval = timeouts.length === 0 ? NODE_CHECKING_INTERVAL : Math.floor(Math.min(...timeouts) / 4)
  return {
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    maxHeaderSize: limits.maxHeaderSize,
    connectionsCheckingInterval: Math.min(NODE_CHECKING_INTERVAL, Math.max(50, interval))
  }
}

/**
 * Enforce `max` on the request body before the handler sees it. A declared `Content-Length` over the
 * limit is answered at once (RFC 9110 §15.5.14) and `true` is returned: the handler must not run. A
 * chunked body is counted as Node's parser delivers it; past the limit the rest is dropped and the
 * request answered `413` (or the response cut off, if the handler has started it).
 */
export function refuseLargeBody (req: IncomingMessage, res: ServerResponse, max: number): boolean {
  if (!Number.isFinite(max)) {
    return false
  }
  if (declaresTooLarge(req, max)) {
    tooLarge(req, res, max)
    return true
  }
  if (req.headers['transfer-encoding'] == null) {
    // no body, or one whose Content-Length (checked by Node's parser) is within the limit
    return false
  }
  let seen = 0
  let refused = false
  const push = req.push.bind(req)
  req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk != null && !refused) {
      seen += (chunk as Buffer).length
      if (seen > max) {
        refused = true
        tooLarge(req, res, max, true)
      }
    }
    if (refused) {
      // Node's parser keeps delivering what is already buffered; none of it reaches the handler
      return false
    }
    return push(chunk, encoding)
  }
  return false
}

/** Answer `413`; `endWithheld`: the handler is running and will never see the body's end. */
function tooLarge (req: IncomingMessage, res: ServerResponse, max: number, endWithheld = false): void {
  // A handler that writes after our answer must not crash the process with ERR_STREAM_WRITE_AFTER_END.
  res.on('error', () => {})
  if (res.headersSent) {
    res.destroy()
    return
  }
  // `Connection: close`: the rest of the body is not read, so the connection cannot carry another request
  refuse(res, 413, `request body larger than ${max} bytes\n`)
  // A handler reading the body must see it fail, not wait forever for an end that will not come. Once
  // the 413 is out: the error is one the stream socket closes gracefully on, so the answer arrives.
  // A refused chunked body's end is withheld from the handler (`refuseLargeBody`) even when the whole
  // request had arrived (with its head, complete before the 413 is out): it must fail then too.
  res.once('finish', () => { if (endWithheld || !req.complete) req.destroy(new RequestBodyTooLargeError(max)) })
}

/**
 * Answer what Node's parser accepts but this server must not: returns `true` when the request was
 * answered (or dropped) here and the handler must not run.
 *
 * - A second request on a connection that carries one (`oneRequest`, a `/http/1.1` stream, where clients
 *   SHOULD NOT pipeline): dropped unanswered. Node would run the handler and then discard its answer,
 *   because the first response closes the stream; not running it spares the side effects.
 * - The checks of {@link admitRequest} (two `Host` fields, HTTP/2.0, request targets that are not
 *   origin-form or have dot segments, except on a `forwardProxy`): answered with their status.
 */
export function refuseMalformed (req: IncomingMessage, res: ServerResponse, { oneRequest = false, forwardProxy = false }: { oneRequest?: boolean, forwardProxy?: boolean } = {}): boolean {
  if (oneRequest) {
    if (answered.has(req.socket)) {
      req.resume()
      return true
    }
    answered.add(req.socket)
  }
  const fault = admitRequest(req, forwardProxy)
  if (fault != null) {
    refuse(res, fault.status, fault.reason)
    return true
  }
  return false
}

/** Sockets (streams) that have had their one request. */
const answered = new WeakSet<object>()

function refuse (res: ServerResponse, status: number, body: string): void {
  // HTTP/2 has no `Connection` (RFC 9113 §8.2.2): the refused stream ends, the connection stays
  const close = isHTTP2(res.req) ? {} : { connection: 'close' }
  res.writeHead(status, { ...close, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
