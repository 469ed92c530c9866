/**
 * The public surface, pinned (issue 17): every name `src/index.ts` exports, values and types, read by
 * the TypeScript compiler. A change to the list is a change to the package's contract: make it here on
 * purpose, and say it in CHANGELOG.md.
 */
import { describe, expect, it } from 'vitest'
import { exportedNames } from './helpers/exports.js'
import * as api from '../src/index.js'

const VALUES = [
  'BadResponseError', 'DialError', 'EXIT_PROTOCOL', 'EgressDeniedError', 'HTTP_STREAM_PROTOCOL', 'HostClosedError',
  'InsecureHTTPError', 'InvalidAuthOptionsError', 'InvalidHandlerError', 'InvalidLimitError', 'InvalidListenAddressError',
  'InvalidMountError', 'InvalidOptionError', 'InvalidProtocolMapError', 'InvalidTargetError', 'LibP2PHTTPError', 'ListenError',
  'MountConflictError', 'NoLibp2pError', 'NoTransportError', 'NotInBrowserError', 'PEER_ID_HEADER', 'PING_PROTOCOL', 'PeerAuthError',
  'PeerAuthHeaderError', 'PeerAuthNotReplayableError', 'PeerAuthRequiredError', 'PeerAuthUnsupportedError', 'PeerMismatchError',
  'PingError', 'ProtocolNotFoundError', 'ProtocolNotSupportedError', 'RedirectRefusedError', 'RelayLimitError',
  'RequestBodyTooLargeError', 'ResponseBodyTooLargeError', 'ResponseError', 'ResponseHeadersTooLargeError', 'ResponseTimeoutError',
  'StreamResetError', 'WELL_KNOWN_PATH', 'WellKnownError', 'WellKnownStatusError', 'WellKnownTimeoutError', 'WellKnownTooLargeError',
  'allowPeers', 'authenticationOf', 'createExit', 'createHTTPHost', 'fetchHandler', 'forwardProxy', 'forwardToPeer', 'gateway',
  'httpEndpoint', 'httpHost', 'invalidEntriesOf', 'isLibP2PHTTPError', 'memoryCacheStore', 'multiaddrFromBytes', 'multiaddrToBytes', 'multiaddrToURL',
  'nodeHandler', 'originalUrl', 'proxyTo', 'remotePeer', 'serverPeer', 'transportOf', 'urlToMultiaddr', 'withHTTPPath',
  'withKeptX25519Keys', 'withPeerIdAuth'
]

const TYPES = [
  'AccessOptions', 'Authentication', 'CacheStore', 'ClientLimits', 'ClientTLSOptions', 'CloseOptions', 'DiscoveryOptions', 'DispatcherOptions',
  'ExitOptions', 'FetchHandler', 'FetchInit', 'FetchTarget', 'ForwardOptions', 'ForwardProxy', 'ForwardProxyOptions',
  'GatewayHandler', 'GatewayOptions', 'HTTPEndpoint', 'HTTPHost', 'HTTPHostComponents', 'HTTPHostOptions', 'HTTPHostService', 'HTTPHostServiceOptions', 'Handler', 'HostCheckOptions',
  'HostProtocols', 'HostProtocolsOptions', 'InvalidProtocolEntry', 'Libp2pLike', 'ListenTLSOptions', 'MountOptions',
  'NodeHandler', 'NoiseX25519', 'PeerForwarder', 'PeerIdAuthOptions', 'PeerIdAuthServerOptions', 'PingOptions', 'ProtocolClient',
  'ProtocolClientInit', 'ProtocolFetchOptions', 'ProtocolMap', 'ProtocolsOptions', 'ProxyHandler', 'ProxyOptions',
  'ServerLimits', 'SetProtocolsOptions', 'StreamAlias', 'TaggedHandler', 'TransportChoice', 'TxtResolver', 'UpgradeListener',
  'WithPeerIdAuthOptions'
]

describe('the public surface (src/index.ts)', () => {
  it('exports exactly the reviewed names, values and types', () => {
    expect(exportedNames(new URL('../src/index.ts', import.meta.url).pathname)).toEqual([...VALUES, ...TYPES].sort())
  })

  it('its values are the reviewed values (what a JavaScript user can import)', () => {
    expect(Object.keys(api).sort()).toEqual([...VALUES].sort())
  })
})
