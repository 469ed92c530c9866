/**
 * Addressing: `multiaddr:` URIs, `/http-path`, `/p2p`, HTTP transport multiaddrs ⇄ URLs, and the URL origin
 * that stands for a peer.
 *
 * A peer reached over `/http/1.1` streams is written in URLs as `http://<peer id as base36 CIDv1>/…`.
 * Base36 survives URL parsing, which lowercases hostnames (a base58 peer id would not), it is what
 * @libp2p/http sends as `Host`, and it lets redirects and undici's own `fetch` name a peer.
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import {
  CODE_DNS, CODE_DNS4, CODE_DNS6, CODE_DNSADDR, CODE_HTTP, CODE_HTTPS, CODE_HTTP_PATH, CODE_IP4, CODE_IP6,
  CODE_P2P, CODE_P2P_CIRCUIT, CODE_SNI, CODE_TCP, CODE_TLS, multiaddr
} from '@multiformats/multiaddr'
import { base36 } from 'multiformats/bases/base36'
import { varint } from 'multiformats'
import { InvalidTargetError } from '../errors.js'
import { LRUMap } from '../util/lru.js'
import type { PeerId } from '@libp2p/interface'
import type { Component, Multiaddr } from '@multiformats/multiaddr'

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
  assertPrintable(ma)
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

// Every request converts between peers and hostnames several times (routing, the dispatcher, identity);
// base36 encoding is not free, so recent conversions are remembered.
const hostnames = new WeakMap<PeerId, string>()
const peersByHostname = new LRUMap<string, PeerId>(1024)

/** The URL hostname that stands for `peer`: its peer id as a base36 CIDv1 (lowercase, URL-safe). */
export function peerHostname (peer: PeerId): string {
  let hostname = hostnames.get(peer)
  if (hostname == null) {
    hostname = peer.toCID().toString(base36)
    hostnames.set(peer, hostname)
  }
  return hostname
}

/**
 * The peer a URL hostname stands for (see {@link peerHostname}), or `undefined` for any other hostname.
 * Whether a URL names a peer depends on its scheme too: ask {@link peerOfURL}.
 */
export function peerFromHostname (hostname: string): PeerId | undefined {
  // Only base36 CIDv1 of the libp2p-key codec: a DNS name can never be mistaken for a peer.
  if (!hostname.startsWith('k')) {
    return undefined
  }
  const known = peersByHostname.get(hostname)
  if (known != null) {
    return known
  }
  try {
    const peer = peerIdFromString(hostname)
    if (peerHostname(peer) !== hostname) {
      return undefined
    }
    peersByHostname.set(hostname, peer)
    return peer
  } catch {
    return undefined
  }
}


/**
 * The peer a URL names, or `undefined`. The one rule, which routing, the dispatcher and `serverPeer`
 * all follow: only an `http:` URL whose hostname is a peer hostname names a peer, and exactly those
 * URLs go over `/http/1.1` streams to it (the connection's security handshake proves who answers). An
 * `https:` URL never does, whatever its hostname looks like: it is a DNS name, and only Peer ID
 * Authentication proves who serves it.
 */
export function peerOfURL (url: string | Pick<URL, 'protocol' | 'hostname'>): PeerId | undefined {
  if (typeof url === 'string') {
    // cheap refusal of most URLs before parsing
    if (url.slice(0, 7).toLowerCase() !== 'http://') {
      return undefined
    }
    try {
      url = new URL(url)
    } catch {
      return undefined
    }
  }
  return url.protocol === 'http:' ? peerFromHostname(url.hostname) : undefined
}

/** Whether `ma` goes through a circuit relay: it has a `/p2p-circuit` component. */
export function isCircuitAddress (ma: Multiaddr): boolean {
  return ma.getComponents().some(c => c.code === CODE_P2P_CIRCUIT)
}

/**
 * `fn` remembered per multiaddr object. Multiaddrs are immutable, `getComponents()` copies every
 * component on each call, and the same objects come back on every fetch of a target (`describeTarget`
 * caches them), so routing a request reads each of them once instead of a dozen times.
 */
export function perMultiaddr<T> (fn: (ma: Multiaddr) => T): (ma: Multiaddr) => T {
  const known = new WeakMap<Multiaddr, T>()
  return (ma) => {
    if (known.has(ma)) {
      return known.get(ma) as T
    }
    const value = fn(ma)
    known.set(ma, value)
    return value
  }
}

