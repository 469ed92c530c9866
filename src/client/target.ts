/**
 * Fetch targets: what callers may pass to `host.fetch`, taken apart into a URL, a peer, addresses and a
 * request target, and then routed: a transport chosen ({@link selectTransport}) and the URL that the
 * dispatcher understands built (`http://<base36 peer id>/…` for streams, `https://host/…` for native).
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_DNSADDR, CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import {
  MULTIADDR_URI_SCHEME, httpEndpoint, isHTTPTransportAddress, normalizeHTTPAddress, parseMultiaddr,
  parseMultiaddrURI, peerHostname, peerOfURL, perMultiaddr, requestTarget
} from '../addr/addressing.js'
import { resolveDnsaddr } from '../addr/dnsaddr.js'
import { DialError, InvalidTargetError, LibP2PHTTPError } from '../errors.js'
import { LRUMap } from '../util/lru.js'
import { selectTransport } from './select.js'
import type { ParsedMultiaddr } from '../addr/addressing.js'
import type { TxtResolver } from '../addr/dnsaddr.js'
import type { Selection, SelectionOptions } from './select.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A fetch target: where to send the request. */
export type FetchTarget =
  | string
  | URL
  | Multiaddr
  | Multiaddr[]
  | PeerId
  | { peer: PeerId | Multiaddr | string, path?: string }

/** A fetch target taken apart. */
export interface TargetDescription {
  /** An http(s) URL that does not name a peer. */
  url?: URL
  /** The peer the target names. */
  peer?: PeerId
  /** The target's multiaddrs in order, without `/http-path`, `/https` written `/tls/http`. */
  addrs: Multiaddr[]
  /** The request target (path and query). */
  path: string
}

function isPeerIdLike (value: unknown): value is PeerId {
  return value != null && typeof value === 'object' && typeof (value as PeerId).toCID === 'function' && typeof (value as PeerId).equals === 'function' && 'type' in value
}

function isMultiaddrLike (value: unknown): value is Multiaddr {
  return value != null && typeof value === 'object' && typeof (value as Multiaddr).getComponents === 'function' && typeof (value as Multiaddr).encapsulate === 'function'
}

/**
 * The `peer` of `{ peer, path }` names a peer, so a string there is a peer id, or a multiaddr when it
 * starts with `/` or `multiaddr:` (parsed as a multiaddr URI, so errors are typed), never a URL.
 */
