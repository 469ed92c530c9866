/**
 * libp2phttp in a web page: the package's `browser` entry (export condition `browser`), chosen by
 * bundlers for browser builds. The same names as the Node entry where a browser can do the work
 * (`createHTTPHost` with fetch-style handlers, fetching over `/http/1.1` streams and the browser's own
 * `fetch`, protocols, the multiaddr ⇄ URL helpers, the errors). The Node-only exports are here too, so
 * that code written for both platforms still bundles, and throw {@link NotInBrowserError}
 * (`ERR_NOT_IN_BROWSER`) naming themselves when called. The list is pinned by `test/browser-entry.test.ts`.
 *
 * @packageDocumentation
 */
import { NotInBrowserError } from './errors.js'

// the host
export { createHTTPHost } from './web/host.js'
export type { BrowserHTTPHost, BrowserHTTPHostOptions, BrowserHostProtocols, BrowserFetchInit, WebHandler, WebErrorListener } from './web/host.js'
export type { CloseOptions } from './host.js'
export type { Libp2pLike } from './node.js'
export type { ServerLimits } from './server/limit-values.js'
export type { ClientLimits } from './client/dispatcher.js'
export type { FetchTarget } from './client/target.js'
export type { TxtResolver } from './addr/dnsaddr.js'

// who is at the other end, and how a response came
export { remotePeer, serverPeer, transportOf, authenticationOf } from './identity.js'
export type { Authentication } from './identity.js'
export type { TransportChoice } from './errors.js'
export { originalUrl } from './server/original-url.js'
export type { FetchHandler } from './server/fetch-handler.js'
export type { MountOptions } from './server/mount.js'

// protocols: the well-known map, discovery, ping
export type { HostProtocolsOptions, ProtocolFetchOptions, ProtocolClient, ProtocolClientInit } from './protocols/service.js'
export type { DiscoveryOptions, ProtocolsOptions, SetProtocolsOptions } from './protocols/discovery.js'
export { WELL_KNOWN_PATH, invalidEntriesOf } from './protocols/well-known.js'
export type { ProtocolMap, InvalidProtocolEntry } from './protocols/well-known.js'
export { PING_PROTOCOL } from './protocols/ping.js'
export type { PingOptions } from './protocols/ping.js'
export { HTTP_STREAM_PROTOCOL } from './stream/protocol.js'

// multiaddr ⇄ URL
export { multiaddrToURL, urlToMultiaddr, withHTTPPath, httpEndpoint, multiaddrFromBytes, multiaddrToBytes } from './addr/addressing.js'
export type { HTTPEndpoint } from './addr/addressing.js'

/** A fetch-style handler, as the browser host serves them: `fetchHandler(fn)` is `fn` (Node tags it). */
export function fetchHandler<F extends (request: Request) => Response | Promise<Response>> (fn: F): F {
  return fn
}

/** An export of the Node entry that has no browser counterpart: it throws, naming itself, when called. */
function nodeOnly (feature: string, why: string): (...args: any[]) => never {
  const fn = (): never => { throw new NotInBrowserError(feature, why) }
  Object.defineProperty(fn, 'name', { value: feature })
  return fn
}

const NODE_HANDLERS = 'Node (req, res) listeners run on Node\'s http server; in the browser, serve fetch-style handlers'
const PROXY = 'the proxy tools reach TCP services and listen on local ports, which a web page cannot'

/** Node-only: wraps a Node `(req, res)` listener. @throws {NotInBrowserError} */
export const nodeHandler = nodeOnly('nodeHandler', NODE_HANDLERS)
/** Node-only: the host as a js-libp2p service builds on Node's HTTP server. @throws {NotInBrowserError} */
export const httpHost = nodeOnly('httpHost', 'the service form of the host runs Node\'s HTTP server; in the browser, call createHTTPHost({ libp2p })')
/** Node-only: Peer ID Authentication of clients runs on native listeners. @throws {NotInBrowserError} */
export const withPeerIdAuth = nodeOnly('withPeerIdAuth', 'it authenticates clients of native HTTPS listeners, which a web page does not have')
/** Node-only. @throws {NotInBrowserError} */
export const proxyTo = nodeOnly('proxyTo', PROXY)
/** Node-only. @throws {NotInBrowserError} */
export const allowPeers = nodeOnly('allowPeers', NODE_HANDLERS)
/** Node-only. @throws {NotInBrowserError} */
export const forwardToPeer = nodeOnly('forwardToPeer', PROXY)
/** Node-only. @throws {NotInBrowserError} */
export const gateway = nodeOnly('gateway', PROXY)
/** Node-only. @throws {NotInBrowserError} */
export const memoryCacheStore = nodeOnly('memoryCacheStore', 'it is the gateway\'s cache, and the gateway is Node-only')
/** Node-only. @throws {NotInBrowserError} */
export const createExit = nodeOnly('createExit', PROXY)
/** Node-only. @throws {NotInBrowserError} */
export const forwardProxy = nodeOnly('forwardProxy', PROXY)

// errors: match on `code`; `instanceof` and isLibP2PHTTPError work across copies of the package
export {
  LibP2PHTTPError,
  isLibP2PHTTPError,
  NotInBrowserError,
  InvalidOptionError,
  InvalidTargetError,
  NoLibp2pError,
  DialError,
  ProtocolNotSupportedError,
  StreamResetError,
  RelayLimitError,
  HostClosedError,
  InvalidHandlerError,
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
  InvalidLimitError
} from './errors.js'
