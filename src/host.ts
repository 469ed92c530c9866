/**
 * HTTPHost: composition only. One request listener fed by the stream server and the native listeners,
 * one dispatcher used by `fetch`.
 *
 * @module
 */
import { resolveTxt } from 'node:dns/promises'
import { STATUS_CODES, Server, createServer } from 'node:http'
import { debuglog } from 'node:util'
import { Headers as UndiciHeaders, fetch as undiciFetch } from 'undici'
import { peerOfURL } from './addr/addressing.js'
import { AuthClient, fetchAuth, peerIdAuthInterceptor } from './auth/client.js'
import { identityKey } from './auth/identity-key.js'
import { certificateNames, createAuthGuards, needsPeerIdAuth } from './auth/server.js'
import { DEFAULT_CONNECT_TIMEOUT, SNIRoutes, createDispatcher, sniHostHeaders } from './client/dispatcher.js'
import { HostClosedError, InvalidAuthOptionsError, InvalidLimitError, LibP2PHTTPError, NoLibp2pError, PeerAuthUnsupportedError } from './errors.js'
import { setServerPeer, setTransport } from './identity.js'
import { declaresTooLarge, nodeServerOptions, refuseLargeBody, refuseMalformed, resolveServerLimits } from './server/limits.js'
import { LRUMap } from './util/lru.js'
import { listenNative } from './server/native.js'
import { rewriteUrl } from './server/original-url.js'
import { ProtocolService } from './protocols/service.js'
import { absoluteLocation, guardRedirects, hopChoice, multiaddrLocations } from './client/redirect.js'
import { admitRequest } from './server/request-checks.js'
import type { RequestFault } from './server/request-checks.js'
import { KeepContentEncoding, boundedBody, rebuildResponse } from './client/response-body.js'
import { typedResponseErrors } from './client/response-errors.js'
import { StreamOpener } from './stream/connect.js'
import { aliasedTarget } from './stream/alias.js'
import { HTTP_STREAM_PROTOCOL, listenOnStreams } from './stream/server.js'
import { StreamSocket } from './stream/socket.js'
import { routeLocation, routeTarget } from './client/target.js'
import type { AuthGuards } from './auth/server.js'
import type { AuthRequest, FetchAuth } from './auth/client.js'
import type { PeerIdAuthOptions } from './auth/identity-key.js'
import type { DispatcherOptions } from './client/dispatcher.js'
import type { ProtocolsOptions, SetProtocolsOptions } from './protocols/discovery.js'
import type { ResponseBodyTooLargeError } from './errors.js'
import type { TxtResolver } from './addr/dnsaddr.js'
import type { Handler } from './server/handler.js'
import type { ResolvedServerLimits, ServerLimits } from './server/limits.js'
import type { MountOptions } from './server/mount.js'
import type { ListenTLSOptions, NativeListeners } from './server/native.js'
import type { PingOptions } from './protocols/ping.js'
import type { HostProtocols, ProtocolClient, ProtocolFetchOptions, ProtocolsInit } from './protocols/service.js'
import type { FetchTarget, Route, RouterContext } from './client/target.js'
import type { StreamAlias } from './stream/alias.js'
import type { StreamDialer } from './stream/connect.js'
import type { StreamListener, StreamRegistrar } from './stream/server.js'
import type { ProtocolMap } from './protocols/well-known.js'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Dispatcher, RequestInit as UndiciRequestInit } from 'undici'

const debug = debuglog('libp2phttp')

/** The part of a js-libp2p node an HTTPHost uses. A `Libp2p` from `createLibp2p` fits. */
export interface Libp2pLike extends StreamRegistrar, StreamDialer {
  peerId: PeerId
  getMultiaddrs: () => Multiaddr[]
  /** Open connections (to `peer`): reused for requests, and a reason to prefer the stream transport. */
  getConnections?: (peer?: PeerId) => Connection[]
}