/** Whether `ma` is an HTTP transport address: it has an `/http` (or the deprecated `/https`) component. */
export const isHTTPTransportAddress = perMultiaddr((ma: Multiaddr): boolean =>
  ma.getComponents().some(c => c.code === CODE_HTTP || c.code === CODE_HTTPS))

/** Where a server on the native HTTP transport is, read from its multiaddr. */
export interface HTTPEndpoint {
  /** `https:` for `/tls/http` and `/https`, `http:` for plain `/http`. */
  protocol: 'https:' | 'http:'
  /** The URL hostname: the `/sni` name when there is one, else the IP (IPv6 bracketed) or DNS name. */
  hostname: string
  /** The TCP port (443 or 80 when the multiaddr has no `/tcp`). */
  port: number
  /** `protocol//hostname[:port]`, the default port left out. */
  origin: string
  /**
   * The host to open the TCP connection to when it is not `hostname`: the IP (without brackets) or DNS
   * name of a `/tls/sni/<name>/http` address, whose `<name>` is sent as TLS server name and `Host`.
   */
  connectHost?: string
}

/** The parts of an HTTP transport address: `<host>[/tcp/<port>](/tls[/sni/<name>]/http | /https | /http)…`. */
export interface HTTPAddressParts {
  /** The first component: `/ip4`, `/ip6`, `/dns`, `/dns4` or `/dns6`. */
  host: Component
  /** The `/tcp` port as written (0 included), if any. */
  port?: number
  /** `/tls/…/http` or `/https`. */
  tls: boolean
  /** The `/sni/<name>` value. */
  sni?: string
  /** What follows `/http` (`/p2p`, `/http-path`, …), for the caller to judge. */
  after: Component[]
}

/** Why {@link splitHTTPAddress} refused, and which component (a caller words the message). */
export class HTTPAddressShapeError extends Error {
  constructor (readonly why: 'empty' | 'dnsaddr' | 'host' | 'port' | 'unexpected' | 'not-http', readonly component?: Component) {
    super(why)
  }
}

const HOSTS = [CODE_IP4, CODE_IP6, CODE_DNS, CODE_DNS4, CODE_DNS6]

/**
 * The one grammar of HTTP transport addresses, shared by targets (`httpEndpoint`) and listeners
 * (`parseListenAddress`), which word the errors and judge the port and the trailing components.
 *
 * @throws {HTTPAddressShapeError}
 */
export function splitHTTPAddress (components: Component[]): HTTPAddressParts {
  const [host, ...rest] = components
  if (host == null) throw new HTTPAddressShapeError('empty')
  if (host.code === CODE_DNSADDR) throw new HTTPAddressShapeError('dnsaddr', host)
  if (!HOSTS.includes(host.code)) throw new HTTPAddressShapeError('host', host)
  const parts: HTTPAddressParts = { host, tls: false, after: [] }
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]
    if (c.code === CODE_TCP && parts.port == null && !parts.tls) {
      const port = Number(c.value)
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new HTTPAddressShapeError('port', c)
      parts.port = port
    } else if (c.code === CODE_TLS && !parts.tls) {
      parts.tls = true
    } else if (c.code === CODE_SNI && parts.tls && parts.sni == null) {
      parts.sni = c.value
    } else if (c.code === CODE_HTTP || (c.code === CODE_HTTPS && !parts.tls)) {
      // `/https` is the deprecated alias of `/tls/http`
      parts.tls ||= c.code === CODE_HTTPS
      parts.after = rest.slice(i + 1)
      return parts
    } else {
      throw new HTTPAddressShapeError('unexpected', c)
    }
  }
  throw new HTTPAddressShapeError('not-http')
}

/** `/name/value` of a component, for messages. */
export function componentText (c: Component): string {
  return `/${c.name}${c.value == null ? '' : `/${c.value}`}`
}

/**
 * Read the native HTTP endpoint out of an HTTP transport multiaddr:
 * `<host>[/tcp/<port>](/tls[/sni/<name>]/http | /https | /http)[/p2p/<id>][/http-path/<seg>]`,
 * `<host>` being `/ip4`, `/ip6`, `/dns`, `/dns4` or `/dns6`.
 *
 * @throws {InvalidTargetError} naming the component that does not fit
 */
export function httpEndpoint (ma: Multiaddr): Readonly<HTTPEndpoint> {
  return endpointOf(ma)
}

// perMultiaddr remembers only what returns: a failure throws a fresh error each time.
const endpointOf = perMultiaddr((ma: Multiaddr): Readonly<HTTPEndpoint> => Object.freeze(readEndpoint(ma)))

