/**
 * The client side: one undici `Agent` whose `connect` opens `/http/1.1` streams for peer origins and
 * TCP/TLS sockets (the native HTTP transport) for everything else: HTTP/1.1, or HTTP/2 where the server
 * offers it when asked (`http2: true`).
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import { Agent, Client, Dispatcher, Pool, buildConnector, errors } from 'undici'
import { peerOfURL } from '../addr/addressing.js'
import { DialError, InsecureHTTPError, InvalidTargetError } from '../errors.js'
import { ForwardingHandler } from './forwarding-handler.js'
import { headersDeadline } from './headers-deadline.js'
import { LRUMap } from '../util/lru.js'
import { createStreamConnector } from '../stream/connect.js'
import type { ProtocolNotSupportedError, ResponseError } from '../errors.js'
import type { SocketOpener } from '../stream/connect.js'
import type { ConnectionOptions, SecureContextOptions } from 'node:tls'

/** TLS settings for native HTTPS requests, e.g. `{ ca }` to trust a self-signed server explicitly. */
export type ClientTLSOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'checkServerIdentity' | 'minVersion' | 'ciphers'>

/** Options of the host's client: its dispatcher and how it reaches peers (part of `createHTTPHost`'s options). */
export interface DispatcherOptions {
  /**
   * Requests in flight to one peer over `/http/1.1` streams; more wait in a queue. Each request is one
   * stream, and libp2p peers accept 32 inbound streams per protocol by default (a `createHTTPHost`
   * peer accepts `maxInboundStreams`, 256): raise it for peers known to take more.
   *
   * @default 32
   */
  maxStreamsPerPeer?: number
  /**
   * Called each time a request to a peer has to wait because `maxStreamsPerPeer` requests to it are in
   * flight, with the peer's `http://<peer>` origin: a caller can tell its users why a request is slow.
   */
  onQueued?: (origin: string) => void
  /**
   * Upper bound on dialling a peer and negotiating `/http/1.1` (or opening a TCP/TLS connection for the
   * native transport), in milliseconds.
   *
   * @default 10000
   */
  connectTimeout?: number
  /**
   * How `/http/1.1` is negotiated on each new libp2p stream. `'optimistic'` (the default) sends the
   * protocol proposal in the same frame as the request, saving a round trip per request, once the first
   * stream on a connection has confirmed that the peer speaks `/http/1.1`; a peer that refuses it fails
   * the request with {@link ProtocolNotSupportedError} before anything of it is processed. `'full'`
   * waits for the confirmation on every stream, as libp2p's `newStream` does. Streams on relayed
   * connections, and on nodes with stream middleware for `/http/1.1` (`libp2p.use`), are always
   * negotiated in full.
   *
   * @default 'optimistic'
   */
  streamNegotiation?: 'optimistic' | 'full'
  /**
   * The libp2p protocol id of the streams opened for requests: plain HTTP/1.1 on each, as on
   * `/http/1.1`. Another id reaches peers that carry HTTP on their own protocol: a Kubo
   * `ipfs p2p listen --allow-custom-protocol /http …` provider (Kubo's p2p HTTP proxy convention).
   *
   * @default '/http/1.1'
   */
  streamProtocol?: string
  /**
   * Limits on the responses the client reads, for both transports (undici's `Pool` options). A server
   * that breaks one fails the request with a typed {@link ResponseError}.
   *
   * @default { headersTimeout: 300000, bodyTimeout: 300000, maxHeaderSize: 16384 }
   */
  client?: ClientLimits
  /**
   * Offer HTTP/2 (`h2` by ALPN) on the native HTTP transport and to other HTTPS servers: a server that
   * takes it gets many requests on one connection (one TCP and TLS handshake per origin instead of one
   * per concurrent request). Upgrades (WebSocket) always use HTTP/1.1. Off by default: undici 7's h2
   * client over Node's h2 costs about twice the CPU per small request of HTTP/1.1 keep-alive, at both
   * ends, and serves under half the requests per second at concurrency 1 (`bench/h2-vs-h1.ts`;
   * docs/decisions.md, issue 21).
   *
   * @default false
   */
  http2?: boolean
  /**
   * TLS settings for the native HTTP transport. Node's default trust store applies; a self-signed
   * server is trusted only when its certificate (or CA) is given here as `ca`.
   */
  clientTLS?: ClientTLSOptions
}

