/**
 * What a host takes from js-libp2p, stated once ({@link HostNode}), and the two ways it gets it: from
 * the components a js-libp2p node gives its services (`httpHost()`, `service.ts`), which hold all of
 * it, and from a node passed to `createHTTPHost({ libp2p })`, whose public interface lacks the private
 * key and the registrar's middleware: those two are read from the node's `components` field, here and
 * nowhere else, and are optional (without them, no Peer ID Authentication with the node's key, and
 * every stream negotiated in full).
 *
 * @module
 */
import type { StreamDialer } from './stream/connect.js'
import type { DirectDialer } from './stream/direct.js'
import type { StreamRegistrar } from './stream/server.js'
import type { AbortOptions, Connection, Metrics, PeerId, PrivateKey, Stream, StreamHandlerOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Everything a host uses of a js-libp2p node, passed explicitly. */
export interface HostNode extends StreamRegistrar, StreamDialer {
  readonly peerId: PeerId
  /** The node's own addresses (its address manager's). */
  getMultiaddrs: () => Multiaddr[]
  /** The node's identity key: it signs for Peer ID Authentication when `auth.privateKey` is not given. */
  readonly privateKey?: PrivateKey
}

/**
 * The components a js-libp2p node gives the `httpHost()` service: the parts of its registrar, connection
 * manager and address manager the host calls, its identity, metrics and logger. js-libp2p's own
 * `Components` fits; each part is narrowed to what is used so that a test can stub it.
 */
export interface HTTPHostComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: {
    handle: (protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: StreamHandlerOptions) => Promise<void>
    unhandle: (protocol: string) => Promise<void>
    /** The stream middleware registered for `protocol`: a stream with middleware is negotiated in full. */
    getMiddleware: (protocol: string) => unknown[]
  }
  connectionManager: {
    openConnection: (peer: PeerId | Multiaddr | Multiaddr[], options?: AbortOptions) => Promise<Connection>
    getConnections: (peer?: PeerId) => Connection[]
  }
  addressManager: { getAddresses: () => Multiaddr[] }
  /** Where peers are known to be: a peer reached only through a relay is dialled there (`stream/direct.ts`). */
  peerStore?: NonNullable<HostNode['peerStore']>
  /** The node's events (`peer:identify`). */
  events?: Pick<NonNullable<DirectDialer['events']>, 'addEventListener' | 'removeEventListener'>
  metrics?: Pick<Metrics, 'trackProtocolStream'>
  logger: { forComponent: (name: string) => (formatter: string, ...args: unknown[]) => void }
}

/** The host's view of a service's components. */
export function hostNodeOfComponents (components: HTTPHostComponents): HostNode {
  return {
    peerId: components.peerId,
    privateKey: components.privateKey,
    getMultiaddrs: () => components.addressManager.getAddresses(),
    handle: async (protocol, handler, options) => { await components.registrar.handle(protocol, handler, options) },
    unhandle: async (protocol) => { await components.registrar.unhandle(protocol) },
    getMiddleware: (protocol) => components.registrar.getMiddleware(protocol),
    dial: async (target, options) => await components.connectionManager.openConnection(target, options),
    getConnections: (peer) => components.connectionManager.getConnections(peer),
    // js-libp2p's components throw for a component that is missing, but not for `metrics`
    metrics: components.metrics,
    peerStore: readOptional(() => components.peerStore),
    ...eventsOf(readOptional(() => components.events))
  }
}

function eventsOf (events: HTTPHostComponents['events']): Pick<HostNode, 'addEventListener' | 'removeEventListener'> {
  return events == null ? {} : { addEventListener: events.addEventListener.bind(events), removeEventListener: events.removeEventListener.bind(events) }
}

/** The part of a js-libp2p node `createHTTPHost` uses. A `Libp2p` from `createLibp2p` fits. */
export interface Libp2pLike extends StreamRegistrar, StreamDialer {
  peerId: PeerId
  getMultiaddrs: () => Multiaddr[]
  /** Open connections (to `peer`): reused for requests, and a reason to prefer the stream transport. */
  getConnections?: (peer?: PeerId) => Connection[]
}

/** What js-libp2p 3's node class holds beyond its `Libp2p` interface (`libp2p/src/libp2p.ts`). */
interface NodeInternals {
  components?: {
    privateKey?: unknown
    registrar?: { getMiddleware?: unknown }
    metrics?: unknown
  }
}

/**
 * The host's view of a node passed to `createHTTPHost`. The key, the middleware and the metrics come
 * from the node's private `components` (what its own services are given), when it has them; a node
 * built with `httpHost()` as a service gets them without this.
 */
export function hostNodeOfLibp2p (libp2p: Libp2pLike): HostNode {
  const components = readOptional(() => (libp2p as NodeInternals).components)
  const key = readOptional(() => components?.privateKey)
  const registrar = readOptional(() => components?.registrar)
  const metrics = readOptional(() => components?.metrics)
  const getMiddleware = typeof registrar?.getMiddleware === 'function' ? registrar.getMiddleware as (protocol: string) => unknown[] : undefined
  return {
    get peerId () { return libp2p.peerId },
    privateKey: key != null && typeof (key as PrivateKey).sign === 'function' ? key as PrivateKey : undefined,
    getMultiaddrs: () => libp2p.getMultiaddrs(),
    handle: async (protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: StreamHandlerOptions) => { await libp2p.handle(protocol, handler, options) },
    unhandle: async (protocol) => { await libp2p.unhandle(protocol) },
    dial: async (target, options) => await libp2p.dial(target, options),
    getConnections: libp2p.getConnections == null ? undefined : (peer) => libp2p.getConnections?.(peer) ?? [],
    getMiddleware: getMiddleware == null ? undefined : (protocol) => getMiddleware.call(registrar, protocol),
    metrics: metrics != null && typeof (metrics as Metrics).trackProtocolStream === 'function' ? metrics as Metrics : undefined,
    // a peer reached only through a relay goes direct when these say where it is (stream/direct.ts)
    peerStore: libp2p.peerStore,
    addEventListener: libp2p.addEventListener?.bind(libp2p),
    removeEventListener: libp2p.removeEventListener?.bind(libp2p)
  }
}

/** `read()`, or undefined when it throws (js-libp2p's components throw for a component that is not set). */
function readOptional<T> (read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}
