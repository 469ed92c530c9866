/**
 * The client side of a host: the dispatcher (streams and native TLS, with its interceptors), targets
 * routed into its URLs, and `fetch` with what it adds to undici's (Peer ID Authentication, the stream
 * fallback, the body bound, `serverPeer`/`transport` on the response). Protocol fetches
 * (`{ protocol, path }`) are resolved before they get here (`protocols/service.ts`).
 *
 * @module
 */
import { resolveTxt } from 'node:dns/promises'
import { debuglog } from 'node:util'
import { Headers as UndiciHeaders, fetch as undiciFetch } from 'undici'
import { peerOfURL } from '../addr/addressing.js'
import { fetchAuth, peerIdAuthInterceptor } from '../auth/client.js'
import { DEFAULT_CONNECT_TIMEOUT, createDispatcher, sniHostHeaders } from './dispatcher.js'
import { HostClosedError, InvalidAuthOptionsError, InvalidLimitError, LibP2PHTTPError, NoLibp2pError, PeerAuthUnsupportedError } from '../errors.js'
import { setServerPeer, setTransport } from '../identity.js'
import { absoluteLocation, guardRedirects, hopChoice, multiaddrLocations } from './redirect.js'
import { KeepContentEncoding, boundedBody, rebuildResponse } from './response-body.js'
import { prepareRequest } from './fetch-request.js'
import { leanFetch } from './lean-fetch.js'
import { typedResponseErrors } from './response-errors.js'
import { RouteMemory } from './routes.js'
import { createSocketOpener } from '../stream/connect.js'
import { routeLocation, routeTarget } from './target.js'
import type { AuthClient, AuthRequest, FetchAuth } from '../auth/client.js'
import type { TxtResolver } from '../addr/dnsaddr.js'
import type { DispatcherOptions } from './dispatcher.js'
import type { ResponseBodyTooLargeError } from '../errors.js'
import type { FetchTarget, Route, RouterContext } from './target.js'
import type { SocketOpener, StreamDialer } from '../stream/connect.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Dispatcher, RequestInit as UndiciRequestInit } from 'undici'

const debug = debuglog('libp2phttp')