/** Options for {@link createHTTPHost}. */
export interface HTTPHostInit extends DispatcherOptions, ProtocolsInit {
  /** A js-libp2p node: enables HTTP over `/http/1.1` streams, both serving and fetching. */
  libp2p?: Libp2pLike
  /**
   * Native HTTP transport listeners, e.g. `/ip4/0.0.0.0/tcp/8443/tls/http` (`/https` is read as
   * `/tls/http`; port 0 picks a free port; `/dns4/localhost/…` binds what the name resolves to).
   * Each serves the same handlers as the stream transport. Plain `/http` needs `insecureAllowHTTP`.
   */
  listen?: Array<string | Multiaddr>
  /** Certificate and key of the `/tls/http` listeners (as `https.createServer` takes them). */
  tls?: ListenTLSOptions
  /**
   * Allow plain-text HTTP: `/http` listeners, and fetching `/http` multiaddrs. The libp2p+HTTP spec
   * forbids plaintext on the HTTP transport; keep this for tests and loopback.
   *
   * @default false
   */
  insecureAllowHTTP?: boolean
  /**
   * Use a peer's HTTP transport address even when a libp2p connection to it is open (see
   * `selectTransport` for all the rules).
   *
   * @default false
   */
  preferNativeHTTP?: boolean
  /**
   * Looks up DNS TXT records for `/dnsaddr` targets.
   *
   * @default `resolveTxt` from `node:dns/promises`
   */
  resolveTxt?: TxtResolver
  /**
   * How many `/http/1.1` streams one peer may have open to us at once. Streams past it are answered
   * `503 Service Unavailable` (with `Retry-After`) and closed, without reaching a handler.
   *
   * @default 256
   */
  maxInboundStreams?: number
  /**
   * How many `/http/1.1` streams all peers together may have open to us at once; past it, `503`. The
   * last eighth is kept for peers that hold fewer than 4 streams (at most half of it per remote
   * address), so peers holding many streams cannot lock a new one out.
   *
   * @default 4096
   */
  maxInboundStreamsTotal?: number
  /**
   * Limits of the HTTP/1.1 server that parses requests (Node's `http.Server` options, plus a request
   * body limit), for streams and native listeners alike. See {@link ServerLimits}.
   *
   * @default { headersTimeout: 60000, requestTimeout: 300000, maxHeaderSize: 16384, idleTimeout: 300000, maxRequestBodySize: Infinity }
   */
  server?: ServerLimits
  /**
   * When an exchange is over, how long the peer may take to accept the rest of our output (it must
   * keep reading) before the stream is reset, in ms.
   *
   * @default 60000
   */
  lingerTimeout?: number
  /**
   * Stream protocol ids answered like `/http/1.1` (plain HTTP/1.1 on each stream, the same limits),
   * each for one mount: Kubo's p2p HTTP proxy opens `/http` and `/x/<name>/http` (see {@link StreamAlias}).
   *
   * @default []
   */
  streamAliases?: readonly StreamAlias[]
  /**
   * Serve and fetch `/http/1.1` over limited connections: those a circuit relay carries for peers that
   * cannot reach each other directly (behind NATs). A node only has such connections when it was given
   * a relay (a `/p2p-circuit` listen address, or a relayed target), so a relay that is configured works.
   * The relay's limits still apply: an exchange it cuts short fails with `RelayLimitError`
   * (`ERR_RELAY_LIMIT`, naming the `data` or `duration` limit). A direct connection, when DCUtR gets
   * one, is always preferred. `false` leaves relayed connections to libp2p's own protocols.
   *
   * @default true
   */
  runOnLimitedConnection?: boolean
  /**
   * Called with errors thrown by handlers (the client gets a 500, or a reset stream when the response
   * had already started).
   *
   * @default logs to `console.error`
   */
  onError?: (err: unknown, req: IncomingMessage) => void
  /**
   * Peer ID Authentication over the native transport (libp2p specs `http/peer-id-auth.md`). With a
   * signing key (the node's, or `auth.privateKey`) the host proves servers named by `/http/p2p/<id>`
   * targets; `auth.server` makes the native listeners require it of clients.
   */
  auth?: PeerIdAuthOptions
}

