/**
 * The consumer side of a forward proxy: a local proxy (`curl -x`, `HTTP_PROXY`, `HTTPS_PROXY`) whose
 * requests an exit peer performs. Absolute-form requests (`GET http://example.com/ HTTP/1.1`) go to the
 * exit's `/http/<host>:<port>/…`; `CONNECT host:443` becomes an upgrade to the exit's `/connect/…`
 * and then a byte tunnel, so TLS stays end to end between the client and the destination.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { upgrade } from 'undici'
import { forwardToPeer } from './consumer.js'
import { CONNECT_UPGRADE, EXIT_PROTOCOL } from './exit.js'
import { splice } from './splice.js'
import { classify } from './upstream.js'
import type { HTTPHost } from '../host.js'
import type { FetchTarget } from '../target.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'

/** Options for {@link forwardProxy}. */
export interface ForwardProxyOptions {
  /** The name of this proxy in `Via` and `Proxy-Status`. @default `libp2phttp-<random>` */
  pseudonym?: string
  /** How long the exit may take to send response headers, in ms. @default 300000 */
  headersTimeout?: number
  /** Told about each tunnel when it ends. */
  onTunnel?: (tunnel: { req: IncomingMessage, status: number, bytes: number, ms: number }) => void
}

/** The listeners of a local forward proxy: `request` for absolute-form requests, `connect` for CONNECT. */
export interface ForwardProxy {
  request: (req: IncomingMessage, res: ServerResponse) => void
  connect: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
}

/**
 * A forward proxy through the exit at `target`.
 *
 * @example
 * ```ts
 * const proxy = forwardProxy(host, exitAddr)
 * const server = http.createServer(proxy.request).on('connect', proxy.connect).listen(8541, '127.0.0.1')
 * // curl -x 127.0.0.1:8541 https://example.com/
 * ```
 */
export function forwardProxy (host: HTTPHost, target: FetchTarget, options: ForwardProxyOptions = {}): ForwardProxy {
  const pseudonym = options.pseudonym ?? `libp2phttp-${randomBytes(4).toString('hex')}`
  const forward = forwardToPeer(host, target, { protocol: EXIT_PROTOCOL, pseudonym, headersTimeout: options.headersTimeout })

  const request = (req: IncomingMessage, res: ServerResponse): void => {
    let url: URL | undefined
    try {
      url = /^https?:\/\//i.test(req.url ?? '') ? new URL(req.url ?? '') : undefined
    } catch {}
    if (url == null) {
      res.statusCode = 400
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('this is a forward proxy: send absolute-form requests (curl -x) or CONNECT\n')
      return
    }
    const scheme = url.protocol.slice(0, -1)
    const port = url.port === '' ? (scheme === 'https' ? '443' : '80') : url.port
    req.url = `/${scheme}/${url.hostname}:${port}${url.pathname}${url.search}`
    // credentials for this proxy are not the exit's business (RFC 9110 §11.7.2)
    const raw = req.rawHeaders
    req.rawHeaders = raw.filter((_v, i) => raw[i - (i % 2)].toLowerCase() !== 'proxy-authorization')
    forward(req, res)
  }

  const connect = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const start = performance.now()
    const controller = new AbortController()
    socket.on('error', () => {})
    socket.once('close', () => { controller.abort() })
    const refuse = (err: unknown): void => {
      const { status, error } = classify(err)
      socket.end(`HTTP/1.1 ${status} ${status === 504 ? 'Gateway Timeout' : 'Bad Gateway'}\r\nProxy-Status: ${pseudonym}; error=${error}; details=${JSON.stringify((err as Error).message)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      options.onTunnel?.({ req, status, bytes: 0, ms: Math.round(performance.now() - start) })
    }
    forward.resolve().then(async (base) => {
      const url = new URL(base)
      const { socket: tunnel } = await upgrade(`${url.origin}${url.pathname.replace(/\/$/, '')}/connect/${req.url ?? ''}`, {
        dispatcher: host.dispatcher,
        method: 'GET',
        protocol: CONNECT_UPGRADE,
        signal: controller.signal
      })
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      splice(socket, tunnel, head, (bytes) => { options.onTunnel?.({ req, status: 200, bytes, ms: Math.round(performance.now() - start) }) })
    }).catch(refuse)
  }

  return { request, connect }
}
