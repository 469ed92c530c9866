/**
 * Redirects with `multiaddr:` URIs. A server may answer `Location: multiaddr:/…/http-path/…` (the spec's
 * multiaddr URI scheme lets a redirect name another host or transport). Fetch only follows http(s)
 * URLs, so an interceptor rewrites such a `Location` into the dispatcher URL that reaches it
 * (`http://<peer>/…` for a stream, `https://…` for native) before fetch reads it; fetch's own redirect
 * rules (method changes, body replay, limits) then apply unchanged.
 *
 * @module
 */
import { MULTIADDR_URI_SCHEME, withHTTPPath } from './addressing.js'
import { ForwardingHandler } from './forwarding-handler.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Dispatcher } from 'undici'

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** Rewrites a `multiaddr:` `Location` on redirects; forwards everything else. */
class LocationHandler extends ForwardingHandler {
  readonly #locate: (uri: string) => string

  constructor (inner: Dispatcher.DispatchHandler, locate: (uri: string) => string) {
    super(inner)
    this.#locate = locate
  }

  override onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    const location = headers.location
    if (REDIRECTS.has(statusCode) && typeof location === 'string' && location.slice(0, MULTIADDR_URI_SCHEME.length).toLowerCase() === MULTIADDR_URI_SCHEME) {
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
