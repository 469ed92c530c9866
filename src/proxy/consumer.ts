/**
 * The consumer side of a tunnel: a Node request listener (for a local `http.Server` on 127.0.0.1) that
 * forwards every request to one protocol of one peer, through the host's undici dispatcher — so bodies
 * stream as Node streams, never through the WHATWG layer. The hop itself is {@link proxyTo}'s (hop-by-hop
 * headers removed both ways, `Via`, no decompression unless `compress`, no redirects followed, a client that leaves
 * aborting the peer request, 502/504 with `Proxy-Status`), with the peer's protocol as its upstream.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { peerOfURL } from '../addr/addressing.js'
import { ProtocolNotFoundError } from '../errors.js'
import { hostRefusal, originRefusal } from './host-check.js'
import { classify, fail, failUpgrade, proxyTo } from './upstream.js'
import { cachingDispatcher } from './cache.js'
import { describeTarget } from '../client/target.js'
import type { CacheStore } from './cache.js'
import type { HostCheckOptions } from './host-check.js'
import type { ProxyError, ProxyHandler, ProxyOptions, UpgradeListener } from './upstream.js'
import type { HTTPHost } from '../host.js'
import type { Dispatcher } from 'undici'
import type { FetchTarget } from '../client/target.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Options for {@link forwardToPeer}. */
export interface ForwardOptions {
  /**
   * The peer's protocol to forward to, found in its well-known map (the request path is appended to
   * the protocol's path). Without it, requests go to the peer's root, path unchanged.
   */
  protocol?: string
  /** How long the peer may take to send response headers, in ms (0: no limit). @default 300000 */
  headersTimeout?: number
  /** How long the response body may stay silent, in ms (0: no limit; as `proxyTo`'s `bodyTimeout`). @default 0 */
  bodyTimeout?: number
  /** The name of this proxy in `Via` and `Proxy-Status`. @default `libp2phttp-<random>` */
  pseudonym?: string
  /**
   * The `Host` names accepted besides this machine's loopback names and bound address (DNS rebinding:
   * a web page re-pointed at 127.0.0.1 sends its own name); others get 403. `'any'` checks nothing, as a
   * forward proxy must (its requests name other hosts). A local server should pass `[]` at least.
   *
   * @default 'any'
   */
  allowHosts?: readonly string[] | 'any'
  /**
   * Origins (`https://app.example`) whose web pages may use the server besides its own; a request with
   * another `Origin` gets 403 (a cross-site `POST` from a page in a browser on this machine). Checked
   * only when `allowHosts` is a list: a forward proxy carries browsers' requests to every site, each with
   * that site's `Origin`.
   *
   * @default []
   */
  allowOrigins?: readonly string[]
  /** What a refusal names as the way to allow a `Host` or `Origin` (see {@link HostCheckOptions.names}). @default the option names */
  names?: HostCheckOptions['names']
  /**
   * The `Upgrade` protocols relayed to the peer (see {@link ProxyOptions.upgrades}).
   *
   * @default ['websocket']
   */
  upgrades?: readonly string[]
  /** Rewrite the peer's `Location` and `Content-Location` values (see {@link ProxyOptions.relocate}). @default unchanged */
  relocate?: ProxyOptions['relocate']
  /**
   * Cache the peer's answers in this store, as a shared cache (RFC 9111; undici's `cache` interceptor:
   * see `cache.ts`), keyed by the peer and the protocol besides the URL; each answer says what the cache
   * did in `Cache-Status`. A store may be shared by many forwarders (the gateway's).
   *
   * @default no cache
   */
  cache?: CacheStore
  /**
   * When the local client asks for no coding, ask the peer for one and decode it here (see
   * {@link ProxyOptions.decompress}): a provider that compresses (`serve --compress`) then saves the
   * peer link the bytes.
   *
   * @default false
   */
  compress?: boolean
  /** The most bytes a body decoded under {@link compress} may have (see {@link ProxyOptions.maxDecodedSize}). @default Infinity */
  maxDecodedSize?: number
}

/** A request listener forwarding to a peer, and the way to learn its upstream ahead of the first request. */
export interface PeerForwarder {
  (req: IncomingMessage, res: ServerResponse): void
  /** Relay an upgrade request (WebSocket) to the peer: its `101` and then the bytes both ways. */
  upgrade: UpgradeListener
  /** The peer URL requests go to (`http://<peer>/<protocol path>`); fails when the peer or its protocol cannot be reached. */
  resolve: () => Promise<string>
}