function readEndpoint (ma: Multiaddr): HTTPEndpoint {
  assertPrintable(ma)
  let parts: HTTPAddressParts
  try {
    parts = splitHTTPAddress(ma.getComponents())
  } catch (err) {
    if (!(err instanceof HTTPAddressShapeError)) throw err
    const c = err.component
    switch (err.why) {
      case 'empty':
        throw new InvalidTargetError(`${ma.toString()} has no host to connect to`)
      case 'dnsaddr':
        throw new InvalidTargetError(`/dnsaddr/${c?.value ?? ''} in ${ma.toString()} names a DNS TXT record, not a host: resolve it into multiaddrs first`)
      case 'host':
        throw new InvalidTargetError(c?.code === CODE_P2P ? `${ma.toString()} has no host to connect to` : `/${c?.name ?? ''} cannot start an HTTP transport address (expected /ip4, /ip6, /dns, /dns4 or /dns6): ${ma.toString()}`)
      case 'port':
        throw new InvalidTargetError(`/tcp/${c?.value ?? ''} in ${ma.toString()} is not a port to connect to`)
      case 'unexpected':
        throw new InvalidTargetError(`unexpected ${c == null ? '' : componentText(c)} in HTTP transport address ${ma.toString()}` +
          (c?.name === 'udp' || c?.name === 'quic-v1' ? ' (HTTP/3 over QUIC has no client in Node; use a /tcp/…/tls/http address)' : ''))
      default:
        throw new InvalidTargetError(`${ma.toString()} is not an HTTP transport address (it does not end in /http)`)
    }
  }
  // only the peer and the resource may follow: they identify, they do not reach
  const extra = parts.after.find(c => c.code !== CODE_P2P && c.code !== CODE_HTTP_PATH)
  if (extra != null) {
    throw new InvalidTargetError(`unexpected ${componentText(extra)} in HTTP transport address ${ma.toString()}`)
  }
  if (parts.port === 0) {
    throw new InvalidTargetError(`/tcp/0 in ${ma.toString()} is not a port to connect to`)
  }
  const host = parts.host.code === CODE_IP6 ? `[${parts.host.value ?? ''}]` : parts.host.value ?? ''
  const { tls, sni } = parts
  let port = parts.port
  const protocol = tls ? 'https:' : 'http:'
  port ??= tls ? 443 : 80
  const hostname = sni ?? host
  let origin: string
  try {
    origin = new URL(`${protocol}//${hostname}:${port}`).origin
  } catch (err) {
    throw new InvalidTargetError(`${hostname} in ${ma.toString()} is not a valid URL host`, { cause: err })
  }
  return { protocol, hostname: new URL(origin).hostname, port, origin, ...(sni == null ? {} : { connectHost: host.replace(/^\[(.*)\]$/, '$1') }) }
}

/**
 * The URL of an HTTP transport multiaddr, with its `/http-path` (or `/`) as path and query, e.g.
 * `/dns/example.com/tls/http/http-path/a%2Fb` → `https://example.com/a/b`. `/p2p` is not part of a URL.
 *
 * @throws {InvalidTargetError} see {@link httpEndpoint}
 */
export function multiaddrToURL (ma: Multiaddr): string {
  return `${httpEndpoint(ma).origin}${parseMultiaddr(ma).path}`
}

/**
 * The multiaddr of an http(s) URL: `/ip4|ip6|dns/<host>/tcp/<port>/tls/http` (or `/http`), then
 * `/http-path` for anything but `/`. A peer URL (`http://<base36 peer id>/…`) becomes `/p2p/<id>/…`.
 * Fragments are dropped; username and password are refused.
 *
 * @throws {InvalidTargetError} for other schemes or credentials in the URL
 */
export function urlToMultiaddr (input: string | URL): Multiaddr {
  let url: URL
  try {
    url = new URL(input)
  } catch (err) {
    throw new InvalidTargetError(`not a URL: ${input.toString()}`, { cause: err })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidTargetError(`only http: and https: URLs have a multiaddr, not ${url.protocol}`)
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidTargetError('a URL with credentials has no multiaddr form')
  }
  const peer = peerOfURL(url)
  let base: string
  if (peer != null) {
    base = `/p2p/${peer.toString()}`
  } else {
    // The WHATWG URL parser has already decided the host's kind: an IPv6 address is bracketed, and a
    // host that ends in a number is an IPv4 address written back in dotted decimal, or a parse error
    // (URL standard, "host parsing"). So a shape check here is exact, and needs no `node:net`.
    const ipv6 = url.hostname.startsWith('[')
    const bare = ipv6 ? url.hostname.slice(1, -1) : url.hostname
    const hostPart = ipv6 ? `/ip6/${bare}` : IPV4_DOTTED.test(bare) ? `/ip4/${bare}` : `/dns/${bare}`
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
    base = `${hostPart}/tcp/${port}${url.protocol === 'https:' ? '/tls/http' : '/http'}`
  }
  return withHTTPPath(multiaddr(base), `${url.pathname}${url.search}`)
}

