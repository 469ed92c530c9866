/**
 * The consumer side of a forward proxy: a local proxy (`curl -x`, `HTTP_PROXY`, `HTTPS_PROXY`) whose
 * requests an exit peer performs. Absolute-form requests (`GET http://example.com/ HTTP/1.1`) go to the
 * exit's `/http/<host>:<port>/…`; `CONNECT host:443` becomes an upgrade to the exit's `/connect/…`
 * and then a byte tunnel, so TLS stays end to end between the client and the destination.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { forwardToPeer } from './consumer.js'
import { CONNECT_UPGRADE, EXIT_PROTOCOL } from './exit.js'
import { splice } from './splice.js'
import { classify } from './upstream.js'
import { proxyStatus } from './headers.js'
import { rawResponse } from '../server/raw-response.js'
import type { HTTPHost } from '../host.js'
import type { FetchTarget } from '../client/target.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
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
  /** Destroy the open CONNECT tunnels (a server's `close` waits for them otherwise). */
  closeTunnels: () => void
}

/**
 * An upgrade to `path` at `origin` through `dispatcher`: the socket on `101`, otherwise the status and
 * `Proxy-Status` of the refusal (undici's `upgrade()` turns any other answer into a bare socket error).
 */
async function upgradeThrough (dispatcher: Dispatcher, origin: string, path: string, signal: AbortSignal): Promise<{ socket: Duplex } | { status: number, proxyStatus?: string }> {
  return await new Promise((resolve, reject) => {
    let done = false
    const settle = (fn: () => void): void => { if (!done) { done = true; fn() } }
    dispatcher.dispatch({ origin, path, method: 'GET', upgrade: CONNECT_UPGRADE }, {
      onConnect (abort: (err?: Error) => void) {
        if (signal.aborted) abort(signal.reason as Error)
        else signal.addEventListener('abort', () => { abort(signal.reason as Error) }, { once: true })
      },
      onUpgrade (_status: number, _headers: Buffer[] | string[] | null, socket: Duplex) { settle(() => { resolve({ socket }) }) },
      onHeaders (status: number, headers: Buffer[] | string[] | null) {
        let proxyStatus: string | undefined
        for (let i = 0; headers != null && i + 1 < headers.length; i += 2) {
          if (headers[i].toString().toLowerCase() === 'proxy-status') proxyStatus = headers[i + 1].toString()
        }
        settle(() => { resolve({ status, proxyStatus }) })
        return true
      },
      onData () { return true },
      onComplete () {},
      onError (err: Error) { settle(() => { reject(err) }) }
    } as unknown as Dispatcher.DispatchHandler)
  })
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

  const tunnels = new Set<Duplex>()

  const request = (req: IncomingMessage, res: ServerResponse): void => {
    // the authority is parsed; the path and query go on byte for byte (no dot segments resolved, no
    // quotes escaped: the exit passes on what the client sent)
    const raw = /^(https?):\/\/([^/?#]*)([^#]*)$/i.exec(req.url ?? '')
    let url: URL | undefined
    try {
      url = raw != null && !/[\x00-\x20\x7f]/.test(raw[3]) ? new URL(`${raw[1]}://${raw[2]}`) : undefined
    } catch {}
    if (raw == null || url == null || url.username !== '' || url.password !== '') {
      res.statusCode = 400
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('this is a forward proxy: send absolute-form requests (curl -x) or CONNECT\n')
      return
    }
    const scheme = url.protocol.slice(0, -1)
    const port = url.port === '' ? (scheme === 'https' ? '443' : '80') : url.port
    const target = raw[3] === '' ? '/' : raw[3].startsWith('?') ? `/${raw[3]}` : raw[3]
    req.url = `/${scheme}/${url.hostname}:${port}${target}`
    // credentials for this proxy are not the exit's business (RFC 9110 §11.7.2); Host is the target's
    // authority, not what the client sent (RFC 9112 §3.2.2)
    const headers = req.rawHeaders
    req.rawHeaders = [...headers.filter((_v, i) => !['proxy-authorization', 'host'].includes(headers[i - (i % 2)].toLowerCase())), 'Host', url.host]
    forward(req, res)
  }

  const connect = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const start = performance.now()
    const controller = new AbortController()
    tunnels.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => { tunnels.delete(socket); controller.abort() })
    const answer = (status: number, statusValue: string): void => {
      socket.end(rawResponse(status, { 'Proxy-Status': statusValue }))
      options.onTunnel?.({ req, status, bytes: 0, ms: Math.round(performance.now() - start) })
    }
    const refuse = (err: unknown): void => {
      const { status, error } = classify(err)
      answer(status, proxyStatus(pseudonym, { error, details: (err as Error).message }))
    }
    forward.resolve().then(async (base) => {
      const url = new URL(base)
      const result = await upgradeThrough(host.dispatcher, url.origin, `${url.pathname.replace(/\/$/, '')}/connect/${req.url ?? ''}`, controller.signal)
      if ('status' in result) {
        // the exit refused (403 for a destination its policy forbids): its status and Proxy-Status come through
        answer(result.status, proxyStatus(pseudonym, { receivedStatus: result.status }, result.proxyStatus))
        return
      }
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      splice(socket, result.socket, head, (bytes) => { options.onTunnel?.({ req, status: 200, bytes, ms: Math.round(performance.now() - start) }) })
    }).catch(refuse)
  }

  /** End every tunnel (the grace is over). */
  const closeTunnels = (): void => {
    for (const socket of tunnels) socket.destroy()
  }

  return { request, connect, closeTunnels }
}
