/**
 * The client side: one undici `Agent` whose `connect` opens `/http/1.1` streams for peer origins and
 * plain TCP/TLS sockets for everything else, and the translation of fetch targets into URLs.
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P } from '@multiformats/multiaddr'
import { Agent, Pool, buildConnector } from 'undici'
import { MULTIADDR_URI_SCHEME, parseMultiaddr, parseMultiaddrURI, peerFromHostname, peerHostname, requestTarget } from './addressing.js'
import { InvalidTargetError } from './errors.js'
import { createStreamConnector } from './stream/connect.js'
import type { StreamOpener } from './stream/connect.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Dispatcher } from 'undici'

/** Options for {@link createDispatcher}. */
export interface DispatcherOptions {
  /**
   * Requests in flight to one peer over `/http/1.1` streams; more wait in a queue. Each request is one
   * stream, and libp2p peers accept 32 inbound streams per protocol by default.
   *
   * @default 32
   */
  maxStreamsPerPeer?: number
  /**
   * Upper bound on dialling a peer and negotiating `/http/1.1`, in milliseconds.
   *
   * @default 30000
   */
  connectTimeout?: number
}

/** Build the dispatcher: undici's HTTP/1.1 client on libp2p streams for peer origins, undici's own sockets otherwise. */
export function createDispatcher (opener: StreamOpener, options: DispatcherOptions = {}): Dispatcher {
  const socketConnect = buildConnector({ timeout: options.connectTimeout ?? 30_000 })
  const streamConnect = createStreamConnector(opener, socketConnect, options.connectTimeout)
  return new Agent({
    factory: (origin, poolOptions) => {
      const { hostname } = new URL(origin)
      if (peerFromHostname(hostname) != null) {
        // One request per stream (libp2p+HTTP spec): keep-alive off, which also makes undici send
        // `Connection: close`.
        return new Pool(origin, {
          ...poolOptions,
          connect: streamConnect,
          pipelining: 0,
          connections: options.maxStreamsPerPeer ?? 32
        })
      }
      return new Pool(origin, { ...poolOptions, connect: socketConnect })
    }
  })
}

/** Where a fetch goes: a peer (and addresses to reach it) or a plain URL. */
export interface ResolvedTarget {
  /** The request URL handed to undici. */
  url: string
  /** The peer, when the target names one. */
  peer?: PeerId
  /** Addresses for the peer taken from the target. */
  addrs: Multiaddr[]
}

/** A fetch target: where to send the request. */
export type FetchTarget =
  | string
  | URL
  | Multiaddr
  | Multiaddr[]
  | PeerId
  | { peer: PeerId | Multiaddr | string, path?: string }

export function isPeerIdLike (value: unknown): value is PeerId {
  return value != null && typeof value === 'object' && typeof (value as PeerId).toCID === 'function' && typeof (value as PeerId).equals === 'function' && 'type' in value
}

export function isMultiaddrLike (value: unknown): value is Multiaddr {
  return value != null && typeof value === 'object' && typeof (value as Multiaddr).getComponents === 'function' && typeof (value as Multiaddr).encapsulate === 'function'
}

/**
 * The `peer` of `{ peer, path }` names a peer, so a string there is a peer id, or a multiaddr when it
 * starts with `/` or `multiaddr:` (parsed as a multiaddr URI, so errors are typed), never a URL.
 */
export function peerField (peer: PeerId | Multiaddr | string): FetchTarget {
  if (typeof peer !== 'string' || peer.toLowerCase().startsWith(MULTIADDR_URI_SCHEME)) {
    return peer
  }
  if (peer.startsWith('/')) {
    return `${MULTIADDR_URI_SCHEME}${peer}`
  }
  try {
    return peerIdFromString(peer)
  } catch (err) {
    throw new InvalidTargetError(`not a peer id: ${peer}`, { cause: err })
  }
}

function peerURL (peer: PeerId, path: string): string {
  return `http://${peerHostname(peer)}${path}`
}

/**
 * Resolve a fetch target into a URL. A multiaddr without `/p2p` is handed to `identify`, which dials it
 * to learn which peer answers.
 *
 * @throws {InvalidTargetError} for targets of no known shape
 */
export async function resolveTarget (target: FetchTarget, identify: (addr: Multiaddr) => Promise<PeerId>): Promise<ResolvedTarget> {
  if (typeof target === 'string' || target instanceof URL) {
    const text = target.toString()
    if (text.toLowerCase().startsWith(MULTIADDR_URI_SCHEME)) {
      return await fromMultiaddrs([parseMultiaddrURI(text)], identify)
    }
    let url: URL
    try {
      url = new URL(text)
    } catch (err) {
      throw new InvalidTargetError(`not a URL or multiaddr URI: ${text}`, { cause: err })
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidTargetError(`unsupported URL scheme ${url.protocol} in ${text}`)
    }
    return { url: url.toString(), peer: peerFromHostname(url.hostname), addrs: [] }
  }
  if (Array.isArray(target)) {
    if (target.length === 0) {
      throw new InvalidTargetError('empty list of multiaddrs')
    }
    return await fromMultiaddrs(target.map(ma => parseMultiaddr(ma)), identify)
  }
  if (isMultiaddrLike(target)) {
    return await fromMultiaddrs([parseMultiaddr(target)], identify)
  }
  if (isPeerIdLike(target)) {
    return { url: peerURL(target, '/'), peer: target, addrs: [] }
  }
  if (target != null && typeof target === 'object' && 'peer' in target) {
    const path = target.path == null ? '/' : requestTarget(target.path)
    const inner = await resolveTarget(peerField(target.peer), identify)
    if (inner.peer == null) {
      throw new InvalidTargetError('`peer` must name a peer (a PeerId, or a multiaddr with /p2p)')
    }
    return { url: peerURL(inner.peer, path), peer: inner.peer, addrs: inner.addrs }
  }
  throw new InvalidTargetError(`unsupported fetch target: ${Object.prototype.toString.call(target)}`)
}

async function fromMultiaddrs (parsed: Array<ReturnType<typeof parseMultiaddr>>, identify: (addr: Multiaddr) => Promise<PeerId>): Promise<ResolvedTarget> {
  const path = parsed[0].path
  let peer = parsed.find(p => p.peer != null)?.peer
  for (const p of parsed) {
    if (p.peer != null && peer != null && !p.peer.equals(peer)) {
      throw new InvalidTargetError(`the multiaddrs name different peers: ${peer.toString()} and ${p.peer.toString()}`)
    }
  }
  if (peer == null) {
    peer = await identify(parsed[0].addr)
  }
  // A bare /p2p/<id> carries no address: the peer store is asked instead. Addresses without /p2p get
  // it, so that the dial verifies the peer.
  const addrs = parsed
    .map(p => p.addr)
    .filter(addr => addr.getComponents().some(c => c.code !== CODE_P2P))
    .map(addr => addr.getComponents().some(c => c.code === CODE_P2P) ? addr : addr.encapsulate(`/p2p/${peer.toString()}`))
  return { url: peerURL(peer, path), peer, addrs }
}
