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
import { isIP, connect as netConnect } from 'node:net'
import { Agent, buildConnector } from 'undici'
import { EgressDeniedError } from '../errors.js'
import { LRUMap } from '../util/lru.js'
import { accessRefusal } from './access.js'
import { egressPolicy } from './egress.js'
import { splice } from './splice.js'
import { classify, fail, proxyTo } from './upstream.js'
import { proxyStatus } from './headers.js'
import { rawResponse } from '../server/raw-response.js'
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

/** A checked destination: `hostname` bare (what is resolved), `host` for `Host` and origins (`[v6]`, `:port` unless the default). */
interface Destination { hostname: string, host: string, port: number }

/**
 * `host:port` (`[v6]:port`), with the default port when there is none. A name is letters, digits,
 * dots and hyphens only; brackets hold an IPv6 address and nothing else.
 */
function authority (text: string, defaultPort: number): Destination | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::(\d{1,5}))?$/i.exec(text)
  if (match == null || (match[1] != null && isIP(match[1]) !== 6)) return undefined
  const port = match[3] == null ? defaultPort : Number(match[3])
  if (port < 1 || port > 65535) return undefined
  const hostname = (match[1] ?? match[2]).toLowerCase()
  const bracketed = match[1] != null ? `[${hostname}]` : hostname
  return { hostname, host: port === defaultPort ? bracketed : `${bracketed}:${port}`, port }
}

/** An exit: mount it with `host.handle(EXIT_PROTOCOL, createExit({ allow }))`. */
export function createExit (options: ExitOptions): Server {
  const pseudonym = options.pseudonym ?? `libp2phttp-${randomBytes(4).toString('hex')}`
  const policy = egressPolicy(options.allowEgress ?? [])
  const refusal = accessRefusal(options.allow)
  // one agent for every destination: each new connection is resolved and checked under the policy
  // (the port from the origin, since rules may name one) and goes to the very address checked
  const connector = buildConnector({})
  const agent = new Agent({
    connect: (opts, callback) => {
      const port = Number(opts.port) > 0 ? Number(opts.port) : opts.protocol === 'https:' ? 443 : 80
      const hostname = opts.hostname.replace(/^\[|\]$/g, '')
      policy.resolve(hostname, port, false).then((address) => {
        connector({ ...opts, hostname: address, servername: opts.servername ?? (isIP(hostname) === 0 ? hostname : undefined) }, callback)
      }, (err: Error) => { callback(err, null) })
    }
  })
  const proxies = new LRUMap<string, (req: IncomingMessage, res: ServerResponse) => void>(256)

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
    try {
      // an IP literal is refused here, before any connection; names are checked as they resolve, at connect
      if (isIP(target.hostname) !== 0) {
        const why = policy.refusal(target.hostname, target.hostname, target.port, false)
        if (why != null) throw new EgressDeniedError(target.hostname, why)
      }
      const origin = `${match[1]}://${target.host}`
      let forward = proxies.get(origin)
      if (forward == null) {
        forward = proxyTo(origin, { dispatcher: agent, rewriteHost: false, forwardPeerId: false, pseudonym })
        proxies.set(origin, forward)
      }
      req.url = match[3] ?? '/'
      // the destination's Host, from the path: not whatever the peer sent
      const raw = req.rawHeaders
      req.rawHeaders = [...raw.filter((_v, i) => raw[i - (i % 2)].toLowerCase() !== 'host'), 'Host', target.host]
      forward(req, res)
    } catch (err) {
      const { status, error } = classify(err)
      fail(res, pseudonym, status, error, (err as Error).message)
    }
  }

  const server = createServer(options.wrap == null ? request : (req, res) => { void options.wrap?.(request)(req, res) })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const start = performance.now()
    const refuse = (status: number, error: string, detail: string): void => {
      socket.end(rawResponse(status, { 'Proxy-Status': proxyStatus(pseudonym, { error, details: detail }) }))
      options.onTunnel?.({ req, status, bytes: 0, ms: Math.round(performance.now() - start) })
    }
    socket.on('error', () => {})
    const why = refusal(req)
    if (why != null) { refuse(403, 'http_request_denied', why); return }
    const match = /^\/connect\/([^/?#]+)$/.exec(req.url ?? '')
    const target = match == null ? undefined : authority(match[1], 443)
    if (target == null || req.headers.upgrade?.toLowerCase() !== CONNECT_UPGRADE) { refuse(400, 'http_request_error', 'expected /connect/<host>:<port> with Upgrade: libp2phttp-connect'); return }
    policy.resolve(target.hostname, target.port, true).then((address) => {
      tunnels.add(socket)
      socket.once('close', () => { tunnels.delete(socket) })
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
    }).catch((err: unknown) => {
      const { status, error } = classify(err)
      refuse(status, error, (err as Error).message)
    })
  })
  // tunnels are no longer the server's connections: end them with it, and the agent's pool too
  const tunnels = new Set<Duplex>()
  server.on('close', () => {
    for (const socket of tunnels) socket.destroy()
    void agent.close()
  })
  return server
}