/** Options for `host.fetch`: the WHATWG `RequestInit` (as undici takes it), and a peer's protocol to fetch within. */
export type FetchInit = Omit<UndiciRequestInit, 'dispatcher'> & ProtocolFetchOptions & {
  /**
   * Run Peer ID Authentication with a server reached over the native transport, and give its peer id in
   * `serverPeer(res)`. Always on for targets that name a peer (`/tls/http/p2p/<id>`), whose proven id
   * must then match.
   *
   * @default false
   */
  auth?: boolean
  /**
   * Decode the body's `Content-Encoding` (gzip, deflate, br, zstd), as WHATWG fetch does. `false` gives
   * the bytes as sent, with `Content-Encoding` still in the headers (what `libp2phttp fetch` writes without
   * `--compressed`). Fetch still sends its default `Accept-Encoding` unless the request sets one.
   *
   * @default true
   */
  decompress?: boolean
  /**
   * The most bytes the `Response` body may yield, counted after decoding: a small compressed body can
   * decode to gigabytes. Past it, reading the body fails with {@link ResponseBodyTooLargeError}
   * (`ERR_RESPONSE_BODY_TOO_LARGE`) and the request is aborted.
   *
   * @default the host's `client.maxBodySize` (`Infinity`)
   */
  maxBodySize?: number
}

/** Options for {@link HTTPHost.close}. */
export interface CloseOptions {
  /**
   * How long in-flight requests (served and fetched) may take to finish before they are reset, in ms.
   *
   * @default 5000
   */
  timeout?: number
}

/** An HTTP host: serves handlers to peers and fetches from them. */
export interface HTTPHost extends HostProtocols {
  /** The libp2p node's peer id, when the host has a node. */
  readonly peerId: PeerId | undefined
  /**
   * The undici dispatcher that reaches peers: pass it to undici's `fetch`, `request`, `WebSocket` or
   * `EventSource` (`{ dispatcher: host.dispatcher }`) with URLs from {@link HTTPHost.url}.
   */
  readonly dispatcher: Dispatcher
  /**
   * Serve `handler` at `/` to every peer: it answers what no protocol mounted with `handle` does.
   * Replaces the previous root handler. It has no protocol id, so the well-known map does not list it.
   *
   * @throws {MountConflictError} when a protocol is mounted at `/`
   */
  serve: (handler: Handler) => void
  /**
   * Fetch from a peer (or any http(s) URL). `target` is a `multiaddr:` URI (optionally ending in
   * `/http-path/<percent-encoded path>`), a `Multiaddr` or list of them, a `PeerId`, `{ peer, path }`,
   * or a URL. Resolves with a WHATWG `Response` whose body streams.
   *
   * @throws {InvalidTargetError} for a target that cannot be understood
   * @throws {DialError} when the peer cannot be dialled
   * @throws {ProtocolNotSupportedError} when the peer does not speak `/http/1.1`
   * @throws {StreamResetError} when the stream is reset before the response headers arrive
   */
  fetch: (target: FetchTarget, init?: FetchInit) => Promise<Response>
  /**
   * The `http://<peer>/path` URL that {@link HTTPHost.dispatcher} routes to `target` over libp2p. The
   * dispatcher alone does not run Peer ID Authentication, so a target naming a peer never gets that
   * peer's HTTPS URL here: it gets a stream URL, or `PeerAuthRequiredError`.
   */
  url: (target: FetchTarget) => Promise<string>
  /**
   * Where requests for `target` go, and the dispatcher that takes them there: for a target naming a peer
   * at an HTTPS address, that address and a dispatcher that runs Peer ID Authentication with the host's
   * key on every request, failing any whose server is not that peer; otherwise {@link HTTPHost.url} and
   * {@link HTTPHost.dispatcher}. For clients that send many requests to one peer with undici's own API
   * (`forwardToPeer` does). A request body that is a stream cannot be sent twice: should the server
   * refuse a cached token, that request fails with `PeerAuthNotReplayableError`.
   *
   * @throws {InvalidAuthOptionsError} when the target needs Peer ID Authentication and the host has no key
   */
  dispatcherFor: (target: FetchTarget) => Promise<{ url: string, dispatcher: Dispatcher }>
  /**
   * This host's addresses: the libp2p node's multiaddrs, then the native listeners' (real ports,
   * wildcard binds expanded to interface addresses), each ending in `/p2p/<id>` when there is a node.
   */
  addrs: () => Multiaddr[]
  /** Stop serving and fetching. In-flight requests get `timeout` ms to finish. Idempotent. */
  close: (options?: CloseOptions) => Promise<void>
}

function defaultOnError (err: unknown): void {
  console.error('libp2phttp: handler failed:', err)
}

