/**
 * HTTPHost: wiring only. The server side ({@link RequestPipeline}) is fed by the stream listener and
 * the native listeners; the client side ({@link HostClient}) owns the dispatcher and `fetch`; the
 * protocol methods ({@link ProtocolService}) sit in front of the client's fetch and mount into the
 * pipeline's router.
 *
 * @module
 */
import { AuthClient } from './auth/client.js'
import { identityKey } from './auth/identity-key.js'
import { certificateNames, createAuthGuards } from './auth/server.js'
import { HostClient } from './client/host-client.js'
import { checkHostOptions } from './options.js'
import { hostNodeOfLibp2p } from './node.js'
import { listenNative } from './server/native.js'
import { RequestPipeline } from './server/pipeline.js'
import { Router } from './server/router.js'
import { ProtocolService } from './protocols/service.js'
import { HTTP_STREAM_PROTOCOL, listenOnStreams } from './stream/server.js'
import type { PeerIdAuthOptions } from './auth/identity-key.js'
import type { ClientFetchInit } from './client/host-client.js'
import type { DispatcherOptions } from './client/dispatcher.js'
import type { FetchTarget } from './client/target.js'
import type { TxtResolver } from './addr/dnsaddr.js'
import type { ProtocolsOptions, SetProtocolsOptions } from './protocols/discovery.js'
import type { PingOptions } from './protocols/ping.js'
import type { HostProtocols, ProtocolClient, ProtocolFetchOptions, HostProtocolsOptions } from './protocols/service.js'
import type { ProtocolMap } from './protocols/well-known.js'
import type { Handler } from './server/handler.js'
import type { ServerLimits } from './server/limits.js'
import type { MountOptions } from './server/mount.js'
import type { ListenTLSOptions, NativeListeners } from './server/native.js'
import type { StreamAlias } from './stream/alias.js'
import type { HostNode, Libp2pLike } from './node.js'
import type { StreamListener } from './stream/server.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { IncomingMessage } from 'node:http'
import type { Dispatcher } from 'undici'

export type { Libp2pLike } from './node.js'

/** Options for {@link createHTTPHost}. */
export interface HTTPHostOptions extends DispatcherOptions, HostProtocolsOptions {
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
export type FetchInit = ClientFetchInit & ProtocolFetchOptions

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

/** The host behind {@link createHTTPHost} and the `httpHost()` service, given its node explicitly. */
export class Host implements HTTPHost {
  readonly dispatcher: Dispatcher
  readonly #libp2p: HostNode | undefined
  readonly #init: HTTPHostOptions
  readonly #pipeline: RequestPipeline
  readonly #client: HostClient
  readonly #protocols: ProtocolService<Handler, Router>
  #native: NativeListeners | undefined
  #streams: StreamListener | undefined
  #closing: Promise<void> | undefined

  /** `node`, not `init.libp2p`, is the node used. */
  constructor (node: HostNode | undefined, init: HTTPHostOptions) {
    const limits = checkHostOptions(init)
    this.#init = init
    this.#libp2p = node
    const privateKey = identityKey(node, init.auth)
    const authClient = privateKey == null ? undefined : new AuthClient({ privateKey, maxTokens: init.auth?.maxTokens })
    // Behind TLS, sign only for the names the certificate covers unless told otherwise: a relay must
    // not get signatures for a name it chose (spec-notes §4.5; go checks Host = SNI only)
    const serverAuth = init.auth?.server == null ? undefined : { ...init.auth.server, hostnames: init.auth.server.hostnames ?? certificateNames(init.tls?.cert) }
    const authGuard = privateKey == null || serverAuth == null ? undefined : createAuthGuards({ ...serverAuth, privateKey })
    this.#client = new HostClient(node, init, authClient)
    this.dispatcher = this.#client.dispatcher
    this.#protocols = new ProtocolService(this.#client, new Router({ ping: init.ping }), init)
    this.#pipeline = new RequestPipeline({
      limits,
      router: this.#protocols.router,
      authGuard,
      streamAliases: init.streamAliases,
      onError: init.onError
    })
  }

  get peerId (): PeerId | undefined {
    return this.#libp2p?.peerId
  }

  async start (): Promise<void> {
    if (this.#libp2p != null) {
      this.#streams = await listenOnStreams(this.#libp2p, this.#pipeline.server, {
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
          server: this.#pipeline.limits,
          onRequest: (req, res) => { this.#pipeline.onRequest(req, res) },
          onCheckContinue: (req, res) => { this.#pipeline.onCheckContinue(req, res) },
          onUpgrade: (req, socket, head) => { this.#pipeline.onUpgrade(req, socket, head) }
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

  async url (target: FetchTarget): Promise<string> {
    return await this.#client.url(target)
  }

  async dispatcherFor (target: FetchTarget): Promise<{ url: string, dispatcher: Dispatcher }> {
    return await this.#client.dispatcherFor(target)
  }

  async fetch (target: FetchTarget, init: FetchInit = {}): Promise<Response> {
    if (init.protocol != null || init.path != null) {
      return await this.#protocols.fetch(target, init)
    }
    return await this.#client.fetch(target, init)
  }

  addrs (): Multiaddr[] {
    return [...(this.#libp2p?.getMultiaddrs() ?? []), ...(this.#native?.addrs() ?? [])]
  }

  async close (options: CloseOptions = {}): Promise<void> {
    if (this.#closing == null) {
      this.#client.stop()
      this.#closing = this.#close(options.timeout ?? 5000)
    }
    await this.#closing
  }

  async #close (timeout: number): Promise<void> {
    await this.#streams?.close()
    const deadline = new Promise<void>(resolve => setTimeout(resolve, timeout).unref())
    const served = this.#streams?.idle()
    const native = this.#native?.close(timeout)
    await Promise.race([Promise.all([served, this.#client.drain()]), deadline])
    for (const socket of this.#streams?.open ?? []) {
      socket.destroy(new Error('HTTPHost closed'))
    }
    await this.#client.destroy()
    this.#pipeline.server.close()
    this.#pipeline.server.closeAllConnections()
    await native
  }
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
 *
 * @throws {InvalidOptionError} for an option that cannot work, naming it in `option`, before anything
 * listens: `InvalidLimitError` (`ERR_INVALID_LIMIT`) for a number, `InvalidAuthOptionsError`
 * (`ERR_INVALID_AUTH_OPTIONS`) for `auth`, `ERR_INVALID_OPTION` for the rest
 * @throws {InvalidListenAddressError} for a listen address that cannot be served
 * @throws {ListenError} when a listener cannot be opened
 */
export async function createHTTPHost (init: HTTPHostOptions = {}): Promise<HTTPHost> {
  const host = new Host(init.libp2p == null ? undefined : hostNodeOfLibp2p(init.libp2p), init)
  await host.start()
  return host
}
