/**
 * libp2phttp: libp2p+HTTP for Node. Serve any HTTP handler to peers and fetch from them.
 *
 * @packageDocumentation
 */
export { createHTTPHost } from './host.js'
export type { HTTPHost, HTTPHostInit, Libp2pLike, FetchInit, CloseOptions } from './host.js'
export { httpHost } from './service.js'
export type { HTTPHostService, HTTPHostServiceInit, HTTPHostComponents } from './service.js'
export type { DispatcherOptions, ClientTLSOptions, ClientLimits } from './client/dispatcher.js'
export type { ServerLimits } from './server/limits.js'
export type { FetchTarget } from './client/target.js'
export { selectTransport } from './client/select.js'
export type { Selection, SelectionOptions, SelectionState, SelectionTarget } from './client/select.js'
export type { ListenTLSOptions } from './server/native.js'
export type { TxtResolver } from './addr/dnsaddr.js'
export { remotePeer, serverPeer, transportOf, authenticationOf } from './identity.js'
export type { Authentication } from './identity.js'
export { proxyTo } from './proxy/upstream.js'
export type { ProxyHandler, ProxyOptions, UpgradeListener } from './proxy/upstream.js'
export { PEER_ID_HEADER } from './proxy/headers.js'
export { allowPeers } from './proxy/access.js'
export type { HostCheckOptions } from './proxy/host-check.js'
export type { AccessOptions } from './proxy/access.js'
export { forwardToPeer } from './proxy/consumer.js'
export type { ForwardOptions, PeerForwarder } from './proxy/consumer.js'
export { gateway, parseGatewayPath } from './proxy/gateway.js'
export type { GatewayHandler, GatewayOptions, GatewayPath } from './proxy/gateway.js'
export { keepConnected } from './proxy/redial.js'
export type { RedialNode, RedialOptions } from './proxy/redial.js'
export { createExit, EXIT_PROTOCOL, CONNECT_UPGRADE } from './proxy/exit.js'
export type { ExitOptions } from './proxy/exit.js'
export { forwardProxy } from './proxy/forward.js'
export type { ForwardProxy, ForwardProxyOptions } from './proxy/forward.js'
export { egressPolicy, parseEgressRule } from './proxy/egress.js'
export type { EgressPolicy, EgressRule } from './proxy/egress.js'
export { withPeerIdAuth } from './auth/server.js'
export type { PeerIdAuthServerOptions, AuthServerInit } from './auth/server.js'
export type { PeerIdAuthOptions } from './auth/identity-key.js'
export { PEER_ID_AUTH_SCHEME } from './auth/params.js'
export { originalUrl } from './server/original-url.js'
export type { HostProtocols, ProtocolsInit, ProtocolFetchOptions, ProtocolClient, ProtocolClientInit } from './protocols/service.js'
export type { MountOptions } from './server/mount.js'
export type { DiscoveryInit, ProtocolsOptions, SetProtocolsOptions } from './protocols/discovery.js'
export { WELL_KNOWN_MAX_BYTES } from './protocols/discovery.js'
export { WELL_KNOWN_PATH, LEGACY_WELL_KNOWN_PATH, invalidEntriesOf } from './protocols/well-known.js'
export type { ProtocolMap, InvalidProtocolEntry } from './protocols/well-known.js'
export { PING_PROTOCOL, PING_SIZE } from './protocols/ping.js'
export type { PingOptions } from './protocols/ping.js'
export { nodeHandler, fetchHandler } from './server/handler.js'
export type { Handler, NodeHandler, TaggedHandler } from './server/handler.js'
export type { FetchHandler } from './server/fetch-handler.js'
export {
  parseMultiaddrURI, parseMultiaddr, peerHostname, peerFromHostname, peerOfURL, MULTIADDR_URI_SCHEME, isHTTPTransportAddress,
  httpEndpoint, multiaddrToURL, urlToMultiaddr, withHTTPPath, normalizeHTTPAddress, multiaddrFromBytes, multiaddrToBytes
} from './addr/addressing.js'
export type { ParsedMultiaddr, HTTPEndpoint } from './addr/addressing.js'
export { HTTP_STREAM_PROTOCOL } from './stream/server.js'
export type { StreamAlias } from './stream/alias.js'
export { StreamSocket } from './stream/socket.js'
export type { StreamSocketInit } from './stream/socket.js'
export {
  LibP2PHTTPError,
  InvalidTargetError,
  NoLibp2pError,
  DialError,
  ProtocolNotSupportedError,
  StreamResetError,
  RelayLimitError,
  HostClosedError,
  InvalidHandlerError,
  InvalidListenAddressError,
  ListenError,
  InsecureHTTPError,
  NoTransportError,
  PeerAuthRequiredError,
  InvalidMountError,
  MountConflictError,
  WellKnownError,
  WellKnownStatusError,
  WellKnownTooLargeError,
  WellKnownTimeoutError,
  InvalidProtocolMapError,
  ProtocolNotFoundError,
  PingError,
  RedirectRefusedError,
  ResponseError,
  BadResponseError,
  ResponseHeadersTooLargeError,
  ResponseTimeoutError,
  ResponseBodyTooLargeError,
  PeerAuthHeaderError,
  PeerAuthError,
  PeerAuthUnsupportedError,
  PeerMismatchError,
  PeerAuthNotReplayableError,
  InvalidAuthOptionsError,
  RequestBodyTooLargeError,
  InvalidLimitError,
  UsageError,
  KeyFileError,
  UnsafeFileError,
  EgressDeniedError
} from './errors.js'
export type { TransportChoice } from './errors.js'
