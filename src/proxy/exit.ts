/**
 * The exit side of a forward proxy: a provider that performs HTTP requests and opens CONNECT tunnels
 * for allowed peers, under the {@link EgressPolicy}. It is an `http.Server` (so the host hands it
 * upgrades) to mount at {@link EXIT_PROTOCOL}:
 *
 * - `GET /http/<host>:<port>/<path>` (any method; `/https/…` for TLS): forwarded with {@link proxyTo}'s
 *   hygiene, the caller's peer id not revealed.
 * - `GET /connect/<host>:<port>` with `Upgrade: libp2phttp-connect`: `101`, then the stream is a byte
 *   tunnel to that TCP destination (what `CONNECT` is for HTTPS).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { connect as netConnect } from 'node:net'
import { Agent } from 'undici'
import { LRUMap } from '../lru.js'
import { accessRefusal } from './access.js'
import { egressPolicy } from './egress.js'
import { splice } from './splice.js'
import { classify, fail, proxyTo } from './upstream.js'
import type { AccessOptions } from './access.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'

/** The protocol an exit is mounted at (and listed under in the well-known map). */
export const EXIT_PROTOCOL = '/libp2phttp/exit/1'

/** The `Upgrade` token that asks an exit for a CONNECT tunnel. */
export const CONNECT_UPGRADE = 'libp2phttp-connect'

/** Options for {@link createExit}. */
export interface ExitOptions {
  /** The peers the exit works for (`'any'`: every peer). */
  allow: AccessOptions['allow']
  /** `--allow-egress` rules: `HOST[:PORT]`, `IP[:PORT]`, `CIDR[:PORT]` (`[IPv6]:PORT`). */
  allowEgress?: readonly string[]
  /** The name of this proxy in `Via` and `Proxy-Status`. @default `libp2phttp-<random>` */
  pseudonym?: string
  /** Wraps the request listener (a request log). */
  wrap?: (listener: (req: IncomingMessage, res: ServerResponse) => unknown) => (req: IncomingMessage, res: ServerResponse) => unknown
  /** Told about each tunnel when it ends. */
  onTunnel?: (tunnel: { req: IncomingMessage, status: number, bytes: number, ms: number }) => void
}

/** `host:port` (`[v6]:port`), with the default port when there is none. */
function authority (text: string, defaultPort: number): { hostname: string, port: number } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(text)
  if (match == null) return undefined
  const port = match[2] == null ? defaultPort : Number(match[2])
  return port < 1 || port > 65535 ? undefined : { hostname: match[1].replace(/^\[|\]$/g, ''), port }
}

/** An exit: mount it with `host.handle(EXIT_PROTOCOL, createExit({ allow }))`. */
export function createExit (options: ExitOptions): Server {
  const pseudonym = options.pseudonym ?? `libp2phttp-${randomBytes(4).toString('hex')}`
  const policy = egressPolicy(options.allowEgress ?? [])
  const refusal = accessRefusal(options.allow)
  // the policy's lookup needs the port (rules may name one): one agent per port, few in practice
  const agents = new LRUMap<number, Agent>(64, (_port, agent) => { void agent.close() })
  const proxies = new LRUMap<string, (req: IncomingMessage, res: ServerResponse) => void>(256)
  const agentFor = (port: number): Agent => {
    let agent = agents.get(port)
    if (agent == null) {
      agent = new Agent({ connect: { lookup: policy.lookup(port, false) } })
      agents.set(port, agent)
    }
    return agent
  }

  const request = (req: IncomingMessage, res: ServerResponse): void => {
    const why = refusal(req)
    if (why != null) {
      fail(res, pseudonym, 403, 'http_request_denied', why)
      return
    }
    const match = /^\/(https?)\/([^/?#]+)(\/[^#]*)?$/.exec(req.url ?? '')
    const target = match == null ? undefined : authority(match[2], match[1] === 'https' ? 443 : 80)
    if (match == null || target == null) {
      res.statusCode = 400
      res.end('exit paths: /http/<host>:<port>/<path>, /https/<host>:<port>/<path>\n')
      return
    }
    // an IP literal is never looked up: check it here (names are checked as they resolve, at connect)
    policy.resolve(target.hostname, target.port, false).then(() => {
      const origin = `${match[1]}://${match[2]}`
      let forward = proxies.get(origin)
      if (forward == null) {
        forward = proxyTo(origin, { dispatcher: agentFor(target.port), rewriteHost: false, forwardPeerId: false, pseudonym })
        proxies.set(origin, forward)
      }
      req.url = match[3] ?? '/'
      forward(req, res)
    }, (err: unknown) => {
      const { status, error } = classify(err)
      fail(res, pseudonym, status, error, (err as Error).message)
    })
  }

  const server = createServer(options.wrap == null ? request : (req, res) => { void options.wrap?.(request)(req, res) })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const start = performance.now()
    const refuse = (status: number, error: string, detail: string): void => {
      socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Bad Gateway'}\r\nProxy-Status: ${pseudonym}; error=${error}; details=${JSON.stringify(detail)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      options.onTunnel?.({ req, status, bytes: 0, ms: Math.round(performance.now() - start) })
    }
    socket.on('error', () => {})
    const why = refusal(req)
    if (why != null) { refuse(403, 'http_request_denied', why); return }
    const match = /^\/connect\/([^/?#]+)$/.exec(req.url ?? '')
    const target = match == null ? undefined : authority(match[1], 443)
    if (target == null || req.headers.upgrade?.toLowerCase() !== CONNECT_UPGRADE) { refuse(400, 'http_request_error', 'expected /connect/<host>:<port> with Upgrade: libp2phttp-connect'); return }
    policy.resolve(target.hostname, target.port, true).then((address) => {
      const upstream = netConnect({ host: address, port: target.port })
      const failed = (err: Error): void => {
        const { status, error } = classify(err)
        refuse(status, error, err.message)
      }
      upstream.once('error', failed)
      socket.once('close', () => { if (upstream.connecting) upstream.destroy() })
      upstream.once('connect', () => {
        upstream.off('error', failed)
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${CONNECT_UPGRADE}\r\n\r\n`)
        splice(socket, upstream, head, (bytes) => { options.onTunnel?.({ req, status: 101, bytes, ms: Math.round(performance.now() - start) }) })
      })
    }, (err: unknown) => {
      const { status, error } = classify(err)
      refuse(status, error, (err as Error).message)
    })
  })
  return server
}
