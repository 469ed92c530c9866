/**
 * Fetch targets re-pointed at another path on the same server, and the name a target's server goes by.
 * A target keeps its kind (a peer stays a peer, a multiaddr keeps its addresses) so that the host picks
 * the same transport for it as for the original target.
 *
 * @module
 */
import { MULTIADDR_URI_SCHEME, parseMultiaddr, parseMultiaddrURI, peerFromHostname, requestTarget } from './addressing.js'
import { isMultiaddrLike, isPeerIdLike, peerField } from './client.js'
import { InvalidTargetError } from './errors.js'
import type { ParsedMultiaddr } from './addressing.js'
import type { FetchTarget } from './client.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Where a protocol's resource is: `path` (origin-form, query allowed; normalised so that `..` cannot
 * climb out) under the protocol's `prefix`, whose trailing `/` is dropped first (go's
 * `namespacedRoundTripper`). Without `path`, the prefix itself, as the peer listed it: that is the
 * protocol's URL (spec H-13), also when it has no trailing `/` (@libp2p/http lists `/echo`).
 */
export function protocolPath (prefix: string, path: string | undefined): string {
  if (path == null) {
    return requestTarget(prefix)
  }
  return requestTarget(`${prefix.replace(/\/$/, '')}${requestTarget(path)}`)
}

function withHttpPath (ma: Multiaddr, path: string): Multiaddr {
  const { addr } = parseMultiaddr(ma)
  // `/` has no /http-path component (multiaddr http-path.md); anything else is one percent-encoded segment.
  return path === '/' ? addr : addr.encapsulate(`/http-path/${encodeURIComponent(path.slice(1))}`)
}

function parseURL (text: string): URL {
  const url = URL.canParse(text) ? new URL(text) : undefined
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new InvalidTargetError(`not an http(s) URL or a multiaddr URI: ${text}`)
  }
  return url
}

/** A fetch target by kind. */
type Classified =
  | { kind: 'multiaddr-uri', addr: ParsedMultiaddr }
  | { kind: 'multiaddrs', list: Multiaddr[] }
  | { kind: 'url', url: URL }
  | { kind: 'peer', peer: PeerId }
  | { kind: 'peer-field', peer: PeerId | Multiaddr | string }

/** Sort a target into its kind, by the same rules as `resolveTarget` in client.ts. */
function classify (target: FetchTarget): Classified {
  if (typeof target === 'string' || target instanceof URL) {
    const text = target.toString()
    if (text.toLowerCase().startsWith(MULTIADDR_URI_SCHEME)) {
      return { kind: 'multiaddr-uri', addr: parseMultiaddrURI(text) }
    }
    return { kind: 'url', url: parseURL(text) }
  }
  if (Array.isArray(target)) {
    return { kind: 'multiaddrs', list: target }
  }
  if (isMultiaddrLike(target)) {
    return { kind: 'multiaddrs', list: [target] }
  }
  if (isPeerIdLike(target)) {
    return { kind: 'peer', peer: target }
  }
  if (target != null && typeof target === 'object' && 'peer' in target) {
    return { kind: 'peer-field', peer: target.peer }
  }
  throw new InvalidTargetError(`unsupported fetch target: ${Object.prototype.toString.call(target)}`)
}

/**
 * `target` pointed at `path` (origin-form, leading `/`) on the same server, replacing any path it had:
 * `{ peer, path }` for peers, a replaced or added `/http-path` for multiaddrs, a new path for URLs.
 *
 * @throws {InvalidTargetError} for targets of no known shape
 */
export function withPath (target: FetchTarget, path: string): FetchTarget {
  const classified = classify(target)
  switch (classified.kind) {
    case 'multiaddr-uri':
      return `${MULTIADDR_URI_SCHEME}${withHttpPath(classified.addr.addr, path).toString()}`
    case 'url':
      // Concatenated onto the origin: a path starting with '//' must not name another host.
      return `${classified.url.origin}${path}`
    case 'multiaddrs':
      return Array.isArray(target) ? classified.list.map(ma => withHttpPath(ma, path)) : withHttpPath(classified.list[0], path)
    case 'peer':
    case 'peer-field':
      return { peer: classified.peer, path }
  }
}

function keyOfMultiaddrs (parsed: ParsedMultiaddr[]): string {
  if (parsed.length === 0) {
    throw new InvalidTargetError('empty list of multiaddrs')
  }
  const peer = parsed.find(p => p.peer != null)?.peer
  return peer != null ? peer.toString() : `${MULTIADDR_URI_SCHEME}${parsed[0].addr.toString()}`
}

/**
 * The name of the server `target` reaches, without dialling: the peer id string when the target names a
 * peer (a `PeerId`, `{ peer }`, a multiaddr with `/p2p`, a URL whose host is a peer); otherwise the URL's
 * origin, or `multiaddr:` and the address for a multiaddr without `/p2p`.
 *
 * @throws {InvalidTargetError} for targets of no known shape
 */
export function targetKey (target: FetchTarget): string {
  const classified = classify(target)
  switch (classified.kind) {
    case 'multiaddr-uri':
      return keyOfMultiaddrs([classified.addr])
    case 'url':
      return peerFromHostname(classified.url.hostname)?.toString() ?? classified.url.origin
    case 'multiaddrs':
      return keyOfMultiaddrs(classified.list.map(ma => parseMultiaddr(ma)))
    case 'peer':
      return classified.peer.toString()
    case 'peer-field':
      return targetKey(peerField(classified.peer))
  }
}