/** Limits on responses; see {@link DispatcherOptions.client}. */
export interface ClientLimits {
  /**
   * How long to wait for the final response's headers once the request is sent, in ms; interim 1xx
   * responses do not extend it. `0` waits forever.
   */
  headersTimeout?: number
  /** How long the response body may go without a byte arriving, in ms; `0` waits forever. */
  bodyTimeout?: number
  /** The most bytes the response status line and headers may take. */
  maxHeaderSize?: number
  /**
   * The most bytes a `host.fetch` response body may yield, after `Content-Encoding` is decoded (see
   * `FetchInit.maxBodySize`, which overrides it per request). Not applied to `host.dispatcher`.
   *
   * @default Infinity
   */
  maxBodySize?: number
}

/** The connect timeout when none is given, in ms. */
export const DEFAULT_CONNECT_TIMEOUT = 10_000

/** A `/tls/sni/<name>/http` endpoint: TCP to `connectHost`, `servername` as TLS server name and `Host`. */
export interface SNIRoute {
  connectHost: string
  servername: string
}

const SNI_SUFFIX = '.sni.invalid'

/**
 * URL hostnames for `/tls/sni/<name>/http` addresses. Such an address is reached at one host while
 * presenting another name, which a URL cannot say. Each (connect host, name) pair gets a hostname of its
 * own, `<hash>.sni.invalid`, that the connector turns back into the pair and an interceptor turns into
 * the `Host` header and TLS server name. A pair never changes what an ordinary URL reaches (a redirect
 * cannot re-point `https://example.com`), and `.invalid` never resolves should the hostname leak.
 */
export class SNIRoutes {
  /** Bounded: however many addresses peers send us to, least recently used first out. */
  readonly #routes: LRUMap<string, SNIRoute>

  constructor (max = 1024) {
    this.#routes = new LRUMap(max)
  }

  /** The URL hostname that stands for `route`. */
  hostnameFor (route: SNIRoute): string {
    const hostname = `${createHash('sha256').update(`${route.connectHost}\n${route.servername}`).digest('hex').slice(0, 32)}${SNI_SUFFIX}`
    this.#routes.set(hostname, route)
    return hostname
  }

  /** The route a hostname stands for; `null` for a forgotten one, `undefined` for any other hostname. */
  lookup (hostname: string): SNIRoute | null | undefined {
    if (!hostname.endsWith(SNI_SUFFIX)) {
      return undefined
    }
    return this.#routes.get(hostname) ?? null
  }
}

/**
 * `headers` (in any shape undici takes: an object, a flat array, an iterable of pairs) with `name`
 * set to `value`, replacing every earlier value of it.
 */
export function withHeader (headers: unknown, name: string, value: string): Record<string, string | string[]> | string[] {
  const lower = name.toLowerCase()
  if (headers != null && typeof headers === 'object' && !Array.isArray(headers) && Symbol.iterator in headers) {
    // a Map, a Headers, any iterable of [name, value]
    headers = [...(headers as Iterable<[string, string]>)]
  }
  if (Array.isArray(headers)) {
    // flat [name, value, …] (undici.request) or [[name, value], …]
    const flat: string[] = headers.flatMap((entry: unknown) => Array.isArray(entry) ? entry.map(String) : [String(entry)])
    const out: string[] = []
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i].toLowerCase() !== lower) out.push(flat[i], flat[i + 1])
    }
    return [...out, lower, value]
  }
  const out: Record<string, string | string[]> = {}
  for (const [key, v] of Object.entries((headers ?? {}) as Record<string, string | string[]>)) {
    if (key.toLowerCase() !== lower) out[key] = v
  }
  out[lower] = value
  return out
}

/** Sets `Host` and the TLS server name for requests to `<hash>.sni.invalid` origins. */
export function sniHostHeaders (routes: SNIRoutes): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const origin = options.origin == null ? undefined : new URL(options.origin)
    const route = origin == null ? undefined : routes.lookup(origin.hostname)
    if (origin == null || route == null) {
      return dispatch(options, handler)
    }
    const host = origin.port === '' ? route.servername : `${route.servername}:${origin.port}`
    return dispatch({ ...options, servername: route.servername, headers: withHeader(options.headers, 'host', host) } as Dispatcher.DispatchOptions, handler)
  }
}

