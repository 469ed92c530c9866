/**
 * libp2phttp: libp2p+HTTP for Node. Serve any HTTP handler to peers and fetch from them.
 *
 * The entry point holds what a program using the README needs: the host and its options, the
 * identity helpers, the handler markers, the proxy pieces, the multiaddr ⇄ URL helpers, the protocol
 * ids, and the errors. Everything else is internal; the list is pinned by `test/index.test.ts`.
 *
 * @packageDocumentation
 */

// the host
export { createHTTPHost } from './host.js'
export type { HTTPHost, HTTPHostOptions, Libp2pLike, FetchInit, CloseOptions } from './host.js'
export { httpHost } from './service.js'
export type { HTTPHostService, HTTPHostServiceOptions, HTTPHostComponents } from './service.js'
export type { DispatcherOptions, ClientTLSOptions, ClientLimits } from './client/dispatcher.js'
export type { ServerLimits } from './server/limits.js'
export type { ListenTLSOptions } from './server/native.js'
export type { FetchTarget } from './client/target.js'
export type { TxtResolver } from './addr/dnsaddr.js'
export type { PeerIdAuthOptions } from './auth/identity-key.js'
export type { PeerIdAuthServerOptions } from './auth/server.js'
export type { StreamAlias } from './stream/alias.js'

// who is at the other end, and how a response came
export { remotePeer, serverPeer, transportOf, authenticationOf } from './identity.js'
export type { Authentication } from './identity.js'
export type { TransportChoice } from './errors.js'

// handlers
export { nodeHandler, fetchHandler } from './server/handler.js'
export type { Handler, NodeHandler, TaggedHandler } from './server/handler.js'
export type { FetchHandler } from './server/fetch-handler.js'
export { originalUrl } from './server/original-url.js'
export type { MountOptions } from './server/mount.js'
export { withPeerIdAuth } from './auth/server.js'
export type { WithPeerIdAuthOptions } from './auth/server.js'

// protocols: the well-known map, discovery, ping
export type { HostProtocols, HostProtocolsOptions, ProtocolFetchOptions, ProtocolClient, ProtocolClientInit } from './protocols/service.js'
export type { DiscoveryOptions, ProtocolsOptions, SetProtocolsOptions } from './protocols/discovery.js'
export { WELL_KNOWN_PATH, invalidEntriesOf } from './protocols/well-known.js'
export type { ProtocolMap, InvalidProtocolEntry } from './protocols/well-known.js'
export { PING_PROTOCOL } from './protocols/ping.js'
export type { PingOptions } from './protocols/ping.js'
export { HTTP_STREAM_PROTOCOL } from './stream/server.js'
export { withKeptX25519Keys } from './stream/noise-x25519.js'
export type { NoiseX25519 } from './stream/noise-x25519.js'

// multiaddr ⇄ URL
export { multiaddrToURL, urlToMultiaddr, withHTTPPath, httpEndpoint, multiaddrFromBytes, multiaddrToBytes } from './addr/addressing.js'
export type { HTTPEndpoint } from './addr/addressing.js'

// exposing and reaching HTTP services through peers
export { proxyTo } from './proxy/upstream.js'
export type { ProxyHandler, ProxyOptions, UpgradeListener } from './proxy/upstream.js'
export { PEER_ID_HEADER } from './proxy/headers.js'
export { allowPeers } from './proxy/access.js'
export type { AccessOptions } from './proxy/access.js'
export { forwardToPeer } from './proxy/consumer.js'
export type { ForwardOptions, PeerForwarder } from './proxy/consumer.js'
export type { HostCheckOptions } from './proxy/host-check.js'
export { gateway } from './proxy/gateway.js'
export type { GatewayHandler, GatewayOptions } from './proxy/gateway.js'
export { memoryCacheStore } from './proxy/cache.js'
export type { CacheStore } from './proxy/cache.js'
export { createExit, EXIT_PROTOCOL } from './proxy/exit.js'
export type { ExitOptions } from './proxy/exit.js'
export { forwardProxy } from './proxy/forward.js'
export type { ForwardProxy, ForwardProxyOptions } from './proxy/forward.js'

// errors: match on `code`; `instanceof` and isLibP2PHTTPError work across copies of the package
export {
  LibP2PHTTPError,
  isLibP2PHTTPError,
  InvalidOptionError,
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
  EgressDeniedError,
  NotInBrowserError
} from './errors.js'
