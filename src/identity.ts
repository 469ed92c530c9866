/**
 * Who is at the other end: `remotePeer(req)` on the server side, `serverPeer(res)` on the client side.
 * Identities come only from authenticated sources (the libp2p connection's security handshake), never
 * from headers a remote could write.
 *
 * @module
 */
import type { TransportChoice } from './errors.js'
import type { PeerId } from '@libp2p/interface'
import type { IncomingMessage } from 'node:http'

// What is known about a request, a response or a stream socket is kept on the object itself under keys
// in the global symbol registry, not in a WeakMap of this module: a handler may call `remotePeer` from
// another copy of the package (its ESM build beside a CJS one, two versions) than the host that served
// the request, and must get the same answer. The properties are not enumerable.
const REMOTE_PEER = Symbol.for('libp2phttp.remotePeer')
const SERVER_PEER = Symbol.for('libp2phttp.serverPeer')
const TRANSPORT = Symbol.for('libp2phttp.transport')
const AUTHENTICATION = Symbol.for('libp2phttp.authentication')
/** Set on a stream socket (`StreamSocket`): the peer at the other end of its libp2p connection. */
export const STREAM_PEER = Symbol.for('libp2phttp.streamPeer')

function record (target: object, key: symbol, value: unknown): void {
  Object.defineProperty(target, key, { value, configurable: true, enumerable: false, writable: false })
}

function recorded<T> (target: unknown, key: symbol): T | undefined {
  return target != null && typeof target === 'object' ? (target as Record<symbol, T | undefined>)[key] : undefined
}

/** The peer of the `/http/1.1` stream a request came on, when it came on one (by any copy of the package). */
function streamPeerOf (req: object): PeerId | undefined {
  return recorded<PeerId>((req as { socket?: unknown }).socket, STREAM_PEER)
}

/** @internal Record the authenticated client of a request object (a WHATWG `Request` made for a fetch-style handler). */
export function setRemotePeer (request: object, peer: PeerId | undefined): void {
  if (peer != null) {
    record(request, REMOTE_PEER, peer)
  }
}

/** @internal Record the authenticated server of a response. */
export function setServerPeer (response: object, peer: PeerId | undefined): void {
  if (peer != null) {
    record(response, SERVER_PEER, peer)
  }
}

/**
 * The authenticated PeerId of the client that sent `req`, or `undefined` when the client is not
 * authenticated (a plain HTTPS request).
 *
 * Accepts Node's `IncomingMessage` (Express and Fastify pass it as `req`, Koa as `ctx.req`) and the
 * WHATWG `Request` given to fetch-style handlers (Hono: `c.req.raw`). Works on requests served by
 * another copy of the package too.
 *
 * @example
 * ```ts
 * host.serve((req, res) => { res.end(`hello ${remotePeer(req)?.toString()}`) })
 * ```
 */
export function remotePeer (req: IncomingMessage | Request): PeerId | undefined {
  return recorded<PeerId>(req, REMOTE_PEER) ?? streamPeerOf(req)
}

/**
 * The authenticated PeerId of the server that sent `res` (a `Response` returned by `host.fetch`), or
 * `undefined` when the server was not authenticated. Over `/http/1.1` streams the connection's
 * security handshake authenticates the server; after redirects it is the peer that sent the final response.
 * Works on responses fetched by another copy of the package too.
 */
export function serverPeer (res: Response): PeerId | undefined {
  return recorded<PeerId>(res, SERVER_PEER)
}

/** @internal Record how a response was fetched. */
export function setTransport (response: object, choice: TransportChoice): void {
  record(response, TRANSPORT, choice)
}

/**
 * How `res` (a `Response` returned by `host.fetch`) was fetched: `{ transport: 'native' | 'stream', reason }`.
 * After a redirect it describes the hop that produced the final response.
 */
export function transportOf (res: Response): TransportChoice | undefined {
  return recorded<TransportChoice>(res, TRANSPORT)
}

/** How the peer behind a request was authenticated (see {@link authenticationOf}). */
export type Authentication = 'libp2p-connection' | 'peer-id-auth' | 'peer-id-auth-token'

/** @internal Record how the client of a request was authenticated by Peer ID Authentication. */
export function setAuthentication (request: object, how: Authentication): void {
  record(request, AUTHENTICATION, how)
}

/**
 * How {@link remotePeer}'s answer for `req` was established: `'libp2p-connection'` (a `/http/1.1`
 * stream: the connection's handshake), `'peer-id-auth'` (a `libp2p-PeerID` handshake completed on this
 * request) or `'peer-id-auth-token'` (a bearer token from an earlier handshake); `undefined` for an
 * unauthenticated client. The `libp2p-PeerID` `Authorization` header itself is removed before handlers
 * run, so that nothing downstream can replay it.
 */
export function authenticationOf (req: IncomingMessage | Request): Authentication | undefined {
  return recorded<Authentication>(req, AUTHENTICATION) ?? (streamPeerOf(req) != null ? 'libp2p-connection' : undefined)
}
