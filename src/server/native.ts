/**
 * The native HTTP transport, server side: listen multiaddrs such as `/ip4/127.0.0.1/tcp/0/tls/http`
 * become `node:http2` secure servers that speak HTTP/2 to clients offering `h2` by ALPN and HTTP/1.1 to
 * the rest (`allowHTTP1`; WebSocket upgrades are HTTP/1.1 only), plain `http.Server`s for `/http` (only
 * with `insecureAllowHTTP`); all feed the host's one request listener.
 *
 * @module
 */
import { lookup } from 'node:dns/promises'
import { Server as HTTPServer, createServer as createHTTPServer } from 'node:http'
import { createSecureServer } from 'node:http2'
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { CODE_DNS4, CODE_DNS6, CODE_IP4, CODE_IP6, CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { HTTPAddressShapeError, componentText, splitHTTPAddress } from '../addr/addressing.js'
import { InsecureHTTPError, InvalidListenAddressError, ListenError } from '../errors.js'
import type { HTTPAddressParts } from '../addr/addressing.js'
import { nodeServerOptions } from './limits.js'
import type { ResolvedServerLimits } from './limits.js'
import { asHTTP1Shape, giveUpBody, headerListSize, isHTTP2 } from './http2.js'
import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2'
import type { PeerId } from '@libp2p/interface'
import type { Component, Multiaddr } from '@multiformats/multiaddr'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { SecureContextOptions, TlsOptions } from 'node:tls'

/** TLS settings of `/tls/http` listeners: at least `key` and `cert` (or `pfx`), as `https.createServer` takes them. */
export type ListenTLSOptions = SecureContextOptions & Pick<TlsOptions, 'SNICallback' | 'requestCert' | 'rejectUnauthorized'>

/** A listen address taken apart. */
export interface ListenAddress {
  /** The address as given (for error messages). */
  input: string
  /** The host component (`ip4`, `ip6`, `dns`, `dns4`, `dns6`) and its value. */
  host: Component
  /** The port to bind; 0 picks a free one. Without `/tcp`: 443 for TLS, 80 for plain. */
  port: number
  tls: boolean
  /** A `/sni/<name>` to keep in the advertised address. */
  sni?: string
}

/**
 * Parse a listen address: `<host>[/tcp/<port>](/tls[/sni/<name>]/http | /https | /http)[/p2p/<own id>]`.
 *
 * @throws {InvalidListenAddressError} naming the offending component
 * @throws {InsecureHTTPError} for plain `/http` without `insecureAllowHTTP`
 */
export function parseListenAddress (input: string | Multiaddr, options: { insecureAllowHTTP?: boolean, peerId?: PeerId } = {}): ListenAddress {
  const text = input.toString()
  let ma: Multiaddr
  try {
    ma = typeof input === 'string' ? multiaddr(input) : input
  } catch (err) {
    throw new InvalidListenAddressError(text, `invalid listen multiaddr ${text}: ${(err as Error).message}`, { cause: err })
  }
  const bad = (why: string): InvalidListenAddressError => new InvalidListenAddressError(text, `cannot listen on ${text}: ${why}`)
  let parts: HTTPAddressParts
  try {
    parts = splitHTTPAddress(ma.getComponents())
  } catch (err) {
    if (!(err instanceof HTTPAddressShapeError)) throw err
    const c = err.component
    switch (err.why) {
      case 'dnsaddr':
        throw bad('/dnsaddr names TXT records, not a host to bind')
      case 'empty':
      case 'host':
        throw bad(`it must start with /ip4, /ip6, /dns, /dns4 or /dns6, not /${c?.name ?? ''}`)
      case 'port':
        throw bad(`${c == null ? '' : componentText(c)} is not a port`)
      case 'unexpected':
        throw bad(`unexpected ${c == null ? '' : componentText(c)}${c?.name === 'udp' || c?.name === 'quic-v1' ? ' (HTTP/3 listeners are not supported; use /tcp/<port>/tls/http)' : ''}`)
      default:
        throw bad('an HTTP listen address ends in /tls/http (or /http with insecureAllowHTTP)')
    }
  }
  for (const c of parts.after) {
    if (c.code !== CODE_P2P) {
      throw bad(`unexpected ${componentText(c)} after /http${c.name === 'http-path' ? ' (serve at a path with host.handle, not in the listen address)' : ''}`)
    }
    if (options.peerId != null && c.value !== options.peerId.toString()) {
      throw bad(`${componentText(c)} is not this host's peer id (${options.peerId.toString()})`)
    }
  }
  const { host, tls, sni } = parts
  const port = parts.port
  if (!tls && options.insecureAllowHTTP !== true) {
    throw new InsecureHTTPError(text)
  }
  return { input: text, host, port: port ?? (tls ? 443 : 80), tls, ...(sni == null ? {} : { sni }) }
}

/** Options for {@link listenNative}. */
export interface NativeListenOptions {
  /** Certificate and key for `/tls/http` listeners. */
  tls?: ListenTLSOptions
  /** Allow plain `/http` listeners. */
  insecureAllowHTTP?: boolean
  /** Appended as `/p2p/<id>` to the advertised addresses. */
  peerId?: PeerId
  /** Node server limits, as for the stream server. */
  server: ResolvedServerLimits
  onRequest: (req: IncomingMessage, res: ServerResponse) => void
  /** `Expect: 100-continue` requests (the listener decides whether to send `100 Continue`). */
  onCheckContinue?: (req: IncomingMessage, res: ServerResponse) => void
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
}

/** Running native listeners. */
export interface NativeListeners {
  /** The addresses served, ports resolved and wildcard addresses expanded, each with `/p2p/<id>` when known. */
  addrs: () => Multiaddr[]
  /** Stop accepting, give open requests `timeout` ms, then close every connection. Idempotent. */
  close: (timeout: number) => Promise<void>
}

/** A native listener: HTTP/2 with HTTP/1.1 (TLS), or HTTP/1.1 (plain, opt-in). */
type Server = HTTPServer | Http2SecureServer

/** Every TCP socket of a listener, upgraded ones included, so that close() can end them all. */
const sockets = new WeakMap<Server, Set<Socket>>()
/** The open HTTP/2 sessions of a listener: close() sends each a GOAWAY and lets its streams finish. */
const sessions = new WeakMap<Server, Set<Http2Session>>()

/**
 * The most streams one HTTP/2 client may have open at once (its SETTINGS_MAX_CONCURRENT_STREAMS; Node's
 * default is unbounded). RFC 9113 §6.5.2 recommends no less than 100.
 */
export const MAX_CONCURRENT_STREAMS = 100

interface Bound {
  /** One server per IP the address stands for (a name may resolve to an IPv4 and an IPv6 address). */
  servers: Server[]
  address: ListenAddress
  /** The IPs actually bound. */
  ips: string[]
  port: number
}

/** The IPs to bind for an address: itself, or everything a name resolves to (in its family). */
async function bindAddresses (address: ListenAddress): Promise<Array<{ ip: string, family: 4 | 6 }>> {
  const value = address.host.value ?? ''
  if (address.host.code === CODE_IP4) return [{ ip: value, family: 4 }]
  if (address.host.code === CODE_IP6) return [{ ip: value, family: 6 }]
  const family = address.host.code === CODE_DNS4 ? 4 : address.host.code === CODE_DNS6 ? 6 : 0
  try {
    const found = await lookup(value, { family, all: true })
    const unique = [...new Map(found.map(f => [f.address, { ip: f.address, family: f.family === 6 ? 6 as const : 4 as const }])).values()]
    if (unique.length === 0) throw new Error('no addresses')
    return unique
  } catch (err) {
    throw new ListenError(address.input, `cannot listen on ${address.input}: ${value} does not resolve (${(err as Error).message})`, { cause: err })
  }
}

function checkTLS (address: ListenAddress, options: NativeListenOptions): ListenTLSOptions {
  const tls = options.tls
  if (tls == null || ((tls.key == null || tls.cert == null) && tls.pfx == null && tls.SNICallback == null)) {
    throw new InvalidListenAddressError(address.input, `${address.input} is a TLS listener: pass tls: { key, cert } to createHTTPHost`)
  }
  return tls
}

/**
 * The request listener of a TLS listener: HTTP/2 requests are given their HTTP/1.1 shape (see
 * `http2.ts`) and, as Node enforces `requestTimeout` only on HTTP/1.1, bounded here: a client that has
 * not sent the whole request within it gets `408` (or a reset stream once the response has started).
 * A header list over `maxHeaderSize` gets `431`: nghttp2 holds a client to the advertised
 * SETTINGS_MAX_HEADER_LIST_SIZE only once the client has acknowledged it, and to 64 KiB until then.
 */
function http2Aware (listener: (req: IncomingMessage, res: ServerResponse) => void, { requestTimeout, maxHeaderSize }: ResolvedServerLimits): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (isHTTP2(req)) {
      const size = headerListSize(req.rawHeaders)
      asHTTP1Shape(req, res)
      if (size > maxHeaderSize) {
        if (!(req as unknown as Http2ServerRequest).stream.endAfterHeaders) giveUpBody(req)
        res.writeHead(431, { 'content-type': 'text/plain; charset=utf-8' })
        res.end('request header fields too large\n')
        return
      }
      // until the client has sent the whole request (END_STREAM): the stream's own 'end', which comes as
      // Node moves the body into `req`, read or not (past `req`'s buffer Node waits for the handler to
      // read, as on an HTTP/1.1 socket)
      const stream = (req as unknown as Http2ServerRequest).stream
      if (requestTimeout > 0 && !stream.endAfterHeaders && !stream.readableEnded) {
        const timer = setTimeout(() => {
          if (res.headersSent) {
            res.destroy()
          } else {
            giveUpBody(req)
            res.writeHead(408, { 'content-type': 'text/plain; charset=utf-8' })
            res.end('request timed out\n')
          }
        }, requestTimeout)
        const clear = (): void => { clearTimeout(timer) }
        stream.once('end', clear)
        stream.once('close', clear)
      }
    }
    listener(req, res)
  }
}

