/**
 * The HTTP host of a web page (the package's `browser` entry): Node's `createHTTPHost` API where a
 * browser can do it. Wiring only, as `src/host.ts` is:
 *
 * - serving: `/http/1.1` streams are served by the HTTP/1.1 codec (`http1/server.ts`) with the
 *   {@link WebRouter} (well-known map, mounts, `/http-ping/1`, root); inbound streams counted by the
 *   same `StreamSlots` as Node's (`503` past them);
 * - fetching: targets routed by the same `routeTarget`/`selectTransport` as Node's; `/http/1.1` streams
 *   opened by the same `StreamOpener` and spoken by the codec (`http1/client.ts`); native `/tls/http`
 *   addresses fetched with the browser's own `fetch` (`native-fetch.ts`, Peer ID Authentication);
 * - protocols: the same `ProtocolService` (discovery cache and limits, protocol fetches, ping).
 *
 * What has no browser counterpart (native listeners, `http.Server` handlers, undici's dispatcher) is
 * not here; `src/browser.ts` says so by name.
 *
 * @module
 */
import { identityKey } from '../auth/identity-key.js'
import { HostClosedError, InvalidAuthOptionsError, InvalidLimitError, InvalidOptionError, LibP2PHTTPError, NoLibp2pError, NotInBrowserError, StreamResetError } from '../errors.js'
import { setServerPeer, setTransport } from '../identity.js'
import { hostNodeOfLibp2p } from '../node.js'
import { checkHostOptions } from '../options.js'
import { ProtocolService } from '../protocols/service.js'
import { MULTIADDR_URI_SCHEME } from '../addr/addressing.js'
import { absoluteLocation, hopChoice, redirectRefusal } from '../client/redirect.js'
import { REDIRECT_STATUSES, redirectStep } from '../client/redirect-rules.js'
import { routeLocation, routeTarget } from '../client/target.js'
import { StreamOpener } from '../stream/opener.js'
import { optimisticPreamble } from '../stream/optimistic.js'
import { HTTP_STREAM_PROTOCOL } from '../stream/protocol.js'
import { StreamSlots, addressKey } from '../stream/slots.js'
import { LRUMap } from '../util/lru.js'
import { fetchOverStream } from './http1/client.js'
import { serveStream } from './http1/server.js'
import { createNativeFetch } from './native-fetch.js'
import { PeerQueue } from './peer-queue.js'
import { WebRouter } from './router.js'
import type { PeerIdAuthOptions } from '../auth/identity-key.js'
import type { StreamPreamble } from '../stream/optimistic.js'
import type { CloseOptions, HTTPHostOptions } from '../host.js'
import type { HostNode, Libp2pLike } from '../node.js'
import type { ClientFetchInit } from '../client/host-client.js'
import type { FetchTarget, Route, RouterContext } from '../client/target.js'
import type { ProtocolsOptions, SetProtocolsOptions } from '../protocols/discovery.js'
import type { PingOptions } from '../protocols/ping.js'
import type { HostProtocols, ProtocolClient, ProtocolFetchOptions } from '../protocols/service.js'
import type { ProtocolMap } from '../protocols/well-known.js'
import type { MountOptions } from '../server/mount.js'
import type { ResolvedServerLimits } from '../server/limit-values.js'
import type { NativeFetch } from './native-fetch.js'
import type { WebErrorListener, WebHandler } from './router.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type { WebHandler, WebErrorListener } from './router.js'

/**
 * Options for the browser's `createHTTPHost`: Node's options where they apply, with the same names,
 * meanings and defaults. Native listeners (`listen`, `tls`, `auth.server`), undici's client options
 * (`clientTLS`, `onQueued`) and `streamAliases` are Node-only.
 */
