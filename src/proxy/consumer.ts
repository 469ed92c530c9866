/**
 * The consumer side of a tunnel: a Node request listener (for a local `http.Server` on 127.0.0.1) that
 * forwards every request to one protocol of one peer, through the host's undici dispatcher — so bodies
 * stream as Node streams, never through the WHATWG layer. The hop itself is {@link proxyTo}'s (hop-by-hop
 * headers removed both ways, `Via`, no decompression, no redirects followed, a client that leaves
 * aborting the peer request, 502/504 with `Proxy-Status`), with the peer's protocol as its upstream.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { ProtocolNotFoundError } from '../errors.js'
import { classify, fail, proxyTo } from './upstream.js'
import type { HTTPHost } from '../host.js'
import type { FetchTarget } from '../target.js'
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
  /** How long the response body may stay silent, in ms (0: no limit). @default 0 */
  idleTimeout?: number
  /** The name of this proxy in `Via` and `Proxy-Status`. @default `libp2phttp-<random>` */
  pseudonym?: string
}

/** A request listener forwarding to a peer, and the way to learn its upstream ahead of the first request. */
export interface PeerForwarder {
  (req: IncomingMessage, res: ServerResponse): void
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
  const handlers = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>()

  const resolve = async (): Promise<string> => {
    const root = await host.url(target)
    if (options.protocol == null) return new URL('/', root).toString()
    // cached by the host (and shared between concurrent callers): cheap per request
    const map = await host.protocols(target)
    const entry = map[options.protocol]
    if (entry == null) throw new ProtocolNotFoundError(options.protocol, String(target))
    return new URL(entry.path, root).toString()
  }

  const forward = ((req: IncomingMessage, res: ServerResponse): void => {
    resolve().then((upstream) => {
      // the client left while the peer's map was being read: nothing to forward
      if (res.closed) return
      let handler = handlers.get(upstream)
      if (handler == null) {
        handler = proxyTo(upstream, {
          dispatcher: host.dispatcher,
          rewriteHost: false,
          pseudonym,
          headersTimeout: options.headersTimeout,
          idleTimeout: options.idleTimeout
        })
        handlers.set(upstream, handler)
      }
      handler(req, res)
    }, (err: unknown) => {
      const { status, error } = classify(err)
      fail(res, pseudonym, status, error, (err as Error).message)
    })
  }) as PeerForwarder
  forward.resolve = resolve
  return forward
}