class Host implements HTTPHost {
  readonly dispatcher: Dispatcher
  readonly #libp2p: Libp2pLike | undefined
  readonly #init: HTTPHostInit
  readonly #server: Server
  readonly #limits: ResolvedServerLimits
  /** Addresses that came with targets, dialled before the peer store; bounded (1024 peers). */
  readonly #addressHints = new LRUMap<string, Multiaddr[]>(1024)
  readonly #sni = new SNIRoutes()
  /** Plain `http:` origins the caller asked for itself (bounded); redirects elsewhere stay on TLS. */
  readonly #plainOrigins = new LRUMap<string, true>(1024)
  readonly #agent: Dispatcher
  /** The agent with SNI `Host` headers: what a `redirect: 'manual'` fetch uses. */
  readonly #sniAgent: Dispatcher
  readonly #router: RouterContext
  readonly #protocols: ProtocolService
  #native: NativeListeners | undefined
  #streams: StreamListener | undefined
  #closing: Promise<void> | undefined
  readonly #authClient: AuthClient | undefined
  readonly #authGuard: AuthGuards | undefined

  constructor (init: HTTPHostInit) {
    this.#init = init
    this.#libp2p = init.libp2p
    const privateKey = identityKey(init.libp2p, init.auth)
    this.#authClient = privateKey == null ? undefined : new AuthClient({ privateKey, maxTokens: init.auth?.maxTokens })
    // Behind TLS, sign only for the names the certificate covers unless told otherwise: a relay must
    // not get signatures for a name it chose (spec-notes §4.5; go checks Host = SNI only)
    const serverAuth = init.auth?.server == null ? undefined : { ...init.auth.server, hostnames: init.auth.server.hostnames ?? certificateNames(init.tls?.cert) }
    this.#authGuard = privateKey == null || serverAuth == null ? undefined : createAuthGuards({ ...serverAuth, privateKey })
    this.#limits = resolveServerLimits(init.server)
    this.#server = createServer(nodeServerOptions(this.#limits), (req, res) => { this.#onRequest(req, res) })
    // A stream on which nothing moves either way (a peer that stopped reading our response) is closed.
    this.#server.timeout = this.#limits.idleTimeout
    // The server never listens on a port of its own; 'listening' starts the timer that enforces
    // headersTimeout and requestTimeout on the sockets it is given.
    this.#server.emit('listening')
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { this.#onUpgrade(req, socket, head) })
    this.#server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => { this.#onCheckContinue(req, res) })
    const opener = new StreamOpener({
      dial: async (target, options) => {
        if (this.#libp2p == null) {
          throw new NoLibp2pError()
        }
        return await this.#libp2p.dial(target, options)
      },
      getConnections: (peer) => this.#libp2p?.getConnections?.(peer) ?? []
    }, {
      addressesOf: (peer) => this.#addressHints.get(peer.toString()),
      maxOutboundStreams: Math.max(init.maxStreamsPerPeer ?? 32, 64),
      streamNegotiation: init.streamNegotiation,
      streamProtocol: init.streamProtocol,
      runOnLimitedConnection: init.runOnLimitedConnection ?? true
    })
    this.#agent = createDispatcher(opener, init, {
      sni: this.#sni,
      allowPlain: (origin) => init.insecureAllowHTTP === true || this.#plainOrigins.has(origin)
    })
    this.#router = {
      selection: { preferNativeHTTP: init.preferNativeHTTP, insecureAllowHTTP: init.insecureAllowHTTP },
      hasLibp2p: this.#libp2p != null,
      canAuthenticateServer: privateKey != null,
      isConnected: (peer) => (this.#libp2p?.getConnections?.(peer).length ?? 0) > 0,
      identify: async (addr, signal) => {
        if (this.#libp2p == null) {
          throw new NoLibp2pError()
        }
        const bound = AbortSignal.timeout(init.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT)
        const connection = await this.#libp2p.dial(addr, { signal: signal == null ? bound : AbortSignal.any([signal, bound]) })
        return connection.remotePeer
      },
      resolveTxt: init.resolveTxt ?? resolveTxt,
      rememberAddresses: (peer, addrs, { replace }) => {
        if (replace || !this.#addressHints.has(peer.toString())) {
          this.#addressHints.set(peer.toString(), addrs)
        }
      },
      allowPlainOrigin: (origin) => { this.#plainOrigins.set(origin, true) },
      sniHostname: (connectHost, servername) => this.#sni.hostnameFor({ connectHost, servername })
    }
    this.#sniAgent = this.#agent.compose(sniHostHeaders(this.#sni), typedResponseErrors())
    this.dispatcher = this.#sniAgent.compose(multiaddrLocations((uri) => {
      // Peer ID Authentication runs per host.fetch, for the target's own peer: a redirect (and a URL
      // used with the bare dispatcher) must not reach a named peer's HTTPS address unproven
      const route = routeLocation(uri, { ...this.#router, canAuthenticateServer: false })
      debug('redirect to %s: %s over %s (%s)', uri, route.url, route.choice.transport, route.choice.reason)
      return route.url
    }))
    this.#protocols = new ProtocolService({ fetch: async (t, i) => await this.fetch(t, i), url: async (t) => await this.url(t) }, init)
  }

  get peerId (): PeerId | undefined {
    return this.#libp2p?.peerId
  }

  async start (): Promise<void> {
    if (this.#libp2p != null) {
      this.#streams = await listenOnStreams(this.#libp2p, this.#server, {
        maxInboundStreams: this.#init.maxInboundStreams,
        maxInboundStreamsTotal: this.#init.maxInboundStreamsTotal,
        lingerMs: this.#init.lingerTimeout,
        runOnLimitedConnection: this.#init.runOnLimitedConnection ?? true,
        protocols: [HTTP_STREAM_PROTOCOL, ...(this.#init.streamAliases ?? []).map(a => a.streamProtocol)]
      })
    }
    const listen = this.#init.listen ?? []
    if (listen.length > 0) {
      try {
        this.#native = await listenNative(listen, {
          tls: this.#init.tls,
          insecureAllowHTTP: this.#init.insecureAllowHTTP,
          peerId: this.#libp2p?.peerId,
          server: this.#limits,
          onRequest: (req, res) => { this.#onRequest(req, res) },
          onCheckContinue: (req, res) => { this.#onCheckContinue(req, res) },
          onUpgrade: (req, socket, head) => { this.#onUpgrade(req, socket, head) }
        })
      } catch (err) {
        await this.#streams?.close()
        throw err
      }
    }
  }

  serve (handler: Handler): void {
    this.#protocols.router.serve(handler)
  }

  handle (protocol: string, handler: Handler, options?: MountOptions): void { this.#protocols.handle(protocol, handler, options) }
  unhandle (protocol: string): boolean { return this.#protocols.unhandle(protocol) }
  async protocols (target: FetchTarget, options?: ProtocolsOptions): Promise<Readonly<ProtocolMap>> { return await this.#protocols.protocols(target, options) }
  setProtocols (target: FetchTarget, map: ProtocolMap, options?: SetProtocolsOptions): void { this.#protocols.setProtocols(target, map, options) }
  forgetProtocols (target: FetchTarget): void { this.#protocols.forgetProtocols(target) }
  client (target: FetchTarget, protocol: string): ProtocolClient { return this.#protocols.client(target, protocol) }
  async ping (target: FetchTarget, options?: PingOptions): Promise<number> { return await this.#protocols.ping(target, options) }

  /**
   * `Expect: 100-continue`: the client waits for our go-ahead before it sends the body. A declared body
   * over the limit is refused now (417 would also do; 413 says why), so the client is never invited to
   * upload what will be refused.
   */
  #onCheckContinue (req: IncomingMessage, res: ServerResponse): void {
    if (declaresTooLarge(req, this.#limits.maxRequestBodySize)) {
      refuseLargeBody(req, res, this.#limits.maxRequestBodySize)
      return
    }
    // the go-ahead only once the request will reach its handler (auth and checks passed)
    this.#onRequest(req, res, false, () => { res.writeContinue() })
  }

  #onRequest (req: IncomingMessage, res: ServerResponse, authenticated = false, proceed?: () => void): void {
    if (!authenticated) {
      const onStream = req.socket instanceof StreamSocket
      if (onStream) {
        // One request per stream: `Connection: close`, and the stream ends after the response.
        res.shouldKeepAlive = false
      }
      // cheap refusals first: no handshake for a request that cannot be served anyway
      if (refuseMalformed(req, res, { oneRequest: onStream }) || refuseLargeBody(req, res, this.#limits.maxRequestBodySize)) {
        return
      }
      const outside = req.socket instanceof StreamSocket ? this.#intoAlias(req, req.socket) : undefined
      if (outside != null) {
        res.statusCode = outside.status
        res.setHeader('content-type', 'text/plain; charset=utf-8')
        res.end(outside.reason)
        return
      }
      if (this.#authGuard != null && needsPeerIdAuth(req)) {
        this.#authGuard.request(req, res, () => { this.#onRequest(req, res, true, proceed) })
        return
      }
    }
    const handler = this.#protocols.router.listenerFor(req)
    proceed?.()
    if (handler == null) {
      res.statusCode = 404
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('no handler is served here\n')
      return
    }
    try {
      const result = handler(req, res)
      if (result != null && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(undefined, (err: unknown) => { this.#onHandlerError(err, req, res) })
      }
    } catch (err) {
      this.#onHandlerError(err, req, res)
    }
  }

  #onHandlerError (err: unknown, req: IncomingMessage, res: ServerResponse): void {
    try {
      (this.#init.onError ?? defaultOnError)(err, req)
    } catch {}
    if (!res.headersSent && !res.destroyed) {
      res.statusCode = 500
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('Internal Server Error\n')
    } else {
      // The status line is out: only a reset can tell the client the body is incomplete.
      res.destroy(err instanceof Error ? err : new Error(String(err)))
    }
  }

  #onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer, authenticated = false): void {
    if (!authenticated) {
      const fault = admitRequest(req)
      const outside = fault ?? (req.socket instanceof StreamSocket ? this.#intoAlias(req, req.socket) : undefined)
      if (outside != null) {
        answerDetached(socket, outside.status, outside.reason)
        return
      }
    }
    if (!authenticated && this.#authGuard != null && needsPeerIdAuth(req)) {
      this.#authGuard.upgrade(req, socket, () => { this.#onUpgrade(req, socket, head, true) })
      return
    }
    const target = this.#protocols.router.upgradeTargetFor(req)
    if (target != null && target.listenerCount('upgrade') > 0) {
      target.emit('upgrade', req, socket, head)
      return
    }
    answerDetached(socket, 501, '')
  }

  /**
   * For a request on a stream alias of a mount (see {@link StreamAlias}), point `req.url` into the mount;
   * the answer to give instead when it cannot be (the mount is gone, the target would leave it).
   */
  #intoAlias (req: IncomingMessage, socket: StreamSocket): RequestFault | undefined {
    const streamProtocol = socket.stream.protocol
    const alias = streamProtocol === HTTP_STREAM_PROTOCOL ? undefined : this.#init.streamAliases?.find(a => a.streamProtocol === streamProtocol)
    if (alias?.protocol == null) return undefined
    const mount = this.#protocols.router.protocolMap()[alias.protocol]
    if (mount == null) return { status: 404, reason: `${alias.protocol} is not served here\n` }
    const target = aliasedTarget(req.url ?? '', mount.path)
    if (target == null) return { status: 400, reason: `the request target must stay within ${alias.protocol} on ${alias.streamProtocol}\n` }
    rewriteUrl(req, target)
    return undefined
  }

  async url (target: FetchTarget): Promise<string> {
    return (await routeTarget(target, { ...this.#router, canAuthenticateServer: false })).url
  }

  async dispatcherFor (target: FetchTarget): Promise<{ url: string, dispatcher: Dispatcher }> {
    const route = await this.#route(target)
    if (route.choice.transport !== 'native' || route.peer == null) {
      return { url: route.url, dispatcher: this.dispatcher }
    }
    return { url: route.url, dispatcher: this.dispatcher.compose(peerIdAuthInterceptor(this.#requireAuthClient(), { ...this.#authRequest(route), onVerified: () => {} })) }
  }

  async #route (target: FetchTarget, signal?: AbortSignal, context: RouterContext = this.#router): Promise<Route> {
    const route = await routeTarget(target, context, signal)
    debug('fetch %s over %s (%s)', route.url, route.choice.transport, route.choice.reason)
    return route
  }

  async fetch (target: FetchTarget, init: FetchInit = {}): Promise<Response> {
    if (init.protocol != null || init.path != null) {
      return await this.#protocols.fetch(target, init)
    }
    if (this.#closing != null) {
      throw new HostClosedError()
    }
    const maxBodySize = init.maxBodySize ?? this.#init.client?.maxBodySize ?? Infinity
    if (!(maxBodySize >= 0)) {
      throw new InvalidLimitError(`maxBodySize must be a number ≥ 0 (or Infinity), not ${String(maxBodySize)}`)
    }
    let route: Route | undefined
    let hops: string[] = []
    try {
      route = await this.#route(target, init.signal ?? undefined)
      try {
        return await this.#fetchOver(route, init, hops, maxBodySize)
      } catch (err) {
        const fallback = await this.#streamFallback(target, route, hops, err, init.signal ?? undefined)
        if (fallback == null) throw err
        route = fallback
        hops = []
        return await this.#fetchOver(route, init, hops, maxBodySize)
      }
    } catch (err) {
      const error = unwrapFetchError(err)
      if (route != null && error != null && typeof error === 'object' && !('transport' in error)) {
        // which transport failed, for the caller's diagnostics: the last hop when redirects were followed
        const last = hops.length > 1 ? hopChoice(hops[hops.length - 1]) : { transport: route.choice.transport, reason: route.choice.reason }
        Object.defineProperty(error, 'transport', { value: last, enumerable: false, configurable: true })
      }
      throw error
    }
  }

  /** One attempt of `fetch` along `route`, each hop's URL recorded in `hops`. */
  async #fetchOver (route: Route, init: FetchInit, hops: string[], maxBodySize: number): Promise<Response> {
    // 'manual' hands the redirect to the caller as sent, so `multiaddr:` Locations are kept as such
    const base = init.redirect === 'manual' ? this.#sniAgent : this.dispatcher
    const auth = await this.#fetchAuth(route, init)
    const keep = init.decompress === false ? new KeepContentEncoding() : undefined
    const dispatcher = base.compose(...[auth?.interceptor, keep?.interceptor, guardRedirects(hops)].filter(i => i != null))
    const body = auth == null || init.body == null ? {} : { body: auth.body as UndiciRequestInit['body'] }
    const response = this.#finish(await undiciFetch(route.url, { ...init, ...body, dispatcher }) as unknown as Response, route, init, keep, maxBodySize)
    const finalURL = response.url === '' ? route.url : response.url
    // the final URL names its peer only when it went over a stream; an https: one only by proof
    const streamPeer = peerOfURL(finalURL)
    const proven = streamPeer == null ? auth?.verified() : undefined
    setServerPeer(response, streamPeer ?? proven)
    const choice = response.redirected ? hopChoice(finalURL) : { transport: route.choice.transport, reason: route.choice.reason }
    setTransport(response, proven == null ? choice : { ...choice, reason: `${choice.reason}; the server proved it is ${proven.toString()} (Peer ID Authentication)` })
    return response
  }

  /**
   * Where to try again when the named peer's HTTPS server does not run Peer ID Authentication (optional
   * in the spec): the target's stream, if the rule that chose native allows a fallback (rules 4 and 6;
   * see `selectTransport`). Only a failure on the first hop: after a redirect the request has already
   * acted somewhere. The request has not acted on that server either, beyond a safe method: a body or an
   * unsafe method waits behind a body-less `OPTIONS` (see `auth/client.ts`), so its body is still unread
   * and can go over the stream.
   */
  async #streamFallback (target: FetchTarget, route: Route, hops: string[], err: unknown, signal?: AbortSignal): Promise<Route | undefined> {
    const error = unwrapFetchError(err)
    if (!(error instanceof PeerAuthUnsupportedError) || route.peer == null || hops.length > 1) {
      return undefined
    }
    const retry = await this.#route(target, signal, { ...this.#router, nativeUnproven: `${error.url} answered ${error.status} without a libp2p-PeerID challenge (it does not run Peer ID Authentication)` })
    return retry.choice.transport === 'stream' ? retry : undefined
  }

  /**
   * The response as the caller gets it: `Content-Encoding` given back when the body was kept as sent,
   * a relative `Location` made an absolute `multiaddr:` URI (`redirect: 'manual'`), the body bounded.
   */
  #finish (response: Response, route: Route, init: FetchInit, keep: KeepContentEncoding | undefined, maxBodySize: number): Response {
    let headers = keep?.headers(response)
    const location = init.redirect === 'manual' && route.addr != null ? absoluteLocationOf(response, route.url, route.addr) : undefined
    if (location != null) {
      headers ??= new UndiciHeaders(response.headers as never) as unknown as Headers
      headers.set('location', location)
    }
    const body = response.body != null && maxBodySize !== Infinity ? boundedBody(response.body, maxBodySize) : undefined
    return headers == null && body == null ? response : rebuildResponse(response, { headers, body })
  }

  /** Peer ID Authentication for a native fetch that names a peer or asks for it. */
  async #fetchAuth (route: Route, init: FetchInit): Promise<FetchAuth | undefined> {
    if (route.choice.transport !== 'native' || (route.peer == null && init.auth !== true)) {
      return undefined
    }
    return await fetchAuth(this.#requireAuthClient(), { ...this.#authRequest(route), body: init.body })
  }

  #requireAuthClient (): AuthClient {
    if (this.#authClient == null) {
      throw new InvalidAuthOptionsError('auth: true needs the host\'s private key: pass a js-libp2p node or auth.privateKey to createHTTPHost')
    }
    return this.#authClient
  }

  /** What Peer ID Authentication checks on a native route: its peer, the `Host` signed for; streams skipped. */
  #authRequest (route: Route): Pick<AuthRequest, 'expectedPeer' | 'skip' | 'hostOf'> {
    return {
      expectedPeer: route.peer,
      skip: (origin) => peerOfURL(origin) != null,
      hostOf: (origin) => {
        const sni = this.#sni.lookup(origin.hostname)
        return sni == null ? origin.host : origin.port === '' ? sni.servername : `${sni.servername}:${origin.port}`
      }
    }
  }

  addrs (): Multiaddr[] {
    return [...(this.#libp2p?.getMultiaddrs() ?? []), ...(this.#native?.addrs() ?? [])]
  }

  async close (options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeout ?? 5000)
    await this.#closing
  }

  async #close (timeout: number): Promise<void> {
    await this.#streams?.close()
    const deadline = new Promise<void>(resolve => setTimeout(resolve, timeout).unref())
    const streams = this.#streams
    const served = streams == null
      ? Promise.resolve()
      : new Promise<void>(resolve => {
        const check = (): void => {
          if (streams.open.size === 0) {
            resolve()
          } else {
            setTimeout(check, 20).unref()
          }
        }
        check()
      })
    const native = this.#native?.close(timeout)
    await Promise.race([Promise.all([served, this.dispatcher.close()]), deadline])
    for (const socket of streams?.open ?? []) {
      socket.destroy(new Error('HTTPHost closed'))
    }
    await this.dispatcher.destroy().catch(() => {})
    this.#server.close()
    this.#server.closeAllConnections()
    await native
  }
}

/** Answer an upgrade request on its socket, which Node has detached from its HTTP machinery, and finish it. */
function answerDetached (socket: Duplex, status: number, body: string): void {
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => { socket.destroy() })
}

/**
 * With `redirect: 'manual'`, a relative `Location` from a multiaddr target is given back as an absolute
 * `multiaddr:` URI (the request's address with its `/http-path` replaced), which `host.fetch` accepts as
 * is; `undefined` when there is nothing to change.
 */
function absoluteLocationOf (response: Response, requestURL: string, addr: Multiaddr): string | undefined {
  const location = response.headers.get('location')
  return location == null ? undefined : absoluteLocation(location, requestURL, addr)
}

/** undici's fetch reports every network failure as `TypeError('fetch failed')`; surface our typed cause. */
function unwrapFetchError (err: unknown): unknown {
  let current: unknown = err
  for (let depth = 0; depth < 4 && current != null; depth++) {
    if (current instanceof LibP2PHTTPError) {
      return current
    }
    current = (current as { cause?: unknown }).cause
  }
  return err
}

/**
 * Create an HTTP host.
 *
 * @example
 * ```ts
 * import { createHTTPHost, remotePeer } from 'libp2phttp'
 *
 * const host = await createHTTPHost({ libp2p })
 * host.serve((req, res) => { res.end(`hello ${remotePeer(req)}`) })
 * const res = await host.fetch(`multiaddr:${addr}/http-path/hello`)
 * ```
 */
export async function createHTTPHost (init: HTTPHostInit = {}): Promise<HTTPHost> {
  const host = new Host(init)
  await host.start()
  return host
}