export interface BrowserHTTPHostOptions extends Pick<HTTPHostOptions,
'discovery' | 'ping' | 'insecureAllowHTTP' | 'preferNativeHTTP' | 'resolveTxt' | 'maxInboundStreams' | 'maxInboundStreamsTotal' |
'server' | 'runOnLimitedConnection' | 'connectTimeout' | 'maxStreamsPerPeer' | 'streamProtocol' | 'streamNegotiation' | 'client'> {
  /** A js-libp2p node (WebSockets, WebRTC, WebTransport, as you configure it): enables `/http/1.1` streams, both serving and fetching. */
  libp2p?: Libp2pLike
  /**
   * Peer ID Authentication when fetching native `/tls/http` addresses: the key that proves us (the
   * node's when not given). Serving over HTTPS is Node-only, so `auth.server` is refused here.
   */
  auth?: Pick<PeerIdAuthOptions, 'privateKey' | 'maxTokens'>
  /**
   * Called with errors thrown by handlers (the peer gets a `500`).
   *
   * @default logs to `console.error`
   */
  onError?: WebErrorListener
}

/** Options for the browser host's `fetch`: the WHATWG `RequestInit`, and a peer's protocol to fetch within. */
export type BrowserFetchInit = RequestInit & Pick<ClientFetchInit, 'auth' | 'maxBodySize'> & ProtocolFetchOptions

/** The protocol methods, for fetch-style handlers. */
export type BrowserHostProtocols = Omit<HostProtocols, 'handle'> & {
  /** Serve `handler` for `protocol` under a path prefix and list it in the well-known map (see Node's `host.handle`). */
  handle: (protocol: string, handler: WebHandler, options?: MountOptions) => void
}

/** An HTTP host in a web page: serves fetch-style handlers to peers and fetches from them. */
export interface BrowserHTTPHost extends BrowserHostProtocols {
  /** The libp2p node's peer id, when the host has a node. */
  readonly peerId: PeerId | undefined
  /** Serve `handler` at `/` to every peer: it answers what no protocol mounted with `handle` does. */
  serve: (handler: WebHandler) => void
  /**
   * Fetch from a peer (or any http(s) URL, with the browser's fetch): targets as in Node. Resolves with a
   * WHATWG `Response` whose body streams; `serverPeer(response)` and `transportOf(response)` as in Node.
   *
   * @throws {InvalidTargetError} for a target that cannot be understood
   * @throws {DialError} when the peer cannot be dialled
   * @throws {ProtocolNotSupportedError} when the peer does not speak `/http/1.1`
   * @throws {StreamResetError} when the stream is reset before the response headers arrive
   */
  fetch: (target: FetchTarget, init?: BrowserFetchInit) => Promise<Response>
  /** The `http://<peer>/path` URL a target is fetched at over a stream (what `host.fetch` takes back as a target). */
  url: (target: FetchTarget) => Promise<string>
  /** The libp2p node's multiaddrs. */
  addrs: () => Multiaddr[]
  /** Stop serving and fetching. In-flight exchanges get `timeout` ms to finish, then are reset. Idempotent. */
  close: (options?: CloseOptions) => Promise<void>
}

/** A stream the host opened, with its connection. */
interface Opened {
  stream: Stream
  connection: Connection
  /** Set when the protocol was proposed optimistically: the codec sends it and checks the answer. */
  preamble?: StreamPreamble
  /**
   * Tells the opener the first stream of a connection is settled (idempotent): the codec does on the
   * peer's answer; the stream's close does if the codec never ran (an abort, a body that failed).
   */
  settle: (err?: Error) => void
}

/** Inbound streams a connection may open past `maxInboundStreams` that still get a `503` (Node's headroom). */
const BUSY_HEADROOM = 64