/** An IPv4 address as the URL parser serialises one. */
const IPV4_DOTTED = /^\d{1,3}(\.\d{1,3}){3}$/

/**
 * `ma` with its `/http-path` replaced by `target` (a request target: path and query as they appear
 * on the request line). A target of `/` leaves no `/http-path`, as the multiaddr spec's table says.
 */
export function withHTTPPath (ma: Multiaddr, target: string): Multiaddr {
  const components = ma.getComponents().filter(c => c.code !== CODE_HTTP_PATH)
  const path = requestTarget(target)
  if (path !== '/') {
    components.push({ code: CODE_HTTP_PATH, name: 'http-path', value: path })
  }
  return multiaddr(components)
}

/** `ma` with the deprecated `/https` written as `/tls/http` (what go-libp2p does too). */
export function normalizeHTTPAddress (ma: Multiaddr): Multiaddr {
  const components = ma.getComponents()
  if (!components.some(c => c.code === CODE_HTTPS)) {
    return ma
  }
  return multiaddr(components.flatMap(c => c.code === CODE_HTTPS
    ? [{ code: CODE_TLS, name: 'tls' }, { code: CODE_HTTP, name: 'http' }]
    : [c]))
}

/**
 * Decode a binary multiaddr written by either ecosystem. The multiaddr spec (and go-multiaddr) encode
 * `/http-path` as the raw path without its leading `/`; js-multiaddr 13 writes and expects the `/`, so
 * it prints go's `api/v0/login` as `/http-path/pi%2Fv0%2Flogin`. Here the value is read as is and the
 * `/` restored, so both encodings give the same multiaddr.
 *
 * @throws {InvalidTargetError} for bytes that are not a multiaddr
 */
export function multiaddrFromBytes (bytes: Uint8Array): Multiaddr {
  // the bytes come from peers: js-multiaddr's own errors (unknown protocol, truncated value) become ours
  return asTargetError('binary multiaddr', () => {
    const decoded = multiaddr(bytes)
    return multiaddr(decoded.getComponents().map(c => c.code === CODE_HTTP_PATH && c.value != null && !c.value.startsWith('/')
      ? { code: c.code, name: c.name, value: `/${c.value}` }
      : c))
  })
}

/**
 * A multiaddr built from a string with a lone surrogate (`/unix/\ud83d`) is accepted by js-multiaddr but
 * cannot be printed (`encodeURIComponent` throws `URIError`), so it can be neither a URI nor an error
 * message: refused up front, as ours.
 */
function assertPrintable (ma: Multiaddr): void {
  asTargetError('multiaddr (a value is not well-formed Unicode)', () => ma.toString())
}

function asTargetError<T> (what: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof InvalidTargetError) throw err
    throw new InvalidTargetError(`invalid ${what}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Encode a multiaddr as the spec (and go-multiaddr) does: `/http-path` as the raw path without the
 * leading `/` (js-multiaddr's own `.bytes` keeps it; see {@link multiaddrFromBytes}).
 *
 * @throws {InvalidTargetError} for a multiaddr whose values cannot be encoded (js-multiaddr parses some lazily)
 */
export function multiaddrToBytes (ma: Multiaddr): Uint8Array {
  return asTargetError('multiaddr', () => encodeSpecBytes(ma))
}

function encodeSpecBytes (ma: Multiaddr): Uint8Array {
  const components = ma.getComponents()
  const index = components.findIndex(c => c.code === CODE_HTTP_PATH)
  if (index === -1) {
    return ma.bytes
  }
  const prefix = multiaddr(components.slice(0, index)).bytes
  const value = new TextEncoder().encode((components[index].value ?? '').replace(/^\//, ''))
  const code = varint.encodeTo(CODE_HTTP_PATH, new Uint8Array(varint.encodingLength(CODE_HTTP_PATH)))
  const length = varint.encodeTo(value.length, new Uint8Array(varint.encodingLength(value.length)))
  const out = new Uint8Array(prefix.length + code.length + length.length + value.length)
  out.set(prefix, 0)
  out.set(code, prefix.length)
  out.set(length, prefix.length + code.length)
  out.set(value, prefix.length + code.length + length.length)
  return out
}
