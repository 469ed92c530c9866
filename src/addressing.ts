/**
 * Addressing: `multiaddr:` URIs, `/http-path`, `/p2p`, and the URL origin that stands for a peer.
 *
 * A peer reached over `/http/1.1` streams is written in URLs as `http://<peer id as base36 CIDv1>/…`.
 * Base36 survives URL parsing, which lowercases hostnames (a base58 peer id would not), it is what
 * @libp2p/http sends as `Host`, and it lets redirects and undici's own `fetch` name a peer.
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_HTTP_PATH, CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { base36 } from 'multiformats/bases/base36'
import { InvalidTargetError } from './errors.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The URI scheme for multiaddrs (libp2p+HTTP spec, "Multiaddr URI scheme"). */
export const MULTIADDR_URI_SCHEME = 'multiaddr:'

/** A multiaddr split into where to connect and which HTTP resource to ask for. */
export interface ParsedMultiaddr {
  /** The multiaddr without its `/http-path` component (`/p2p` kept). */
  addr: Multiaddr
  /** The peer named by the last `/p2p` component, if any. */
  peer?: PeerId
  /** The request target from `/http-path` (path and query, percent-encoded, leading `/`), or `/`. */
  path: string
}

/**
 * Parse a `multiaddr:` URI (`multiaddr:/ip4/…/p2p/…/http-path/a%2Fb`).
 *
 * @throws {InvalidTargetError} when the text after the scheme is not a multiaddr
 */
export function parseMultiaddrURI (uri: string): ParsedMultiaddr {
  if (!uri.toLowerCase().startsWith(MULTIADDR_URI_SCHEME)) {
    throw new InvalidTargetError(`not a multiaddr URI (expected "${MULTIADDR_URI_SCHEME}/…"): ${uri}`)
  }
  let addr: Multiaddr
  try {
    addr = multiaddr(uri.slice(MULTIADDR_URI_SCHEME.length))
  } catch (err) {
    throw new InvalidTargetError(`invalid multiaddr in URI ${uri}: ${(err as Error).message}`, { cause: err })
  }
  return parseMultiaddr(addr)
}

/**
 * Split a multiaddr into its address part, its peer, and its `/http-path` request target.
 * `/http-path` must be the last component (multiaddr `http-path.md`).
 *
 * @throws {InvalidTargetError} for an `/http-path` that is not last, or an invalid `/p2p` value
 */
export function parseMultiaddr (ma: Multiaddr): ParsedMultiaddr {
  const components = ma.getComponents()
  let path = '/'
  const httpPathIndex = components.findIndex(c => c.code === CODE_HTTP_PATH)
  if (httpPathIndex !== -1) {
    if (httpPathIndex !== components.length - 1) {
      throw new InvalidTargetError(`/http-path must be the last component of ${ma.toString()}`)
    }
    path = requestTarget(components[httpPathIndex].value ?? '')
  }
  const addrComponents = httpPathIndex === -1 ? components : components.slice(0, httpPathIndex)
  const p2p = addrComponents.findLast(c => c.code === CODE_P2P)
  let peer: PeerId | undefined
  if (p2p?.value != null) {
    try {
      peer = peerIdFromString(p2p.value)
    } catch (err) {
      throw new InvalidTargetError(`invalid /p2p peer id "${p2p.value}" in ${ma.toString()}`, { cause: err })
    }
  }
  return { addr: multiaddr(addrComponents), peer, path }
}

/**
 * Turn a decoded `/http-path` value into an origin-form request target: a leading `/`, characters that
 * may not appear in a request line percent-encoded, existing `%XX` escapes and the query kept.
 */
export function requestTarget (decoded: string): string {
  const withSlash = decoded.startsWith('/') ? decoded : `/${decoded}`
  // Parse against a fixed origin so that '//host' or '/..' cannot move the request elsewhere.
  // A literal '#' in a decoded /http-path is part of the path, not the start of a fragment.
  const url = new URL(`http://h${withSlash.replaceAll('#', '%23')}`)
  return `${url.pathname}${url.search}`
}

/** The URL hostname that stands for `peer`: its peer id as a base36 CIDv1 (lowercase, URL-safe). */
export function peerHostname (peer: PeerId): string {
  return peer.toCID().toString(base36)
}

/** The peer a URL hostname stands for (see {@link peerHostname}), or `undefined` for any other hostname. */
export function peerFromHostname (hostname: string): PeerId | undefined {
  // Only base36 CIDv1 of the libp2p-key codec: a DNS name can never be mistaken for a peer.
  if (!hostname.startsWith('k')) {
    return undefined
  }
  try {
    const peer = peerIdFromString(hostname)
    return peerHostname(peer) === hostname ? peer : undefined
  } catch {
    return undefined
  }
}
