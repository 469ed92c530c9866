/**
 * The request-target rules of `request-checks.ts` (see its module comment), in a module of their own
 * without Node imports: the Web path's server (`web/http1/server.ts`) applies the same rules.
 *
 * @module
 */

/**
 * A `.` or `..` segment in any spelling: one or two dots (`.` or `%2e`, any case) that start the path or
 * follow a separator (`/`, and `\`, `%2F`, `%5C` for the lenient servers on the way), and end it or are
 * followed by a separator or `;` parameters (`;`, `%3B`). One regular expression, as it runs on every
 * request (twice for a mounted one); test/server/request-checks.test.ts holds it to the segment-by-segment
 * reading of the same rule.
 */
const DOT_SEGMENT = /(?:^|\/|\\|%2f|%5c)(?:\.|%2e){1,2}(?=$|\/|\\|;|%2f|%5c|%3b)/i

/** Whether `path` (without its query) has a `.` or `..` segment in any spelling (see the module comment). */
export function hasDotSegment (path: string): boolean {
  return DOT_SEGMENT.test(path)
}

/** A `Host` value: uri-host (an IP literal or a reg-name, RFC 3986 §3.2.2) and an optional port, nothing else. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d*)?$/

/**
 * Whether `host` is a valid `Host` field value (RFC 9112 §3.2: anything else is a `400`). Both servers
 * build a fetch-style handler's URL from it: `Host: x/admin?` with the target `/public` gave the handler
 * the path `/admin` while the router and the mounts had judged `/public`.
 */
export function isValidHost (host: string): boolean {
  return HOST.test(host)
}

/** The path of an origin-form target: up to its query (a target with a fragment is refused before this). */
function pathOf (target: string): string {
  const end = target.indexOf('?')
  return end === -1 ? target : target.slice(0, end)
}

/** The `host[:port]` a URL authority names, as WHATWG URLs spell it (lowercase, default port dropped); `undefined` if none. */
function authorityOf (scheme: string, authority: string): string | undefined {
  try {
    return new URL(`${scheme}//${authority}`).host
  } catch {
    return undefined
  }
}

const ABSOLUTE = /^(https?:)\/\/([^/?#]*)(.*)$/is

/**
 * The origin-form target `target` is served as, or why it is refused (see the module comment for the
 * rules). `host` is the request's `Host` value.
 */
export function originForm (target: string, host: string | undefined): { target: string } | { refusal: string } {
  let origin = target
  if (!target.startsWith('/')) {
    const absolute = ABSOLUTE.exec(target)
    if (absolute == null) {
      return { refusal: `request target ${JSON.stringify(target.slice(0, 64))} is neither origin-form (/path) nor absolute-form (http://host/path)` }
    }
    const [, scheme, authority, rest] = absolute
    const named = authorityOf(scheme, authority)
    if (named == null || host == null || named === '' || named !== authorityOf(scheme, host)) {
      // RFC 9112 §3.2.2: a server MUST accept absolute-form, and this one does for itself; for
      // another host it would be acting as a proxy, which it is not
      return { refusal: 'an absolute-form request target must name the Host it is sent to: this server is not a proxy' }
    }
    origin = rest.startsWith('/') ? rest : `/${rest}`
  }
  if (origin.includes('#')) {
    // RFC 9112 §3.2: a request target has no fragment (clients strip it). Node's parser lets `#` through,
    // and servers behind differ on it: some end the path there, some (Go's net/http) keep it in the path
    // and then clean `/x#/../..` to a path above a base
    return { refusal: 'the request target has a fragment (#)' }
  }
  if (hasDotSegment(pathOf(origin))) {
    // RFC 3986 §5.2.4 would remove them, but the client, every proxy on the way and the upstream may
    // each do it differently: a path that needs it is refused rather than guessed at
    return { refusal: 'the request path has a "." or ".." segment' }
  }
  return { target: origin }
}

/**
 * `target` (origin-form) appended to `base` (a path without its trailing `/`), or `undefined` when the
 * result could leave `base`: a target that is not origin-form, has a fragment or a dot segment. The host refuses
 * those before any handler runs; this keeps a proxy safe behind a server that does not.
 */
export function pathBelow (base: string, target: string): string | undefined {
  if (!target.startsWith('/') || target.includes('#') || hasDotSegment(pathOf(target))) {
    return undefined
  }
  return `${base}${target}`
}
