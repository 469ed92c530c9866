/**
 * A `/p2p` gateway: a local HTTP server whose paths name a peer, so any HTTP client (a browser, curl)
 * reaches peers without knowing libp2p. The forms are Kubo's `p2p` gateway's, read for `/http/1.1`:
 *
 * | Path | Forwarded to |
 * |---|---|
 * | `/p2p/<peer>/x/<name>/http/<path>` | protocol `/x/<name>` of the peer (its well-known map), `<path>` below it; `<name>` may have several segments (`/x/llm/1/http/…`) and ends at the first `http` segment |
 * | `/p2p/<peer>/http/<path>` | `/<path>` at the peer's root |
 * | `/p2p/<peer>/<path>` | `/<path>` at the peer's root |
 *
 * Kubo carries HTTP on a libp2p protocol of the same name (`/x/<name>`, `/http`); here the libp2p
 * protocol is always `/http/1.1` and `/x/<name>` is looked up in the peer's map, as libp2p+HTTP does.
 * The hop is {@link forwardToPeer}'s, so hop-by-hop hygiene and 502/504 mapping are the proxy's.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { LRUMap } from '../util/lru.js'
import { forwardToPeer } from './consumer.js'
import { failUpgrade } from './upstream.js'
import type { ForwardOptions, PeerForwarder } from './consumer.js'
import type { ProxyOptions, UpgradeListener } from './upstream.js'
import type { HTTPHost } from '../host.js'
import type { FetchTarget } from '../client/target.js'
import type { PeerId } from '@libp2p/interface'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'

/** Options for {@link gateway}. */
export interface GatewayOptions {
  /** How long a peer may take to send response headers, in ms (0: no limit). @default 300000 */
  headersTimeout?: number
  /** The name of this gateway in `Via` and `Proxy-Status`. @default `libp2phttp-<random>` */
  pseudonym?: string
  /**
   * `Host` names accepted besides this machine's loopback names and bound address; others get 403 (DNS
   * rebinding: a web page re-pointed at 127.0.0.1 must not reach peers as this machine). `'any'`: no check.
   *
   * @default []
   */
  allowHosts?: readonly string[] | 'any'
  /** Origins whose web pages may use the gateway besides its own (see {@link ForwardOptions.allowOrigins}). @default [] */
  allowOrigins?: readonly string[]
  /** What a refusal names as the way to allow a `Host` or `Origin` (see {@link ForwardOptions.names}). @default the option names */
  names?: ForwardOptions['names']
  /** The `Upgrade` protocols relayed to peers (see {@link ProxyOptions.upgrades}). @default ['websocket'] */
  upgrades?: readonly string[]
  /**
   * Where a peer of a gateway path is reached: e.g. its `/tls/http/p2p/<id>` address, which libp2p cannot
   * dial (the host then runs Peer ID Authentication on it). `undefined`: by its id (a connection, the peer store).
   *
   * @default () => undefined
   */
  addressOf?: (peer: PeerId) => FetchTarget | undefined
  /** Cache the peers' answers in this store, each (peer, protocol) apart (see {@link ForwardOptions.cache}). @default no cache */
  cache?: ForwardOptions['cache']
  /** Ask peers for a coding when the client asks for none, and decode it (see {@link ForwardOptions.compress}). @default false */
  compress?: boolean
  /** The most bytes a body decoded under {@link compress} may have. @default Infinity */
  maxDecodedSize?: number
}

/** {@link gateway}'s handler: a request listener, and `upgrade` for upgrade requests (WebSocket). */
export interface GatewayHandler {
  (req: IncomingMessage, res: ServerResponse): void
  upgrade: UpgradeListener
}

/** A gateway path, parsed: the peer, its protocol (if any) and the request target below it. */
export interface GatewayPath {
  peer: PeerId
  protocol?: string
  /** The request target to send, starting with `/` (the query kept as sent). */
  target: string
  /** The path naming the peer and the protocol, as sent: `/p2p/<peer>`, `/p2p/<peer>/http` or `/p2p/<peer>/x/<name>/http`. */
  prefix: string
}

/**
 * Parse a gateway request target (`/p2p/<peer>/…`); `undefined` when it is not one, a `TypeError` when
 * the peer id is not one.
 */