function createListener (address: ListenAddress, options: NativeListenOptions): Server {
  const limits = options.server
  const serverOptions = nodeServerOptions(limits)
  let server: Server
  if (address.tls) {
    const tls = checkTLS(address, options)
    const onRequest = http2Aware(options.onRequest, limits)
    // h2 for clients that offer it, HTTP/1.1 for the rest; never the `libp2p` ALPN the spec forbids here
    const secure = createSecureServer({
      ...tls,
      // TCP_NODELAY, as `https.Server` and `http.Server` set by default and `node:http2`'s server does
      // not: under Nagle a streamed HTTP/1.1 response (a chunk, then another a turn later) waited for
      // the client's delayed ACK, ~23 ms a request (issue 21)
      noDelay: true,
      allowHTTP1: true,
      ALPNProtocols: ['h2', 'http/1.1'],
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: limits.maxHeaderSize }
    }, onRequest as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void)
    // Node reads these from the server for its HTTP/1.1 connections (and starts their timer on 'listening')
    Object.assign(secure, serverOptions)
    if (options.onCheckContinue != null) {
      secure.on('checkContinue', http2Aware(options.onCheckContinue, limits) as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void)
    }
    const open = new Set<Http2Session>()
    sessions.set(secure, open)
    secure.on('session', (session: Http2Session) => {
      open.add(session)
      session.once('close', () => open.delete(session))
    })
    server = secure
  } else {
    server = createHTTPServer(serverOptions, options.onRequest)
    if (options.onCheckContinue != null) server.on('checkContinue', options.onCheckContinue)
  }
  // HTTP/1.1 connections and HTTP/2 sessions on which nothing moves for this long are closed
  server.setTimeout(limits.idleTimeout)
  server.on('upgrade', options.onUpgrade)
  const open = new Set<Socket>()
  sockets.set(server, open)
  server.on('connection', (socket: Socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
  })
  return server
}