/** The answer to a stream over the limits, as Node's (RFC 9110 §15.6.4: a client can retry later). */
function busy (): Response {
  return new Response('too many concurrent streams\n', { status: 503, headers: { 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8' } })
}

/**
 * The request for the next hop, by the Fetch standard's rules (`redirectStep`): 303 (but for HEAD), and
 * 301/302 of a POST, become a GET without body; otherwise the method and body are repeated, which a
 * stream body cannot be; credentials are not sent to another origin.
 *
 * @throws {TypeError} when the redirect is not followed (a stream body to repeat, too many redirects)
 */
function redirectedInit (init: RequestInit, status: number, redirects: number, from: string, to: string): RequestInit {
  const method = (init.method ?? 'GET').toUpperCase()
  const body = init.body == null ? 'none' : init.body instanceof ReadableStream ? 'stream' : 'replayable'
  const step = redirectStep({ method, body, redirectCount: redirects }, status, from, to)
  if (!step.follow) {
    throw new TypeError(`fetch failed: ${step.reason}`)
  }
  if (step.dropHeaders.length === 0 && !step.dropBody && step.method === method) {
    return init
  }
  const headers = new Headers(init.headers)
  for (const name of step.dropHeaders) headers.delete(name)
  return { ...init, method: step.method, headers, ...(step.dropBody ? { body: undefined } : {}) }
}

/** Resolves when `stream` is closed or reset (at once when it already is). */
async function ended (stream: Stream): Promise<void> {
  if (stream.status === 'closed' || stream.status === 'reset' || stream.status === 'aborted') return
  await new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
}

/** `promise`, or the signal's reason as soon as it aborts; a value that comes too late goes to `late`. */
async function untilAborted<T> (promise: Promise<T>, signal: AbortSignal | undefined, late: (value: T) => void): Promise<T> {
  if (signal == null) return await promise
  signal.throwIfAborted()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then((value) => {
      if (signal.aborted) late(value)
      else resolve(value)
    }, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}

/** The browser host. */
export class WebHost implements BrowserHTTPHost {
  readonly #node: HostNode | undefined
  readonly #init: BrowserHTTPHostOptions
  readonly #limits: ResolvedServerLimits
  readonly #router: WebRouter
  readonly #protocols: ProtocolService<WebHandler, WebRouter>
  readonly #opener: StreamOpener<Opened>
  readonly #queue: PeerQueue
  readonly #context: RouterContext
  readonly #privateKey: ReturnType<typeof identityKey>
  /** The browser's fetch, and the same with Peer ID Authentication (with the host's key): one token cache per host. */
  readonly #plainFetch: NativeFetch
  readonly #authFetch: NativeFetch | undefined
  /** Addresses that came with targets, dialled before the peer store (bounded, as Node's `RouteMemory`). */
  readonly #addressHints = new LRUMap<string, Multiaddr[]>(1024)
  readonly #slots: StreamSlots
  /** Streams in use, served and fetched: reset when `close` runs out of time. */
  readonly #open = new Set<Stream>()
  readonly #protocolsServed: string[] = []
  #closing: Promise<void> | undefined

  constructor (node: HostNode | undefined, init: BrowserHTTPHostOptions) {
    if (((init as { listen?: unknown[] }).listen?.length ?? 0) > 0) {
      throw new NotInBrowserError('the `listen` option', 'native listeners are Node-only, a web page cannot accept connections (it serves over /http/1.1 streams)')
    }
    if ((init.auth as { server?: unknown } | undefined)?.server != null) {
      throw new NotInBrowserError('the `auth.server` option', 'Peer ID Authentication of clients runs on native listeners, which are Node-only')
    }
    this.#limits = checkHostOptions(init as HTTPHostOptions)
    this.#init = init
    this.#node = node
    this.#privateKey = identityKey(node, init.auth)
    this.#plainFetch = createNativeFetch()
    this.#authFetch = this.#privateKey == null ? undefined : createNativeFetch({ privateKey: this.#privateKey, maxTokens: init.auth?.maxTokens })
    this.#router = new WebRouter({ ping: init.ping, onError: init.onError })
    // protocol fetches go through this host's fetch; the init they pass on is the caller's (a DOM RequestInit)
    this.#protocols = new ProtocolService({ fetch: async (t, i) => await this.fetch(t, i as BrowserFetchInit), url: async (t) => await this.url(t) }, this.#router, init)
    this.#slots = new StreamSlots(init.maxInboundStreams ?? 256, init.maxInboundStreamsTotal ?? 4096)
    this.#queue = new PeerQueue(init.maxStreamsPerPeer ?? 32)
    const dialer = {
      dial: async (target: PeerId | Multiaddr | Multiaddr[], options?: { signal?: AbortSignal }) => {
        if (node == null) throw new NoLibp2pError()
        return await node.dial(target, options)
      },
      getConnections: (peer?: PeerId) => node?.getConnections?.(peer) ?? [],
      // what optimistic negotiation must know of the node (`stream/optimistic.ts`); without it, in full
      getMiddleware: node?.getMiddleware == null ? undefined : (protocol: string) => node.getMiddleware?.(protocol) ?? [],
      metrics: node?.metrics,
      peerStore: node?.peerStore
    }
    const protocol = init.streamProtocol ?? HTTP_STREAM_PROTOCOL
    this.#opener = new StreamOpener(dialer, {
      addressesOf: (peer) => this.#addressHints.get(peer.toString()),
      maxOutboundStreams: Math.max(init.maxStreamsPerPeer ?? 32, 64),
      streamNegotiation: init.streamNegotiation,
      streamProtocol: protocol,
      runOnLimitedConnection: init.runOnLimitedConnection ?? true
    }, (connection, stream, confirmWithin, onSettled) => {
      let settled = false
      const settle = (err?: Error): void => {
        if (settled) return
        settled = true
        onSettled?.(err)
      }
      const preamble = confirmWithin == null ? undefined : optimisticPreamble(protocol, connection.remotePeer.toString(), confirmWithin, settle)
      return { connection, stream, preamble, settle }
    })
    this.#context = {
      selection: { preferNativeHTTP: init.preferNativeHTTP, insecureAllowHTTP: init.insecureAllowHTTP },
      hasLibp2p: node != null,
      canAuthenticateServer: this.#privateKey != null,
      isConnected: (peer) => (node?.getConnections?.(peer).length ?? 0) > 0,
      identify: async (addr, signal) => {
        if (node == null) throw new NoLibp2pError()
        const bound = AbortSignal.timeout(init.connectTimeout ?? 10_000)
        return (await node.dial(addr, { signal: signal == null ? bound : AbortSignal.any([signal, bound]) })).remotePeer
      },
      resolveTxt: init.resolveTxt ?? (async () => {
        throw new InvalidOptionError('resolveTxt', 'a /dnsaddr target needs DNS TXT lookups, which a web page cannot make itself: pass resolveTxt (e.g. over DNS-over-HTTPS) to createHTTPHost')
      }),
      rememberAddresses: (peer, addrs, { replace }) => {
        if (replace || !this.#addressHints.has(peer.toString())) this.#addressHints.set(peer.toString(), addrs)
      },
      // the browser's fetch decides for itself what plain http: it may reach (mixed content)
      allowPlainOrigin: () => {},
      // the browser's fetch connects by name: a /tls/sni/<name> address is reached at that name
      sniHostname: (_connectHost, servername) => servername
    }
  }

  get peerId (): PeerId | undefined {
    return this.#node?.peerId
  }

  async start (): Promise<void> {
    const node = this.#node
    if (node == null) return
    const protocol = HTTP_STREAM_PROTOCOL
    await node.handle(protocol, (stream, connection) => { this.#onStream(stream, connection) }, {
      // above our own limit, so that an excess stream gets our 503 rather than libp2p's bare reset
      maxInboundStreams: (this.#init.maxInboundStreams ?? 256) + BUSY_HEADROOM,
      runOnLimitedConnection: this.#init.runOnLimitedConnection ?? true
    })
    this.#protocolsServed.push(protocol)
  }

  #onStream (stream: Stream, connection: Connection): void {
    if (this.#closing != null) {
      stream.abort(new Error('HTTP host is closing'))
      return
    }
    const slot = this.#slots.acquire(connection.remotePeer.toString(), addressKey(connection.remoteAddr))
    this.#open.add(stream)
    const served = slot == null
      ? serveStream(stream, connection, busy, { headersTimeout: 5000, requestTimeout: 5000 })
      : serveStream(stream, connection, this.#router.dispatch, this.#limits)
    // serveStream never rejects by contract; should it, the stream must not stay open unanswered
    void served.catch((err: unknown) => { stream.abort(err instanceof Error ? err : new Error(String(err))) }).finally(() => {
      this.#open.delete(stream)
      if (slot != null) this.#slots.release(slot)
    })
  }

  serve (handler: WebHandler): void { this.#router.serve(handler) }
  handle (protocol: string, handler: WebHandler, options?: MountOptions): void { this.#protocols.handle(protocol, handler, options) }
  unhandle (protocol: string): boolean { return this.#protocols.unhandle(protocol) }
  async protocols (target: FetchTarget, options?: ProtocolsOptions): Promise<Readonly<ProtocolMap>> { return await this.#protocols.protocols(target, options) }
  setProtocols (target: FetchTarget, map: ProtocolMap, options?: SetProtocolsOptions): void { this.#protocols.setProtocols(target, map, options) }
  forgetProtocols (target: FetchTarget): void { this.#protocols.forgetProtocols(target) }
  client (target: FetchTarget, protocol: string): ProtocolClient { return this.#protocols.client(target, protocol) }
  async ping (target: FetchTarget, options?: PingOptions): Promise<number> { return await this.#protocols.ping(target, options) }

  async url (target: FetchTarget): Promise<string> {
    return (await routeTarget(target, { ...this.#context, canAuthenticateServer: false })).url
  }

  addrs (): Multiaddr[] {
    return this.#node?.getMultiaddrs() ?? []
  }

  async fetch (target: FetchTarget, init: BrowserFetchInit = {}): Promise<Response> {
    if (this.#closing != null) {
      throw new HostClosedError()
    }
    const { protocol, path, auth, maxBodySize: max, ...requestInit } = init
    if (protocol != null || path != null) {
      return await this.#protocols.fetch(target, init as never)
    }
    const maxBodySize = max ?? this.#init.client?.maxBodySize ?? Infinity
    if (!(maxBodySize >= 0)) {
      throw new InvalidLimitError('maxBodySize', `maxBodySize must be a number ≥ 0 (or Infinity), not ${String(maxBodySize)}`)
    }
    const signal = requestInit.signal ?? undefined
    let route = await routeTarget(target, this.#context, signal)
    let current: RequestInit = requestInit
    for (let hops = 0; ; hops++) {
      const response = await this.#fetchOver(route, current, auth === true || route.peer != null, maxBodySize, hops > 0)
      // the browser's fetch follows its own redirects (http(s) Locations only); ours are the stream's
      const location = route.choice.transport === 'stream' ? response.headers.get('location') : null
      if (location == null || !REDIRECT_STATUSES.has(response.status)) {
        return response
      }
      if (current.redirect === 'manual') {
        // a relative Location from a multiaddr target comes back as an absolute multiaddr: URI, as in Node
        const absolute = route.addr == null ? undefined : absoluteLocation(location, route.url, route.addr)
        if (absolute != null) response.headers.set('location', absolute)
        return response
      }
      await response.body?.cancel().catch(() => {})
      if (current.redirect === 'error') {
        throw new TypeError(`fetch failed: ${response.status} redirect to ${location} with redirect: 'error'`)
      }
      const next = location.slice(0, MULTIADDR_URI_SCHEME.length).toLowerCase() === MULTIADDR_URI_SCHEME
        // Peer ID Authentication runs for the target's own peer only: a redirect must not reach a named peer's HTTPS address unproven
        ? routeLocation(location, { ...this.#context, canAuthenticateServer: false })
        : await routeTarget(new URL(location, route.url).toString(), { ...this.#context, canAuthenticateServer: false }, signal)
      current = redirectedInit(current, response.status, hops, new URL(route.url).origin, new URL(next.url).origin)
      const refusal = redirectRefusal(new URL(route.url).origin, new URL(next.url).origin, current.method ?? 'GET')
      if (refusal != null) throw refusal
      route = next
    }
  }

  /** One exchange along `route`, its transport recorded on the response (or the error). */
  async #fetchOver (route: Route, init: RequestInit, authenticate: boolean, maxBodySize: number, redirected: boolean): Promise<Response> {
    const choice = redirected ? hopChoice(route.url) : { transport: route.choice.transport, reason: route.choice.reason }
    try {
      const response = route.choice.transport === 'native'
        ? await this.#fetchNative(route, init, authenticate && !redirected)
        : await this.#fetchStream(route, init, maxBodySize)
      setTransport(response, choice)
      return response
    } catch (err) {
      if (err instanceof LibP2PHTTPError && !('transport' in err)) {
        // which transport failed, for the caller's diagnostics (as Node's host does)
        Object.defineProperty(err, 'transport', { value: choice, enumerable: false, configurable: true })
      }
      throw err
    }
  }

  async #fetchNative (route: Route, init: RequestInit, authenticate: boolean): Promise<Response> {
    if (!authenticate) {
      return await this.#plainFetch(route.url, init)
    }
    if (this.#authFetch == null) {
      // selectTransport goes native for a named peer only when the server can be authenticated
      throw new InvalidAuthOptionsError('auth', 'auth: true needs the host\'s private key: pass a js-libp2p node or auth.privateKey to createHTTPHost')
    }
    return await this.#authFetch(route.url, { ...init, peer: route.peer })
  }

  async #fetchStream (route: Route, init: RequestInit, maxBodySize: number): Promise<Response> {
    const peer = route.peer
    if (peer == null) {
      throw new NoLibp2pError() // routeTarget names the peer of every stream route
    }
    const signal = init.signal ?? undefined
    // made before anything is dialled: a bad method or body fails without touching the network
    const request = new Request(route.url, { ...init, duplex: 'half' } as RequestInit)
    const release = await this.#queue.acquire(peer.toString(), signal)
    let opened: Opened
    try {
      opened = await untilAborted(this.#opener.open(peer, this.#init.connectTimeout ?? 10_000), signal, (late) => {
        // the first stream of a connection holds the rest of a burst until it is settled: say so
        const err = new Error('the request was aborted')
        late.settle(err)
        late.stream.abort(err)
      })
    } catch (err) {
      release()
      throw err
    }
    const { stream } = opened
    this.#open.add(stream)
    void ended(stream).then(() => {
      this.#open.delete(stream)
      opened.settle(new StreamResetError('the stream closed before the peer confirmed the protocol'))
      release()
    })
    const client = this.#init.client
    const response = await fetchOverStream(stream, request, {
      signal,
      headersTimeout: client?.headersTimeout,
      bodyTimeout: client?.bodyTimeout,
      maxHeaderSize: client?.maxHeaderSize,
      maxBodySize,
      serverPeer: peer,
      preamble: opened.preamble
    })
    setServerPeer(response, peer)
    return response
  }

  async close (options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeout ?? 5000)
    await this.#closing
  }

  async #close (timeout: number): Promise<void> {
    this.#opener.close()
    for (const protocol of this.#protocolsServed.splice(0)) {
      await this.#node?.unhandle(protocol).catch(() => {})
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<void>(resolve => { timer = setTimeout(resolve, timeout) })
    await Promise.race([Promise.all([...this.#open].map(ended)), deadline])
    clearTimeout(timer)
    for (const stream of this.#open) {
      stream.abort(new HostClosedError())
    }
    this.#open.clear()
  }
}

/**
 * Create an HTTP host in a web page.
 *
 * @example
 * ```ts
 * import { createHTTPHost, remotePeer } from 'libp2phttp' // the browser entry, by the `browser` condition
 *
 * const host = await createHTTPHost({ libp2p })
 * host.serve((request) => new Response(`hello ${remotePeer(request)}`))
 * const res = await host.fetch(`multiaddr:${addr}/http-path/hello`)
 * ```
 *
 * @throws {InvalidOptionError} for an option that cannot work, naming it in `option`
 * @throws {NotInBrowserError} for a Node-only option (`listen`, `auth.server`)
 */
export async function createHTTPHost (init: BrowserHTTPHostOptions = {}): Promise<BrowserHTTPHost> {
  const host = new WebHost(init.libp2p == null ? undefined : hostNodeOfLibp2p(init.libp2p), init)
  await host.start()
  return host
}
