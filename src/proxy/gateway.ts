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
import type { PeerForwarder } from './consumer.js'
import type { HTTPHost } from '../host.js'
import type { PeerId } from '@libp2p/interface'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Options for {@link gateway}. */
export interface GatewayOptions {
  /** How long a peer may take to send response headers, in ms (0: no limit). @default 300000 */
  headersTimeout?: number
  /** The name of this gateway in `Via` and `Proxy-Status`. @default `libp2phttp-<random>` */
  pseudonym?: string
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
export function gateway (host: HTTPHost, options: GatewayOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const pseudonym = options.pseudonym ?? `libp2phttp-${randomBytes(4).toString('hex')}`
  // one forwarder per (peer, protocol): each keeps its own proxy handler; bounded like the host's caches
  const forwarders = new LRUMap<string, PeerForwarder>(256)
  return (req, res) => {
    let parsed: GatewayPath | undefined
    try {
      parsed = parseGatewayPath(req.url ?? '/')
    } catch (err) {
      res.statusCode = 400
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end(`${(err as Error).message}\n`)
      return
    }
    if (parsed == null) {
      res.statusCode = 404
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('gateway paths: /p2p/<peer>/<path>, /p2p/<peer>/http/<path>, /p2p/<peer>/x/<name>/http/<path>\n')
      return
    }
    const key = `${parsed.peer.toString()} ${parsed.protocol ?? ''}`
    let forward = forwarders.get(key)
    if (forward == null) {
      forward = forwardToPeer(host, parsed.peer, { protocol: parsed.protocol, pseudonym, headersTimeout: options.headersTimeout })
      forwarders.set(key, forward)
    }
    req.url = parsed.target
    forward(req, res)
  }
}