/**
 * A request listener forwarding each request to `target` (a peer's multiaddr, peer id, …) over `host`.
 * The caller's `Host` is passed on (the provider records it in `X-Forwarded-Host`).
 *
 * @example
 * ```ts
 * const forward = forwardToPeer(host, 'multiaddr:/ip4/192.0.2.1/tcp/4001/p2p/12D3KooW…', { protocol: '/x/llm/1' })
 * http.createServer(forward).listen(8000, '127.0.0.1')
 * ```
 */
export function forwardToPeer (host: HTTPHost, target: FetchTarget, options: ForwardOptions = {}): PeerForwarder {
  const pseudonym = options.pseudonym ?? `libp2phttp-${randomBytes(4).toString('hex')}`
  const handlers = new Map<string, ProxyHandler>()

  /** The upstream URL, and the dispatcher that reaches it (with Peer ID Authentication for a peer's HTTPS address). */
  const locate = async (): Promise<{ upstream: string, dispatcher: Dispatcher }> => {
    const { url: root, dispatcher } = await host.dispatcherFor(target)
    if (options.protocol == null) return { upstream: new URL('/', root).toString(), dispatcher }
    // cached by the host (and shared between concurrent callers): cheap per request
    const map = await host.protocols(target)
    const entry = map[options.protocol]
    if (entry == null) throw new ProtocolNotFoundError(options.protocol, String(target))
    return { upstream: new URL(entry.path, root).toString(), dispatcher }
  }
  const resolve = async (): Promise<string> => (await locate()).upstream

  const handlerFor = ({ upstream, dispatcher }: { upstream: string, dispatcher: Dispatcher }): ProxyHandler => {
    let handler = handlers.get(upstream)
    if (handler == null) {
      // the cache's entries are this peer's and this protocol's alone, whatever the URL (see cache.ts)
      const scope = `${describeTarget(target).peer?.toString() ?? new URL(upstream).origin} ${options.protocol ?? '/'}`
      handler = proxyTo(upstream, {
        dispatcher: options.cache == null ? dispatcher : cachingDispatcher(dispatcher, options.cache, scope),
        cacheStatus: options.cache != null,
        decompress: options.compress === true,
        maxDecodedSize: options.maxDecodedSize,
        // a stream's URL names a peer, not a host: the caller's Host goes on; an HTTPS provider's Host
        // is its own name, which Peer ID Authentication signs and TLS presented
        rewriteHost: peerOfURL(upstream) == null,
        pseudonym,
        headersTimeout: options.headersTimeout,
        bodyTimeout: options.bodyTimeout,
        upgrades: options.upgrades,
        relocate: options.relocate
      })
      handlers.set(upstream, handler)
    }
    return handler
  }

  const refusal = options.allowHosts == null || options.allowHosts === 'any' ? () => undefined : local({ allowHosts: options.allowHosts, allowOrigins: options.allowOrigins, names: options.names })

  /**
   * Check `req`'s `Host`, find the upstream, then `go`; a refusal or failure is answered with `answer`
   * (a failure inside `go` too: `.catch` after `.then`, so nothing is left unanswered).
   */
  const route = (req: IncomingMessage, answer: (status: number, error: ProxyError, detail: string) => void, go: (handler: ProxyHandler) => void): void => {
    const why = refusal(req)
    if (why != null) {
      answer(403, 'http_request_denied', why)
      return
    }
    locate().catch((err: unknown) => {
      const { status, error } = classify(err)
      answer(status, error, (err as Error).message)
    }).then((upstream) => {
      if (upstream != null) go(handlerFor(upstream))
    }).catch((err: unknown) => {
      answer(502, 'proxy_internal_error', (err as Error).message)
    })
  }

  const forward = ((req: IncomingMessage, res: ServerResponse): void => {
    route(req, (status, error, detail) => { fail(res, pseudonym, status, error, detail) }, (handler) => {
      // the client left while the peer's map was being read: nothing to forward
      if (!res.closed) handler(req, res)
    })
  }) as PeerForwarder
  forward.upgrade = (req, socket, head) => {
    socket.on('error', () => {})
    route(req, (status, error, detail) => { failUpgrade(socket, pseudonym, status, error, detail) }, (handler) => {
      if (!socket.destroyed) handler.upgrade(req, socket, head)
    })
  }
  forward.resolve = resolve
  return forward
}

/** The checks of a local server: its `Host` (DNS rebinding), then its `Origin` (cross-site requests). */
function local (options: HostCheckOptions): (req: IncomingMessage) => string | undefined {
  const host = hostRefusal(options)
  const origin = originRefusal(options)
  return (req) => host(req) ?? origin(req)
}
