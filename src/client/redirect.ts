/**
 * Redirects with `multiaddr:` URIs. A server may answer `Location: multiaddr:/…/http-path/…` (the spec's
 * multiaddr URI scheme lets a redirect name another host or transport). Fetch only follows http(s)
 * URLs, so an interceptor rewrites such a `Location` into the dispatcher URL that reaches it
 * (`http://<peer>/…` for a stream, `https://…` for native) before fetch reads it; fetch's own redirect
 * rules (method changes, body replay, limits) then apply unchanged.
 *
 * @module
 */
import { MULTIADDR_URI_SCHEME, peerOfURL, withHTTPPath } from '../addr/addressing.js'
import { RedirectRefusedError } from '../errors.js'
import { REDIRECT_STATUSES } from './redirect-rules.js'
import { ForwardingHandler } from './forwarding-handler.js'
import type { TransportChoice } from '../errors.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Dispatcher } from 'undici'

/** Rewrites a `multiaddr:` `Location` on redirects; forwards everything else. */
class LocationHandler extends ForwardingHandler {
  readonly #locate: (uri: string) => string

  constructor (inner: Dispatcher.DispatchHandler, locate: (uri: string) => string) {
    super(inner)
    this.#locate = locate
  }

  override onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    const location = headers.location
    if (REDIRECT_STATUSES.has(statusCode) && typeof location === 'string' && location.slice(0, MULTIADDR_URI_SCHEME.length).toLowerCase() === MULTIADDR_URI_SCHEME) {
      try {
        headers = { ...headers, location: this.#locate(location) }
      } catch (err) {
        // fetch reports it as `TypeError('fetch failed', { cause: err })`; host.fetch unwraps it
        controller.abort(err as Error)
        return
      }
    }
    super.onResponseStart(controller, statusCode, headers, statusMessage)
  }
}

/**
 * An undici interceptor that turns `multiaddr:` `Location` headers into URLs `locate` builds; when
 * `locate` throws, the request fails with that error.
 */
export function multiaddrLocations (locate: (uri: string) => string): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => dispatch(options, new LocationHandler(handler, locate))
}

/**
 * The absolute `multiaddr:` URI for a relative `Location` received from `addr` (with `redirect: 'manual'`):
 * the reference resolved against `requestURL`, and if it stays on that origin, `addr` with its
 * `/http-path` replaced. Returns `undefined` for absolute URIs and references to other origins,
 * which are left as they are.
 */
export function absoluteLocation (location: string, requestURL: string, addr: Multiaddr): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(location) || location.startsWith('//')) {
    return undefined
  }
  let resolved: URL
  try {
    resolved = new URL(location, requestURL)
  } catch {
    return undefined
  }
  if (resolved.origin !== new URL(requestURL).origin) {
    return undefined
  }
  return `${MULTIADDR_URI_SCHEME}${withHTTPPath(addr, `${resolved.pathname}${resolved.search}`).toString()}`
}

/** RFC 9110 §9.2.1: the methods that only read. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** The transport of a redirect hop, read off its URL. */
export function hopChoice (url: string): TransportChoice {
  return { transport: peerOfURL(url) != null ? 'stream' : 'native', reason: `followed a redirect to ${url}` }
}

/**
 * Why a redirect hop from the `previous` origin to `origin` with `method` is refused (see
 * {@link guardRedirects}), or `undefined` when it may be followed. Also the browser host's rule.
 */
export function redirectRefusal (previous: string | undefined, origin: string, method: string): RedirectRefusedError | undefined {
  if (previous == null || previous === origin || SAFE_METHODS.has(method.toUpperCase())) {
    return undefined
  }
  return new RedirectRefusedError(`refused to follow a redirect from ${previous} to ${origin} with ${method}: the request and its body would go to a server the caller did not choose, with this host's identity (use redirect: 'manual' to decide)`)
}

/**
 * Records a fetch's hop to `origin` + `path` in `hops`, and throws the refusal of a redirect that carries
 * an unsafe method to another origin, that is another peer (each peer is an origin, `http://<peer>`) or
 * another web server. Fetch repeats the method and body only on 307 and 308 (RFC 9110 §15.4.8,
 * §15.4.9); 303, and the POST of 301/302, arrive here already turned into GETs. A repeated POST would
 * reach a server its sender never chose: over a stream with this host's authenticated peer id, natively
 * with whatever the body authorises (a cross-origin request forgery). `redirect: 'manual'` never gets
 * here with a second hop: the caller decides. `origin` is serialised (`URL#origin`).
 */
export function recordHop (hops: string[], origin: string, path: string, method: string): void {
  const previous = hops.length === 0 ? undefined : new URL(hops[hops.length - 1]).origin
  hops.push(`${origin}${path}`)
  const refusal = redirectRefusal(previous, origin, method)
  if (refusal != null) {
    throw refusal
  }
}

/**
 * {@link recordHop} as an interceptor for one fetch, for the calls that go through undici's `fetch`
 * (`host.fetch`'s own engine calls `recordHop` before each hop's dispatch).
 */
export function guardRedirects (hops: string[]): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    recordHop(hops, new URL(String(options.origin)).origin, String(options.path), options.method)
    return dispatch(options, handler)
  }
}
