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
import { LRUMap } from '../lru.js'
import { forwardToPeer } from './consumer.js'
import { failUpgrade } from './upstream.js'
import type { ForwardOptions, PeerForwarder } from './consumer.js'
import type { ProxyOptions, UpgradeListener } from './upstream.js'
import type { HTTPHost } from '../host.js'
import type { FetchTarget } from '../target.js'
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
  /** The `Upgrade` protocols relayed to peers (see {@link ProxyOptions.upgrades}). @default ['websocket'] */
  upgrades?: readonly string[]
  /**
   * Where a peer of a gateway path is reached: e.g. its `/tls/http/p2p/<id>` address, which libp2p cannot
   * dial (the host then runs Peer ID Authentication on it). `undefined`: by its id (a connection, the peer store).
   *
   * @default () => undefined
   */
  addressOf?: (peer: PeerId) => FetchTarget | undefined
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
  if (named != null) return { peer, protocol: `/x/${named[1]}`, target: `${named[2] ?? '/'}${query}` }
  const http = /^\/http(\/.*)?$/.exec(rest)
  if (http != null) return { peer, target: `${http[1] ?? '/'}${query}` }
  return { peer, target: `${rest}${query}` }
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
      forward = forwardToPeer(host, options.addressOf?.(parsed.peer) ?? parsed.peer, { protocol: parsed.protocol, pseudonym, headersTimeout: options.headersTimeout, allowHosts, allowOrigins: options.allowOrigins, upgrades: options.upgrades })
      forwarders.set(key, forward)
    }
    req.url = parsed.target
    return forward
  }
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const forward = route(req)
    if (typeof forward === 'function') {
      forward(req, res)
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