async function listenOne (address: ListenAddress, options: NativeListenOptions): Promise<Bound> {
  if (address.tls) {
    checkTLS(address, options) // before any lookup
  }
  const targets = await bindAddresses(address)
  const bound: Bound = { servers: [], address, ips: [], port: address.port }
  try {
    for (const { ip, family } of targets) {
      const server = createListener(address, options)
      // every IP of a name on the same port: the advertised name:port must reach any of them
      const port = bound.servers.length === 0 ? address.port : bound.port
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          reject(new ListenError(address.input, `cannot listen on ${address.input} (${ip}): ${err.message}`, { cause: err }))
        }
        server.once('error', onError)
        server.listen({ host: ip, port, ipv6Only: family === 6 }, () => {
          server.off('error', onError)
          resolve()
        })
      })
      bound.servers.push(server)
      bound.ips.push(ip)
      bound.port = (server.address() as AddressInfo).port
    }
  } catch (err) {
    await Promise.all(bound.servers.map(async server => { await closeServer(server, 0) }))
    throw err
  }
  return bound
}

/** The interface addresses a wildcard bind covers (link-local IPv6 left out: it needs a zone). */
function expandWildcard (ip: string): string[] {
  const family = isIP(ip)
  if (!(ip === '0.0.0.0' || ip === '::')) {
    return [ip]
  }
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if ((family === 4 && info.family === 'IPv4') || (family === 6 && info.family === 'IPv6' && !info.address.startsWith('fe80'))) {
        out.push(info.address)
      }
    }
  }
  return out
}