/**
 * HTTP/2 flow-control windows the native client announces, in bytes: what a server may send on one
 * stream, and on the whole connection, before we acknowledge reading it. undici's defaults (256 KiB,
 * 512 KiB) make a server wait for a WINDOW_UPDATE every 256 KiB, a round trip each on a real link: a
 * 1 MiB download took 6–7.5 RTT at 40 ms against 1.6 for HTTP/1.1 (`npm run bench:latency`). They also
 * bound what a reader that stops reading leaves buffered (nghttp2 stops acknowledging): 4 MiB per
 * connection, as the command's yamux window bounds a stream.
 */
export const H2_STREAM_WINDOW = 2 * 1024 * 1024
export const H2_CONNECTION_WINDOW = 4 * 1024 * 1024

/** Build the dispatcher: undici's HTTP/1.1 client on libp2p streams for peer origins, undici's own sockets otherwise. */
/** What the dispatcher consults per connection. */
export interface DispatcherState {
  /** Routes of `/tls/sni/<name>/http` addresses. */
  sni?: SNIRoutes
  /**
   * Whether a plain `http:` origin may be connected to: the caller named it, or `insecureAllowHTTP`.
   * Anything else (a redirect from an HTTPS server) is refused, so a redirect cannot downgrade a
   * request to plaintext. Default: all allowed.
   */
  allowPlain?: (origin: string) => boolean
}

export function createDispatcher (opener: SocketOpener, options: DispatcherOptions = {}, state: DispatcherState = {}): Dispatcher {
  const sni = state.sni ?? new SNIRoutes()
  const tlsOptions = { ...options.clientTLS, timeout: options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT }
  const plainConnect = buildConnector(tlsOptions)
  const tlsConnectors = sharedContextConnectors(tlsOptions)
  const socketConnect: buildConnector.connector = (opts, callback) => {
    const origin = `${opts.protocol}//${opts.host}`
    if (opts.protocol === 'http:' && state.allowPlain?.(origin) === false) {
      callback(new InsecureHTTPError(`${origin} (not requested by the caller; a redirect?)`), null)
      return
    }
    const route = sni.lookup(opts.hostname)
    if (route === null) {
      callback(new InvalidTargetError(`${opts.hostname} stood for a /tls/sni address this host has forgotten (over 1024 newer ones): fetch the multiaddr again`), null)
      return
    }
    // a failed connect (refused, timed out, an untrusted certificate, a clientTLS that does not load) is a
    // DialError like a failed libp2p dial
    const connectors = opts.protocol === 'https:' ? tlsConnectors() : { h1: plainConnect, h2: plainConnect }
    if (connectors instanceof Error) {
      callback(new DialError(origin, `could not connect to ${origin}: clientTLS: ${connectors.message}`, { cause: connectors }), null)
      return
    }
    // undici passes `allowH2` to a custom connector per connection
    const connect = (opts as { allowH2?: boolean }).allowH2 === true ? connectors.h2 : connectors.h1
    connect(route == null ? opts : { ...opts, hostname: route.connectHost, servername: route.servername }, (err, socket) => {
      if (err != null) {
        callback(new DialError(origin, `could not connect to ${origin}: ${err.message}`, { cause: err }), null)
      } else {
        callback(null, socket)
      }
    })
  }
  const streamConnect = createStreamConnector(opener, socketConnect, options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT)
  const limits = {
    headersTimeout: options.client?.headersTimeout ?? 300_000,
    bodyTimeout: options.client?.bodyTimeout ?? 300_000,
    maxHeaderSize: options.client?.maxHeaderSize ?? 16_384
  }
  const dispatcher = new PeerDispatcher(
    (origin) => new Pool(origin, {
      ...limits,
      connect: streamConnect,
      // One request per stream (libp2p+HTTP spec): keep-alive off, which also makes undici send
      // `Connection: close`.
      pipelining: 0,
      connections: options.maxStreamsPerPeer ?? 32
    }),
    // HTTP/1.1 keep-alive; with `http2: true`, h2 where the server offers it by ALPN (many requests on
    // one connection)
    options.http2 === true
      ? new Agent({ ...limits, connect: socketConnect, allowH2: true, initialWindowSize: H2_STREAM_WINDOW, connectionWindowSize: H2_CONNECTION_WINDOW, factory: h2AwarePools(new LRUMap(1024)) }).compose(h2HeaderLimit(limits.maxHeaderSize))
      : new Agent({ ...limits, connect: socketConnect }),
    // Upgrades (WebSocket) stay on HTTP/1.1: over h2 undici needs RFC 8441's extended CONNECT, which
    // Node's server does not offer with allowHTTP1 (nor most web servers)
    new Agent({ ...limits, connect: socketConnect }),
    options.onQueued
  )
  // undici's headers timer restarts on every 1xx: the deadline for the final headers is kept here
  return dispatcher.compose(headersDeadline(limits.headersTimeout))
}