function peerField (peer: PeerId | Multiaddr | string): FetchTarget {
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

function fromParsed (parsed: ParsedMultiaddr[]): TargetDescription {
  const peer = parsed.find(p => p.peer != null)?.peer
  for (const p of parsed) {
    if (p.peer != null && peer != null && !p.peer.equals(peer)) {
      throw new InvalidTargetError(`the multiaddrs name different peers: ${peer.toString()} and ${p.peer.toString()}`)
    }
  }
  // A bare /p2p/<id> carries no address: the peer store is asked instead.
  const addrs = parsed
    .map(p => normalizeHTTPAddress(p.addr))
    .filter(addr => addr.getComponents().some(c => c.code !== CODE_P2P))
  return { peer, addrs, path: parsed[0].path }
}

/** Descriptions of recent `multiaddr:` URIs (immutable: multiaddrs, peer ids and strings only). */
const describedURIs = new LRUMap<string, TargetDescription>(256)

/**
 * Take a fetch target apart. Pure: nothing is dialled or resolved.
 *
 * @throws {InvalidTargetError} for targets of no known shape
 */
export function describeTarget (target: FetchTarget): TargetDescription {
  if (typeof target === 'string' || target instanceof URL) {
    const text = target.toString()
    if (text.toLowerCase().startsWith(MULTIADDR_URI_SCHEME)) {
      // the same URI is fetched again and again: parsing it (multiaddr, base58 peer id) is not free
      let described = describedURIs.get(text)
      if (described == null) {
        described = fromParsed([parseMultiaddrURI(text)])
        describedURIs.set(text, described)
      }
      return described
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
    const peer = peerOfURL(url)
    return peer == null ? { url, addrs: [], path: `${url.pathname}${url.search}` } : { peer, addrs: [], path: `${url.pathname}${url.search}` }
  }
  if (Array.isArray(target)) {
    if (target.length === 0) {
      throw new InvalidTargetError('empty list of multiaddrs')
    }
    return fromParsed(target.map(ma => parseMultiaddr(ma)))
  }
  if (isMultiaddrLike(target)) {
    return fromParsed([parseMultiaddr(target)])
  }
  if (isPeerIdLike(target)) {
    return { peer: target, addrs: [], path: '/' }
  }
  if (target != null && typeof target === 'object' && 'peer' in target) {
    const inner = describeTarget(peerField(target.peer))
    if (inner.url != null || (inner.peer == null && inner.addrs.length === 0)) {
      throw new InvalidTargetError('`peer` must name a peer (a PeerId, or a multiaddr)')
    }
    return { ...inner, path: target.path == null ? '/' : requestTarget(target.path) }
  }
  throw new InvalidTargetError(`unsupported fetch target: ${Object.prototype.toString.call(target)}`)
}

/** Where a request goes. */
export interface Route {
  /** The URL for the dispatcher. */
  url: string
  /** The transport chosen and why. */
  choice: Selection
  /** The peer, when the target names one (or dialling revealed it). */
  peer?: PeerId
  /**
   * The multiaddr the request went to (without `/http-path`), for writing a relative `Location` as an
   * absolute `multiaddr:` URI. Absent for URL targets.
   */
  addr?: Multiaddr
}

/** What routing needs from the host. */
export interface RouterContext {
  selection: SelectionOptions
  hasLibp2p: boolean
  canAuthenticateServer: boolean
  /** Why the named peer's HTTPS server cannot be proven, once tried (see `SelectionState.nativeUnproven`). */
  nativeUnproven?: string
  /** Whether a libp2p connection to `peer` is open. */
  isConnected: (peer: PeerId) => boolean
  /** Dial a multiaddr without `/p2p` to learn which peer answers. */
  identify: (addr: Multiaddr, signal?: AbortSignal) => Promise<PeerId>
  /** Looks up `_dnsaddr` TXT records. */
  resolveTxt: TxtResolver
  /**
   * Remember addresses for a peer, for the stream dial. `replace: false` (addresses from a redirect)
   * only fills in for a peer with none: a remote must not re-point a peer the caller named.
   */
  rememberAddresses: (peer: PeerId, addrs: Multiaddr[], options: { replace: boolean }) => void
  /** Note that the caller asked for this plain `http:` origin itself (not a redirect). */
  allowPlainOrigin: (origin: string) => void
  /** The URL hostname that reaches `connectHost` presenting `servername` (a `/tls/sni/<name>/http` address). */
  sniHostname: (connectHost: string, servername: string) => string
}

function streamAddrsOf (description: TargetDescription, peer: PeerId): Multiaddr[] {
  // Addresses without /p2p get it, so that the dial verifies the peer.
  return description.addrs
    .filter(ma => !isHTTPTransportAddress(ma))
    .map(ma => ma.getComponents().some(c => c.code === CODE_P2P) ? ma : ma.encapsulate(`/p2p/${peer.toString()}`))
}

function nativeRoute (description: TargetDescription, choice: Selection, context: RouterContext): Route {
  if (description.url != null) {
    return { url: description.url.toString(), choice }
  }
  const addr = choice.addr ?? description.addrs[0]
  const endpoint = httpEndpoint(addr)
  const origin = endpoint.connectHost == null
    ? endpoint.origin
    : `${endpoint.protocol}//${context.sniHostname(endpoint.connectHost, endpoint.hostname)}:${endpoint.port}`
  return { url: `${origin}${description.path}`, choice, peer: description.peer, addr }
}

function streamRoute (description: TargetDescription, choice: Selection, peer: PeerId, context: RouterContext, replace: boolean): Route {
  const addrs = streamAddrsOf(description, peer)
  if (addrs.length > 0) {
    context.rememberAddresses(peer, addrs, { replace })
  }
  return { url: `http://${peerHostname(peer)}${description.path}`, choice, peer, addr: addrs[0] ?? multiaddr(`/p2p/${peer.toString()}`) }
}

function choose (description: TargetDescription, context: RouterContext): Selection {
  return selectTransport(description, context.selection, {
    hasLibp2p: context.hasLibp2p,
    connected: description.peer != null && context.isConnected(description.peer),
    canAuthenticateServer: context.canAuthenticateServer,
    nativeUnproven: context.nativeUnproven
  })
}

const isDnsaddr = perMultiaddr((ma: Multiaddr): boolean => ma.getComponents().some(c => c.code === CODE_DNSADDR))

function hasDnsaddr (description: TargetDescription): boolean {
  return description.addrs.some(isDnsaddr)
}

/**
 * After `/dnsaddr` resolution the addresses may name several peers (a bootstrap list does): keep the
 * named peer (or the first one named) and the addresses that do not name another.
 */
function onePeer (description: TargetDescription): TargetDescription {
  const peerOf = (ma: Multiaddr): PeerId | undefined => parseMultiaddr(ma).peer
  const peer = description.peer ?? description.addrs.map(peerOf).find(p => p != null)
  if (peer == null) {
    return description
  }
  return { ...description, peer, addrs: description.addrs.filter(ma => peerOf(ma)?.equals(peer) ?? true) }
}

/**
 * Route a fetch target: resolve `/dnsaddr`, choose the transport, and build the dispatcher URL. A
 * stream target without `/p2p` is dialled to learn its peer. `signal` bounds the lookups and the dial.
 *
 * @throws {InvalidTargetError} | {DialError} and the errors of {@link selectTransport}
 */
export async function routeTarget (target: FetchTarget, context: RouterContext, signal?: AbortSignal): Promise<Route> {
  let description = describeTarget(target)
  if (hasDnsaddr(description)) {
    const resolved = await resolveDnsaddr(description.addrs, context.resolveTxt, { signal })
    description = onePeer({ ...description, addrs: resolved.map(normalizeHTTPAddress) })
  }
  const choice = choose(description, context)
  if (choice.transport === 'native') {
    const route = nativeRoute(description, choice, context)
    if (description.url?.protocol === 'http:') {
      context.allowPlainOrigin(description.url.origin)
    }
    return route
  }
  const peer = description.peer ?? await identify(description.addrs.filter(ma => !isHTTPTransportAddress(ma))[0], context, signal)
  return streamRoute(description, choice, peer, context, true)
}

async function identify (addr: Multiaddr, context: RouterContext, signal?: AbortSignal): Promise<PeerId> {
  try {
    return await context.identify(addr, signal)
  } catch (err) {
    if (err instanceof LibP2PHTTPError || signal?.aborted === true) {
      throw err
    }
    throw new DialError(addr.toString(), `could not dial ${addr.toString()} to learn its peer id: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Route a `multiaddr:` URI without waiting: for a `Location` header, which must be rewritten while the
 * response is being parsed. Targets that need a lookup first (`/dnsaddr`, a stream address without
 * `/p2p`) are refused.
 *
 * @throws {InvalidTargetError} and the errors of {@link selectTransport}
 */
export function routeLocation (uri: string, context: RouterContext): Route {
  const description = describeTarget(uri)
  if (hasDnsaddr(description)) {
    throw new InvalidTargetError(`a redirect to ${uri} cannot be followed: /dnsaddr in a Location is not resolved`)
  }
  const choice = choose(description, context)
  if (choice.transport === 'native') {
    return nativeRoute(description, choice, context)
  }
  if (description.peer == null) {
    throw new InvalidTargetError(`a redirect to ${uri} cannot be followed: a libp2p address in a Location must name its peer with /p2p`)
  }
  return streamRoute(description, choice, description.peer, context, false)
}