function advertised (bound: Bound, peerId: PeerId | undefined): Multiaddr[] {
  const { address } = bound
  const suffix = `/tcp/${bound.port}${address.tls ? `/tls${address.sni == null ? '' : `/sni/${address.sni}`}/http` : '/http'}${peerId == null ? '' : `/p2p/${peerId.toString()}`}`
  const isName = address.host.code !== CODE_IP4 && address.host.code !== CODE_IP6
  if (isName) {
    // a name stays a name: the certificate is for it
    return [multiaddr(`/${address.host.name}/${address.host.value ?? ''}${suffix}`)]
  }
  return bound.ips.flatMap(expandWildcard).map(ip => multiaddr(`/${isIP(ip) === 6 ? 'ip6' : 'ip4'}/${ip}${suffix}`))
}

/**
 * Open one listener per address, all feeding `options.onRequest`. If any fails, those already open are
 * closed and the error is thrown.
 *
 * @throws {InvalidListenAddressError} | {InsecureHTTPError} | {ListenError}
 */
export async function listenNative (listen: Array<string | Multiaddr>, options: NativeListenOptions): Promise<NativeListeners> {
  const addresses = listen.map(addr => parseListenAddress(addr, options))
  const bound: Bound[] = []
  try {
    for (const address of addresses) {
      bound.push(await listenOne(address, options))
    }
  } catch (err) {
    await Promise.all(bound.flatMap(b => b.servers).map(async server => { await closeServer(server, 0) }))
    throw err
  }
  let closing: Promise<void> | undefined
  return {
    addrs: () => bound.flatMap(b => advertised(b, options.peerId)),
    close: async (timeout) => {
      closing ??= Promise.all(bound.flatMap(b => b.servers).map(async server => { await closeServer(server, timeout) })).then(() => {})
      await closing
    }
  }
}

async function closeServer (server: Server, timeout: number): Promise<void> {
  const closed = new Promise<void>(resolve => server.close(() => { resolve() }))
  // The HTTP/1.1 connection list is kept by Node's http module for both kinds of server
  const http1 = HTTPServer.prototype
  // Keep-alive connections that go idle after close() would hold it open: close them as they do.
  const sweep = setInterval(() => { http1.closeIdleConnections.call(server) }, 50)
  http1.closeIdleConnections.call(server)
  // HTTP/2: GOAWAY, then the session closes once its open streams are done
  for (const session of sessions.get(server) ?? []) session.close()
  const deadline = setTimeout(() => {
    // upgraded sockets (WebSockets) are not the HTTP server's any more, but still hold close() open
    for (const socket of sockets.get(server) ?? []) {
      socket.destroy()
    }
    for (const session of sessions.get(server) ?? []) session.destroy()
    http1.closeAllConnections.call(server)
  }, timeout)
  await closed
  clearInterval(sweep)
  clearTimeout(deadline)
}