/** The `clientTLS` options that go into a TLS secure context; the others (`rejectUnauthorized`, `checkServerIdentity`, …) are per connection. */
const CONTEXT_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'ciphers', 'minVersion'] as const

/**
 * TLS connectors (HTTP/1.1 only, and offering `h2`) that share one secure context, built at the first
 * HTTPS connection (so that a `clientTLS` that does not load fails that request, as before) and kept,
 * or the error it gave. `tls.connect` otherwise builds a context per connection from `ca`/`cert`/`key`:
 * 0.2–0.35 ms of CPU on every new connection, in front of its handshake (issue 21).
 */
function sharedContextConnectors (tlsOptions: ClientTLSOptions & { timeout: number }): () => { h1: buildConnector.connector, h2: buildConnector.connector } | Error {
  let built: { h1: buildConnector.connector, h2: buildConnector.connector } | Error | undefined
  return () => {
    if (built === undefined) {
      try {
        const contextOptions: SecureContextOptions = {}
        for (const key of CONTEXT_OPTIONS) {
          if (tlsOptions[key] !== undefined) (contextOptions as Record<string, unknown>)[key] = tlsOptions[key]
        }
        const shared = { ...tlsOptions, secureContext: createSecureContext(contextOptions) }
        built = { h1: buildConnector(shared), h2: buildConnector({ ...shared, allowH2: true }) }
      } catch (err) {
        built = err instanceof Error ? err : new Error(String(err))
      }
    }
    return built
  }
}

/**
 * `maxHeaderSize` for HTTP/2 responses: undici applies it to HTTP/1.1 only (llhttp), and hands an h2
 * response's headers over up to nghttp2's 64 KiB. Counted as on HTTP/1.1 (`name: value` and CRLF), so
 * that a response fits the same limit over both; past it, undici's HTTP/1.1 error.
 */
class HeaderLimitHandler extends ForwardingHandler {
  readonly #max: number

  constructor (inner: Dispatcher.DispatchHandler, max: number) {
    super(inner)
    this.#max = max
  }

  override onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    let size = 0
    for (const [name, value] of Object.entries(headers)) {
      for (const one of Array.isArray(value) ? value : [value]) size += name.length + one.length + 4
    }
    if (size > this.#max) {
      controller.abort(new errors.HeadersOverflowError())
      return
    }
    super.onResponseStart(controller, statusCode, headers, statusMessage)
  }
}

function h2HeaderLimit (max: number): Dispatcher.DispatcherComposeInterceptor {
  return dispatch => (options, handler) => dispatch(options, new HeaderLimitHandler(handler, max))
}

/**
 * In-flight requests on one HTTP/2 connection: the streams Node's server allows (`MAX_CONCURRENT_STREAMS`
 * of `server/native.ts`, and nghttp2 queues past what a server announces).
 */
export const H2_STREAMS_PER_CONNECTION = 100

/**
 * undici 7's `Pool` factory for the native transport's `Agent`, so that an h2 connection carries many
 * requests: undici 7 lets a connection run `pipelining` requests at once for h2 as for HTTP/1.1 (default
 * 1: every concurrent request a connection of its own). Each connection's `pipelining` is set from the
 * protocol ALPN chose, before any request is written: {@link H2_STREAMS_PER_CONNECTION} for `h2`, 1 for
 * HTTP/1.1 (never HTTP/1.1 pipelining). Origins seen speaking h2 are remembered (`h2Origins`, bounded), so
 * that their later connections start at the h2 figure and a burst of requests waits for one connection
 * instead of opening one each; the first burst to a new origin still opens several (undici issue 4143).
 */
