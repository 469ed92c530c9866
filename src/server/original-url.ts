/**
 * The request target as the client sent it, for handlers mounted at a path prefix (which see it stripped).
 *
 * Node handlers: `req.originalUrl`, the Express convention (Express keeps an `originalUrl` that is
 * already set, so a mounted Express app reports the full path too). Fetch-style handlers get a fresh
 * `Request` whose `url` is the stripped one; {@link originalUrl} reaches the original for both.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'

// On the request itself under a global-registry key, so that `originalUrl` of another copy of the
// package (an ESM and a CJS build, two versions) reads it too; not enumerable
const ORIGINAL_URL = Symbol.for('libp2phttp.originalUrl')

/** A Node request that may carry the target as it arrived. */
export type RoutedRequest = IncomingMessage & { originalUrl?: string }

/** @internal Give `req` a new target for its handler, keeping the one it arrived with in `req.originalUrl`. */
export function rewriteUrl (req: RoutedRequest, url: string): void {
  req.originalUrl ??= req.url
  req.url = url
}

/** @internal Record the original absolute URL of a WHATWG `Request` made for a fetch-style handler. */
export function setOriginalUrl (request: object, url: string): void {
  Object.defineProperty(request, ORIGINAL_URL, { value: url, configurable: true })
}

/**
 * The request target as the client sent it, before a mount prefix was stripped or an absolute-form
 * target for this host was made origin-form: for a Node request the target as sent
 * (`/kv/1.0.0/keys/a?x=1`, or `http://host/kv/1.0.0/keys/a?x=1`); for the `Request` given to a fetch-style
 * handler the absolute URL, like `request.url`. For requests that were not rewritten, the current one.
 *
 * @example
 * ```ts
 * host.handle('/kv/1.0.0', (req, res) => { res.end(`${req.url} of ${originalUrl(req)}`) })
 * // GET /kv/1.0.0/keys/a → "/keys/a of /kv/1.0.0/keys/a"
 * ```
 */
export function originalUrl (req: IncomingMessage | Request): string {
  const recorded = (req as { [ORIGINAL_URL]?: string })[ORIGINAL_URL]
  if (recorded != null) {
    return recorded
  }
  const fromNode = (req as RoutedRequest).originalUrl
  return typeof fromNode === 'string' ? fromNode : req.url ?? '/'
}