/** `host.fetch`'s options without the protocol selection: the WHATWG `RequestInit` (as undici takes it) and ours. */
export type ClientFetchInit = Omit<UndiciRequestInit, 'dispatcher'> & {
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

/** The options of `createHTTPHost` the client reads (see `HTTPHostOptions` for each). */
export interface HostClientOptions extends DispatcherOptions {
  insecureAllowHTTP?: boolean
  preferNativeHTTP?: boolean
  resolveTxt?: TxtResolver
  runOnLimitedConnection?: boolean
}

/** A host's client: one dispatcher, its route caches, `fetch`. */
export class HostClient {
  /** Peer origins over streams, native origins over TLS, `multiaddr:` Locations followed. */
  readonly dispatcher: Dispatcher
  readonly #init: HostClientOptions
  readonly #routes = new RouteMemory()
  /** The agent with SNI `Host` headers: what a `redirect: 'manual'` fetch uses. */
  readonly #sniAgent: Dispatcher
  readonly #router: RouterContext
  readonly #authClient: AuthClient | undefined
  readonly #opener: SocketOpener
  #closed = false

  constructor (node: StreamDialer | undefined, init: HostClientOptions, authClient: AuthClient | undefined) {
    this.#init = init
    this.#authClient = authClient
    const opener = this.#opener = createSocketOpener({
      dial: async (target, options) => {
        if (node == null) {
          throw new NoLibp2pError()
        }
        return await node.dial(target, options)
      },
      getConnections: (peer) => node?.getConnections?.(peer) ?? [],
      getMiddleware: node?.getMiddleware == null ? undefined : (protocol) => node.getMiddleware?.(protocol) ?? [],
      metrics: node?.metrics,
      peerStore: node?.peerStore,
      addEventListener: node?.addEventListener?.bind(node),
      removeEventListener: node?.removeEventListener?.bind(node)
    }, {
      addressesOf: (peer) => this.#routes.addressesOf(peer),
      maxOutboundStreams: Math.max(init.maxStreamsPerPeer ?? 32, 64),
      streamNegotiation: init.streamNegotiation,
      streamProtocol: init.streamProtocol,
      runOnLimitedConnection: init.runOnLimitedConnection ?? true
    })
    const agent = createDispatcher(opener, init, {
      sni: this.#routes.sni,
      allowPlain: (origin) => init.insecureAllowHTTP === true || this.#routes.isPlainOrigin(origin)
    })
    this.#router = {
      selection: { preferNativeHTTP: init.preferNativeHTTP, insecureAllowHTTP: init.insecureAllowHTTP },
      hasLibp2p: node != null,
      canAuthenticateServer: authClient != null,
      isConnected: (peer) => (node?.getConnections?.(peer).length ?? 0) > 0,
      identify: async (addr, signal) => {
        if (node == null) {
          throw new NoLibp2pError()
        }
        const bound = AbortSignal.timeout(init.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT)
        const connection = await node.dial(addr, { signal: signal == null ? bound : AbortSignal.any([signal, bound]) })
        return connection.remotePeer
      },
      resolveTxt: init.resolveTxt ?? resolveTxt,
      ...this.#routes.writers
    }
    this.#sniAgent = agent.compose(sniHostHeaders(this.#routes.sni), typedResponseErrors())
    this.dispatcher = this.#sniAgent.compose(multiaddrLocations((uri) => {
      // Peer ID Authentication runs per host.fetch, for the target's own peer: a redirect (and a URL
      // used with the bare dispatcher) must not reach a named peer's HTTPS address unproven
      const route = routeLocation(uri, { ...this.#router, canAuthenticateServer: false })
      debug('redirect to %s: %s over %s (%s)', uri, route.url, route.choice.transport, route.choice.reason)
      return route.url
    }))
  }

  /** New fetches fail with `HostClosedError` from now on; those in flight go on until {@link HostClient.drain}. */
  stop (): void {
    this.#closed = true
    this.#opener.close()
  }

  /** Resolves when the requests in flight have finished (see undici's `Dispatcher.close`). */
  async drain (): Promise<void> {
    await this.dispatcher.close()
  }

  /** Ends every request still in flight. */
  async destroy (): Promise<void> {
    await this.dispatcher.destroy().catch(() => {})
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

  async fetch (target: FetchTarget, init: ClientFetchInit = {}): Promise<Response> {
    if (this.#closed) {
      throw new HostClosedError()
    }
    const maxBodySize = init.maxBodySize ?? this.#init.client?.maxBodySize ?? Infinity
    if (!(maxBodySize >= 0)) {
      throw new InvalidLimitError('maxBodySize', `maxBodySize must be a number ≥ 0 (or Infinity), not ${String(maxBodySize)}`)
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
  async #fetchOver (route: Route, init: ClientFetchInit, hops: string[], maxBodySize: number): Promise<Response> {
    // 'manual' hands the redirect to the caller as sent, so `multiaddr:` Locations are kept as such
    const base = init.redirect === 'manual' ? this.#sniAgent : this.dispatcher
    const auth = await this.#fetchAuth(route, init)
    const requestInit = auth == null || init.body == null ? init : { ...init, body: auth.body as UndiciRequestInit['body'] }
    const url = new URL(route.url)
    const prepared = prepareRequest(url, requestInit)
    let response: Response
    if (prepared != null) {
      const dispatcher = auth == null ? base : base.compose(auth.interceptor)
      response = this.#finish(await leanFetch(url, prepared, dispatcher, { decode: init.decompress !== false, maxBodySize, hops }), route, init, undefined, Infinity)
    } else {
      // what the lean fetch does not reproduce (see prepareRequest) goes through undici's fetch
      debug('fetch %s through undici\'s fetch', route.url)
      const keep = init.decompress === false ? new KeepContentEncoding() : undefined
      const dispatcher = base.compose(...[auth?.interceptor, keep?.interceptor, guardRedirects(hops)].filter(i => i != null))
      response = this.#finish(await undiciFetch(route.url, { ...requestInit, dispatcher }) as unknown as Response, route, init, keep, maxBodySize)
    }
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
  #finish (response: Response, route: Route, init: ClientFetchInit, keep: KeepContentEncoding | undefined, maxBodySize: number): Response {
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
  async #fetchAuth (route: Route, init: ClientFetchInit): Promise<FetchAuth | undefined> {
    if (route.choice.transport !== 'native' || (route.peer == null && init.auth !== true)) {
      return undefined
    }
    return await fetchAuth(this.#requireAuthClient(), { ...this.#authRequest(route), body: init.body })
  }

  #requireAuthClient (): AuthClient {
    if (this.#authClient == null) {
      throw new InvalidAuthOptionsError('auth', 'auth: true needs the host\'s private key: pass a js-libp2p node or auth.privateKey to createHTTPHost')
    }
    return this.#authClient
  }

  /** What Peer ID Authentication checks on a native route: its peer, the `Host` signed for; streams skipped. */
  #authRequest (route: Route): Pick<AuthRequest, 'expectedPeer' | 'skip' | 'hostOf'> {
    return {
      expectedPeer: route.peer,
      skip: (origin) => peerOfURL(origin) != null,
      hostOf: (origin) => this.#routes.hostOf(origin)
    }
  }
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
