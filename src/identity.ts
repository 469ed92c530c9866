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

/** How the peer behind a request was authenticated (see {@link authenticationOf}). */
export type Authentication = 'libp2p-connection' | 'peer-id-auth' | 'peer-id-auth-token'

const requestAuthentications = new WeakMap<object, Authentication>()

/** @internal Record how the client of a request was authenticated by Peer ID Authentication. */
export function setAuthentication (request: object, how: Authentication): void {
  requestAuthentications.set(request, how)
}

/**
 * How {@link remotePeer}'s answer for `req` was established: `'libp2p-connection'` (a `/http/1.1`
 * stream: the connection's handshake), `'peer-id-auth'` (a `libp2p-PeerID` handshake completed on this
 * request) or `'peer-id-auth-token'` (a bearer token from an earlier handshake); `undefined` for an
 * unauthenticated client. The `libp2p-PeerID` `Authorization` header itself is removed before handlers
 * run, so that nothing downstream can replay it.
 */
export function authenticationOf (req: IncomingMessage | Request): Authentication | undefined {
  const known = requestAuthentications.get(req)
  if (known != null) {
    return known
  }
  const socket = (req as { socket?: unknown }).socket
  return socket instanceof StreamSocket ? 'libp2p-connection' : undefined
}
