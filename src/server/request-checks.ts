/**
 * What Node's parser accepts but this server refuses, checked once in the host's request pipeline (for
 * streams and native listeners, requests and upgrades alike) before any mount, guard or handler sees
 * the request; and the path join that keeps a proxied target below its upstream's base path.
 *
 * The request target (RFC 9112 §3.2) must be:
 * 1. origin-form (`/a/b?q`) whose path has no dot segment: `.` or `..`, also spelt `%2e`, `%2E` or
 *    mixed, followed by `;` parameters (`..;x`), or delimited by `\`, `%2F` or `%5C` (servers that take
 *    those for `/` would climb out of a base path: an upstream behind `proxyTo` is one);
 * 2. or absolute-form (`http://h/a`) naming the host the request names in `Host`: it is then served as
 *    its origin-form (`req.url`; the original in `req.originalUrl`). For another host it is a proxy
 *    request, and this server is not a proxy.
 *
 * Anything else, `*` (asterisk-form) included, is refused with `400`.
 *
 * @module
 */
import { authorityConflict, isHTTP2 } from './http2.js'
import { rewriteUrl } from './original-url.js'
import { isValidHost, originForm } from './request-target.js'
import type { IncomingMessage } from 'node:http'

// the target rules are in a module without Node imports, which the Web path's server shares
export { hasDotSegment, originForm, pathBelow } from './request-target.js'

/** A refusal: the status and the reason sent as the body. */
export interface RequestFault {
  status: number
  reason: string
}

/**
 * Refuse what Node's parser lets through, or admit `req`: more than one `Host` field is a `400` (RFC
 * 9112 §3.2 requires it; Node keeps the first and goes on), a major version other than 1 (`GET /
 * HTTP/2.0` in an HTTP/1.x request line) a `505` (RFC 9110 §15.6.6; llhttp parses any digit), an HTTP/2
 * `Host` that differs from `:authority` a `400`, a target outside the rules of this
 * module a `400`. An admitted absolute-form target is rewritten to its origin-form.
 *
 * `forwardProxy`: the server is a forward proxy, whose requests are absolute-form for other hosts by
 * design (RFC 9112 §3.2.2); their targets are its listener's to judge, and the peer that carries them
 * out applies these rules again.
 */
export function admitRequest (req: IncomingMessage, forwardProxy = false): RequestFault | undefined {
  let hosts = 0
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].length === 4 && req.rawHeaders[i].toLowerCase() === 'host') hosts++
  }
  if (hosts > 1) {
    return { status: 400, reason: 'more than one Host header\n' }
  }
  const host = req.headers.host
  if (host != null && host !== '' && !isValidHost(host)) {
    // RFC 9112 §3.2; a fetch-style handler's URL is built from it (`Host: x/admin?` moved the path)
    return { status: 400, reason: 'invalid Host header\n' }
  }
  // HTTP/2 is spoken only where Node negotiated it (a native TLS listener); "HTTP/2.0" in an HTTP/1.x
  // request line is not HTTP/2
  if (req.httpVersionMajor !== 1 && !isHTTP2(req)) {
    return { status: 505, reason: 'only HTTP/1.x is spoken here\n' }
  }
  const authority = authorityConflict(req)
  if (authority != null) {
    // RFC 9113 §8.3.1: a Host that names another entity than :authority makes the request malformed
    return { status: 400, reason: `Host ${JSON.stringify(req.headers.host)} differs from :authority ${JSON.stringify(authority)}\n` }
  }
  if (forwardProxy) {
    return undefined
  }
  const verdict = originForm(req.url ?? '', req.headers.host)
  if ('refusal' in verdict) {
    return { status: 400, reason: `${verdict.refusal}\n` }
  }
  if (verdict.target !== req.url) {
    rewriteUrl(req, verdict.target)
  }
  return undefined
}
