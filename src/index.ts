/**
 * libp2phttp: libp2p+HTTP for Node. Serve any HTTP handler to peers and fetch from them.
 *
 * @packageDocumentation
 */
export { createHTTPHost } from './host.js'
export type { HTTPHost, HTTPHostInit, Libp2pLike, FetchInit, CloseOptions } from './host.js'
export type { FetchTarget, DispatcherOptions } from './client.js'
export { remotePeer, serverPeer } from './identity.js'
export { nodeHandler, fetchHandler } from './handler.js'
export type { Handler, NodeHandler, TaggedHandler } from './handler.js'
export type { FetchHandler } from './fetch-handler.js'
export { parseMultiaddrURI, parseMultiaddr, peerHostname, peerFromHostname, MULTIADDR_URI_SCHEME } from './addressing.js'
export type { ParsedMultiaddr } from './addressing.js'
export { HTTP_STREAM_PROTOCOL } from './stream/server.js'
export { StreamSocket } from './stream/socket.js'
export type { StreamSocketInit } from './stream/socket.js'
export {
  LibP2PHTTPError,
  InvalidTargetError,
  NoLibp2pError,
  DialError,
  ProtocolNotSupportedError,
  StreamResetError,
  HostClosedError,
  InvalidHandlerError
} from './errors.js'
