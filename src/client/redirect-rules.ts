/**
 * The Fetch standard's rules for following a redirect ("HTTP-redirect fetch", steps 7 to 13), pure, for
 * both engines that follow redirects themselves: `host.fetch`'s own fetch (`client/lean-fetch.ts`) and
 * the browser host's stream fetches (`web/host.ts`). In order:
 *
 * 1. At most {@link MAX_REDIRECTS} redirects are followed; the next one is a network error.
 * 2. A hop other than 303 cannot repeat a body that is a stream (it has no source to extract again):
 *    a network error, even where rule 3 would drop the body.
 * 3. 301/302 of a `POST`, and 303 of anything but `GET`/`HEAD`, become a `GET` without body, and the
 *    request-body headers ({@link REQUEST_BODY_HEADERS}) go with the body.
 * 4. To another origin, `Authorization`, `Proxy-Authorization`, `Cookie` and `Host` are removed (undici's
 *    reading of "CORS non-wildcard request-header name" and of the forbidden headers it does not enforce).
 *
 * @module
 */

/** The statuses that redirect (RFC 9110 §15.4; Fetch's "redirect status"). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/** How many redirects one fetch follows (Fetch standard, step 7). */
export const MAX_REDIRECTS = 20

/** Fetch's "request-body-header names" and `Content-Length` (as undici adds it, nodejs/undici#2021), dropped with the body when a redirect turns the request into a GET. */
export const REQUEST_BODY_HEADERS: readonly string[] = ['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length']

/** The headers removed when a redirect leaves the origin (rule 4). */
export const CROSS_ORIGIN_DROPPED_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'host']

/** What the next hop of a redirect sends, or why there is none. */
export type RedirectStep =
  | { follow: true, method: string, dropBody: boolean, dropHeaders: readonly string[] }
  | { follow: false, reason: string }

/**
 * The next hop after a redirect with `status` (a {@link REDIRECT_STATUSES} member) from `from` to `to`
 * (origins, as `URL#origin` gives them), the request so far having `method`, a body (`body`: `'none'`,
 * `'replayable'` bytes, or a `'stream'`), and `redirectCount` redirects followed already.
 */
export function redirectStep (request: { method: string, body: 'none' | 'replayable' | 'stream', redirectCount: number }, status: number, from: string, to: string): RedirectStep {
  if (request.redirectCount >= MAX_REDIRECTS) {
    return { follow: false, reason: 'redirect count exceeded' }
  }
  if (status !== 303 && request.body === 'stream') {
    return { follow: false, reason: `a ${status} redirect repeats the request body, and a streamed body cannot be sent twice` }
  }
  const toGET = ((status === 301 || status === 302) && request.method === 'POST') || (status === 303 && request.method !== 'GET' && request.method !== 'HEAD')
  const crossOrigin = from !== to
  const dropHeaders = toGET && crossOrigin
    ? [...REQUEST_BODY_HEADERS, ...CROSS_ORIGIN_DROPPED_HEADERS]
    : toGET ? REQUEST_BODY_HEADERS : crossOrigin ? CROSS_ORIGIN_DROPPED_HEADERS : []
  return { follow: true, method: toGET ? 'GET' : request.method, dropBody: toGET, dropHeaders }
}
