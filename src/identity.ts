/**
 * Who is at the other end: `remotePeer(req)` on the server side, `serverPeer(res)` on the client side.
 * Identities come only from authenticated sources (the libp2p connection's security handshake), never
 * from headers a remote could write.
 *
 * @module
 */
import { StreamSocket } from './stream/socket.js'
import type { TransportChoice } from './errors.js'
import type { PeerId } from '@libp2p/interface'
import type { IncomingMessage } from 'node:http'

const requestPeers = new WeakMap<object, PeerId>()
const responsePeers = new WeakMap<object, PeerId>()

/** @internal Record the authenticated client of a request object (a WHATWG `Request` made for a fetch-style handler). */
export function setRemotePeer (request: object, peer: PeerId | undefined): void {
  if (peer != null) {
    requestPeers.set(request, peer)
  }
}

/** @internal Record the authenticated server of a response. */
export function setServerPeer (response: object, peer: PeerId | undefined): void {
  if (peer != null) {
    responsePeers.set(response, peer)
  }
}

/**
 * The authenticated PeerId of the client that sent `req`, or `undefined` when the client is not
 * authenticated (a plain HTTPS request).
 *
 * Accepts Node's `IncomingMessage` (Express and Fastify pass it as `req`, Koa as `ctx.req`) and the
 * WHATWG `Request` given to fetch-style handlers (Hono: `c.req.raw`).
 *
 * @example
 * ```ts
 * host.serve((req, res) => { res.end(`hello ${remotePeer(req)?.toString()}`) })
 * ```
 */
export function remotePeer (req: IncomingMessage | Request): PeerId | undefined {
  const known = requestPeers.get(req)
  if (known != null) {
    return known
  }
  const socket = (req as { socket?: unknown }).socket
  return socket instanceof StreamSocket ? socket.remotePeer : undefined
}

/**
 * The authenticated PeerId of the server that sent `res` (a `Response` returned by `host.fetch`), or
 * `undefined` when the server was not authenticated. Over `/http/1.1` streams the connection's
 * security handshake authenticates the server; after redirects it is the peer that sent the final response.
 */
export function serverPeer (res: Response): PeerId | undefined {
  return responsePeers.get(res)
}

const responseTransports = new WeakMap<object, TransportChoice>()

/** @internal Record how a response was fetched. */
export function setTransport (response: object, choice: TransportChoice): void {
  responseTransports.set(response, choice)
}

/**
 * How `res` (a `Response` returned by `host.fetch`) was fetched: `{ transport: 'native' | 'stream', reason }`.
 * After a redirect it describes the hop that produced the final response.
 */
export function transportOf (res: Response): TransportChoice | undefined {
  return responseTransports.get(res)
}