function h2AwarePools (h2Origins: LRUMap<string, true>): (origin: URL, options: Pool.Options) => Dispatcher {
  return (origin, poolOptions) => new Pool(origin, {
    ...poolOptions,
    factory: (clientOrigin, clientOptions) => {
      const key = clientOrigin.toString()
      const connect = (clientOptions as { connect: buildConnector.connector }).connect
      const client: Client = new Client(clientOrigin, {
        ...clientOptions,
        pipelining: h2Origins.get(key) === true ? H2_STREAMS_PER_CONNECTION : 1,
        connect: (opts, callback) => {
          connect(opts, (err, socket) => {
            if (socket != null) {
              const h2 = (socket as { alpnProtocol?: string | false }).alpnProtocol === 'h2'
              if (h2) h2Origins.set(key, true)
              else h2Origins.delete(key)
              client.pipelining = h2 ? H2_STREAMS_PER_CONNECTION : 1
            }
            callback(err, socket as never)
          })
        }
      })
      return client
    }
  })
}

/**
 * Peer origins to one `Pool` each, everything else to an `Agent`. Not an `Agent` for peers: undici's
 * Agent closes an origin's pool as soon as it has no connection, which with one request per stream is
 * after every request, so each request paid for a new pool. Pools live in an LRU of 1024 peers.
 */
class PeerDispatcher extends Dispatcher {
  // Not #private fields: compose() wraps the dispatcher in a Proxy, through which methods are called.
  private readonly peers = new LRUMap<string, Pool>(1024, (_origin, pool) => { pool.close().catch(() => {}) })
  private readonly newPool: (origin: string) => Pool
  private readonly agent: Dispatcher
  private readonly http1Agent: Agent
  private readonly onQueued: ((origin: string) => void) | undefined

  constructor (newPool: (origin: string) => Pool, agent: Dispatcher, http1Agent: Agent, onQueued?: (origin: string) => void) {
    super()
    this.newPool = newPool
    this.agent = agent
    this.http1Agent = http1Agent
    this.onQueued = onQueued
  }

  override dispatch (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = typeof options.origin === 'string' ? options.origin : options.origin?.toString() ?? ''
    if (peerOfURL(origin) == null) {
      const upgrade = options.upgrade != null || options.method === 'CONNECT'
      return (upgrade ? this.http1Agent : this.agent).dispatch(options, handler)
    }
    const key = new URL(origin).origin
    let pool = this.peers.get(key)
    if (pool == null || pool.closed || pool.destroyed) {
      pool = this.newPool(key)
      this.peers.set(key, pool)
      const opened = pool
      // undici reconnects for a request that was aborted while its socket closed, finds it aborted, and
      // leaves the new stream idle for good. A connection with nothing to do is closed with its pool
      // (the next request makes a new one), as undici's Agent would close an unused pool.
      opened.on('connect', () => {
        setImmediate(() => {
          const stats = opened.stats
          if (stats.running === 0 && stats.pending === 0 && stats.queued === 0 && !opened.closed) {
            if (this.peers.get(key) === opened) this.peers.delete(key)
            opened.close().catch(() => {})
          }
        })
      })
    }
    const free = pool.dispatch(options, handler)
    // the pool's own queue holds requests no stream could be opened for (all its connections busy)
    if (this.onQueued != null && pool.stats.queued > 0) this.onQueued(key)
    return free
  }

  override close (): Promise<void>
  override close (callback: () => void): void
  override close (callback?: () => void): Promise<void> | undefined {
    const done = Promise.all([this.agent.close(), this.http1Agent.close(), ...[...this.peers.values()].map(async pool => { await pool.close() })]).then(() => {})
    if (callback == null) return done
    done.then(callback, callback)
  }

  override destroy (): Promise<void>
  override destroy (err: Error | null): Promise<void>
  override destroy (callback: () => void): void
  override destroy (err: Error | null, callback: () => void): void
  override destroy (errOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | undefined {
    const err = typeof errOrCallback === 'function' ? null : errOrCallback ?? null
    const done = Promise.all([this.agent.destroy(err), this.http1Agent.destroy(err), ...[...this.peers.values()].map(async pool => { await pool.destroy(err) })]).then(() => {})
    const cb = typeof errOrCallback === 'function' ? errOrCallback : callback
    if (cb == null) return done
    done.then(cb, cb)
  }
}