export function parseGatewayPath (url: string): GatewayPath | undefined {
  const match = /^\/p2p\/([^/?#]+)(\/[^?#]*)?(\?[^#]*)?$/.exec(url)
  if (match == null) return undefined
  let peer: PeerId
  try {
    peer = peerIdFromString(decodeURIComponent(match[1]))
  } catch (err) {
    throw new TypeError(`not a peer id: ${match[1]}`, { cause: err })
  }
  const rest = match[2] ?? '/'
  const query = match[3] ?? ''
  // the protocol id may have several segments (`/x/llm/1`): it ends at the first `/http` segment
  const named = /^\/x\/(.+?)\/http(\/.*)?$/.exec(rest)
  const root = `/p2p/${match[1]}`
  if (named != null) return { peer, protocol: `/x/${named[1]}`, target: `${named[2] ?? '/'}${query}`, prefix: `${root}/x/${named[1]}/http` }
  const http = /^\/http(\/.*)?$/.exec(rest)
  if (http != null) return { peer, target: `${http[1] ?? '/'}${query}`, prefix: `${root}/http` }
  return { peer, target: `${rest}${query}`, prefix: root }
}

/**
 * Where a request outside `/p2p/` belongs when it came from a page of the gateway: a page served at
 * `/p2p/<peer>/…` that links an absolute path (`<link href="/style.css">`) means its peer's path, which
 * the browser asks of the gateway's root. Its `Referer` (sent in full to its own origin under the
 * default `strict-origin-when-cross-origin` policy) names the page: the answer is the same path under
 * the page's gateway prefix. `undefined` without a `Referer` at this gateway's origin naming a gateway path.
 */
export function refererLocation (req: IncomingMessage): string | undefined {
  const referer = req.headers.referer
  const host = req.headers.host
  if (referer == null || host == null || req.url?.startsWith('/') !== true) return undefined
  let page: URL
  let from: GatewayPath | undefined
  try {
    page = new URL(referer)
    if (page.origin !== originOf(`http://${host}`)) return undefined
    from = parseGatewayPath(`${page.pathname}${page.search}`)
  } catch {
    return undefined
  }
  if (from == null) return undefined
  const target = req.url
  // a protocol form always reads back; a root form may need its `/http` form
  return reads(`${from.prefix}${target}`, from.protocol, target) ? `${from.prefix}${target}` : `/p2p/${from.peer.toString()}/http${target}`
}

/**
 * Whether the gateway reads `candidate` back as `protocol` and `target`: a root-form path whose own
 * first segments read as a gateway form (`/p2p/<peer>/http/…`, `…/x/a/http/…`) does not.
 */
function reads (candidate: string, protocol: string | undefined, target: string): boolean {
  const back = parseGatewayPath(candidate)
  return back != null && back.protocol === protocol && back.target === target
}

/** The origin of `url`, or `undefined` when it is not a URL (a `Host` header that is not a host). */
function originOf (url: string): string | undefined {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

/** Where a peer's `Location` points, for {@link gatewayLocation}. */
export interface LocationContext {
  /** The gateway path the request came in on. */
  path: GatewayPath
  /** The URL the request went to at the peer: a relative value is relative to it (RFC 9110 §10.2.2). */
  request: URL
  /** The peer URL of the protocol (its root without one): values below it stay in the protocol's form. */
  base: URL
  /** The gateway's own origin as its client named it (`http://127.0.0.1:8080`), if known. */
  gatewayOrigin?: string
}

/**
 * A `Location` or `Content-Location` value of a peer's answer, moved into the gateway's space: a value
 * that points into the peer's space (relative, absolute-path, or absolute at the peer's origin or at the
 * gateway's own origin outside `/p2p/`, which is how a peer that builds URLs from `X-Forwarded-Host`
 * names itself) becomes the absolute-path `/p2p/<peer>/…` that reaches the same resource, in the form
 * the client used while it stays below the protocol's path. Other values (another site) are kept.
 */
export function gatewayLocation (value: string, { path, request, base, gatewayOrigin }: LocationContext): string {
  let url: URL
  try {
    url = new URL(value, request)
  } catch {
    return value
  }
  const atGateway = gatewayOrigin != null && url.origin === gatewayOrigin && !url.pathname.startsWith('/p2p/')
  if (url.origin !== request.origin && !atGateway) return value
  const basePath = base.pathname.replace(/\/$/, '')
  if (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`)) {
    const target = `${url.pathname.slice(basePath.length) === '' ? '/' : url.pathname.slice(basePath.length)}${url.search}`
    if (reads(`${path.prefix}${target}`, path.protocol, target)) return `${path.prefix}${target}${url.hash}`
  }
  // elsewhere on the peer: its root
  const root = `/p2p/${path.peer.toString()}`
  const target = `${url.pathname}${url.search}`
  return `${reads(`${root}${target}`, undefined, target) ? root : `${root}/http`}${target}${url.hash}`
}

/**
 * A request listener serving the `/p2p/<peer>/…` forms above over `host`. Peers are dialled by id, so
 * the host's node must know their addresses (a connection, its peer store). Bind it to loopback: it
 * reaches any peer for whoever can reach it.
 *
 * @example
 * ```ts
 * http.createServer(gateway(host)).listen(8080, '127.0.0.1')
 * // curl http://127.0.0.1:8080/p2p/12D3KooW…/x/llm/1/http/v1/models
 * ```
 */
export function gateway (host: HTTPHost, options: GatewayOptions = {}): GatewayHandler {
  const pseudonym = options.pseudonym ?? `libp2phttp-${randomBytes(4).toString('hex')}`
  const allowHosts = options.allowHosts ?? []
  // one forwarder per (peer, protocol): each keeps its own proxy handler; bounded like the host's caches
  const forwarders = new LRUMap<string, PeerForwarder>(256)
  // the gateway path each request came in on: the peer's redirects are moved back under it
  const paths = new WeakMap<IncomingMessage, GatewayPath>()
  const relocate = (value: string, at: { request: URL, base: URL, req: IncomingMessage }): string => {
    const path = paths.get(at.req)
    if (path == null) return value
    const host = at.req.headers.host
    return gatewayLocation(value, { path, request: at.request, base: at.base, gatewayOrigin: host == null ? undefined : originOf(`http://${host}`) })
  }
  /** The forwarder for `req` (its `url` set to the target below the peer), or the answer to give instead. */
  const route = (req: IncomingMessage): PeerForwarder | { status: number, message: string } => {
    let parsed: GatewayPath | undefined
    try {
      parsed = parseGatewayPath(req.url ?? '/')
    } catch (err) {
      return { status: 400, message: (err as Error).message }
    }
    if (parsed == null) {
      return { status: 404, message: 'gateway paths: /p2p/<peer>/<path>, /p2p/<peer>/http/<path>, /p2p/<peer>/x/<name>/http/<path>' }
    }
    const key = `${parsed.peer.toString()} ${parsed.protocol ?? ''}`
    let forward = forwarders.get(key)
    if (forward == null) {
      forward = forwardToPeer(host, options.addressOf?.(parsed.peer) ?? parsed.peer, { protocol: parsed.protocol, pseudonym, headersTimeout: options.headersTimeout, allowHosts, allowOrigins: options.allowOrigins, names: options.names, upgrades: options.upgrades, relocate, cache: options.cache, compress: options.compress, maxDecodedSize: options.maxDecodedSize })
      forwarders.set(key, forward)
    }
    paths.set(req, parsed)
    req.url = parsed.target
    return forward
  }
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const forward = route(req)
    if (typeof forward === 'function') {
      forward(req, res)
      return
    }
    const back = forward.status === 404 ? refererLocation(req) : undefined
    if (back != null) {
      // it depends on the Referer: not to be cached, or cached per Referer (RFC 9111 §4.1)
      res.writeHead(307, { location: back, 'cache-control': 'no-store', vary: 'Referer', 'content-type': 'text/plain; charset=utf-8' })
      res.end(`${back}\n`)
      return
    }
    res.statusCode = forward.status
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.end(`${forward.message}\n`)
  }
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const forward = route(req)
    if (typeof forward === 'function') {
      forward.upgrade(req, socket, head)
      return
    }
    socket.on('error', () => {})
    failUpgrade(socket, pseudonym, forward.status, 'http_request_error', forward.message)
  }
  return Object.assign(listener, { upgrade })
}
