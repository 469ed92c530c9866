/**
 * The client side: one undici `Agent` whose `connect` opens `/http/1.1` streams for peer origins and
 * TCP/TLS sockets (the native HTTP transport) for everything else.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { Agent, Pool, buildConnector } from 'undici'
import { peerFromHostname } from './addressing.js'
import { InsecureHTTPError, InvalidTargetError } from './errors.js'
import { setBounded } from './lru.js'
import { createStreamConnector } from './stream/connect.js'
import type { StreamOpener } from './stream/connect.js'
import type { ConnectionOptions } from 'node:tls'
import type { Dispatcher } from 'undici'

/** TLS settings for native HTTPS requests, e.g. `{ ca }` to trust a self-signed server explicitly. */
export type ClientTLSOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'checkServerIdentity' | 'minVersion' | 'ciphers'>

/** Options for {@link createDispatcher}. */
export interface DispatcherOptions {
  /**
   * Requests in flight to one peer over `/http/1.1` streams; more wait in a queue. Each request is one
   * stream, and libp2p peers accept 32 inbound streams per protocol by default.
   *
   * @default 32
   */
  maxStreamsPerPeer?: number
  /**
   * Upper bound on dialling a peer and negotiating `/http/1.1`, in milliseconds.
   *
   * @default 30000
   */
  connectTimeout?: number
  /**
   * TLS settings for the native HTTP transport. Node's default trust store applies; a self-signed
   * server is trusted only when its certificate (or CA) is given here as `ca`.
   */
  clientTLS?: ClientTLSOptions
}

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
  readonly #routes = new Map<string, SNIRoute>()
  readonly #max: number

  constructor (max = 1024) {
    this.#max = max
  }

  /** The URL hostname that stands for `route`. */
  hostnameFor (route: SNIRoute): string {
    const hostname = `${createHash('sha256').update(`${route.connectHost}\n${route.servername}`).digest('hex').slice(0, 32)}${SNI_SUFFIX}`
    // least recently used first out: bounded however many addresses peers send us to
    setBounded(this.#routes, hostname, route, this.#max)
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

export function createDispatcher (opener: StreamOpener, options: DispatcherOptions = {}, state: DispatcherState = {}): Agent {
  const sni = state.sni ?? new SNIRoutes()
  const tlsConnect = buildConnector({ ...options.clientTLS, timeout: options.connectTimeout ?? 30_000 })
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
    tlsConnect(route == null ? opts : { ...opts, hostname: route.connectHost, servername: route.servername }, callback)
  }
  const streamConnect = createStreamConnector(opener, socketConnect, options.connectTimeout)
  return new Agent({
    factory: (origin, poolOptions) => {
      const { hostname, protocol } = new URL(origin)
      if (protocol === 'http:' && peerFromHostname(hostname) != null) {
        // One request per stream (libp2p+HTTP spec): keep-alive off, which also makes undici send
        // `Connection: close`.
        return new Pool(origin, {
          ...poolOptions,
          connect: streamConnect,
          pipelining: 0,
          connections: options.maxStreamsPerPeer ?? 32
        })
      }
      return new Pool(origin, { ...poolOptions, connect: socketConnect })
    }
  })
}

