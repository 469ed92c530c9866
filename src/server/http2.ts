/**
 * HTTP/2 on the native `/tls/http` listeners: `node:http2`'s `createSecureServer({ allowHTTP1: true })`
 * negotiates `h2` by ALPN and keeps HTTP/1.1 for clients that do not offer it; its compatibility API
 * hands requests over as `Http2ServerRequest`/`Http2ServerResponse`. Node parses and frames both
 * protocols; this module only makes an h2 request read like an HTTP/1.1 one to the pipeline and to
 * handlers written for HTTP/1.1:
 *
 * 1. `Host` comes from `:authority` when the client sent no `Host` (RFC 9113 §8.3.1: h2 clients use
 *    `:authority`), so the request checks, Peer ID Authentication and fetch-style handlers see one name;
 * 2. `rawHeaders` lists no pseudo-header fields (`:method`, `:path`, …): they are not header fields, and
 *    handlers copy `rawHeaders` into other requests (`proxyTo`) or into WHATWG `Headers`, which refuse
 *    them. It is an own, writable property, as on `IncomingMessage`. Cookie fields are one, as HTTP/1.1
 *    has them;
 * 3. a request body of undeclared length (no `Content-Length`, and the HEADERS frame did not end the
 *    stream) is marked `Transfer-Encoding: chunked`, as an HTTP/1.1 request with such a body is, so
 *    that the body limit counts it and proxies forward it;
 * 4. the body of a request the server gave up on (`requestTimeout`, which Node enforces on HTTP/1.1
 *    only) fails with `aborted` (`ECONNRESET`) as on HTTP/1.1, where Node's compatibility request would
 *    end it as if it were complete;
 * 5. the compatibility objects' own accessors and methods are pinned on each instance, so frameworks
 *    that re-prototype `req` and `res` onto `http.IncomingMessage`/`ServerResponse` (Express does, in
 *    every app and sub-app) keep reading the HTTP/2 ones;
 * 6. a stream the client reset while a response write was still queued is closed once the request body
 *    has been read (`res` emits 'close'), where Node would keep it open until the session ends (see
 *    {@link closeWhenReset}).
 *
 * @module
 */
import { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { IncomingMessage, OutgoingMessage, ServerResponse } from 'node:http'
import type { Http2Stream } from 'node:http2'

/** Whether `req` arrived over HTTP/2 (a native listener that negotiated `h2`). */
export function isHTTP2 (req: IncomingMessage): boolean {
  return (req as unknown) instanceof Http2ServerRequest
}

/**
 * The size of a header list as HTTP/2 counts it for SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2:
 * each field's name and value in octets, plus 32), pseudo-header fields included, as nghttp2 counts.
 * Node hands the octets over as latin1 strings, one character per octet.
 */
export function headerListSize (rawHeaders: readonly string[]): number {
  let size = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    size += rawHeaders[i].length + (rawHeaders[i + 1] ?? '').length + 32
  }
  return size
}

/**
 * The `:authority` of an HTTP/2 request, when it names a different host than its `Host` field: RFC
 * 9113 §8.3.1 says a server SHOULD treat such a request as malformed. `undefined` otherwise.
 */
export function authorityConflict (req: IncomingMessage): string | undefined {
  if (!isHTTP2(req)) return undefined
  const authority = req.headers[':authority']
  const host = req.headers.host
  if (typeof authority !== 'string' || host == null || authority.toLowerCase() === host.toLowerCase()) return undefined
  return authority
}

/**
 * The members to pin on instances of `http2`: every member its prototype chain gives it under a name
 * that its own class or the HTTP/1.1 classes define (`http1`), except those the instance (`sample`)
 * holds itself. Once re-prototyped onto the HTTP/1.1 classes, their members (`IncomingMessage#_destroy`,
 * which destroys the socket, here the whole session) must not show through. Symbols too: the
 * compatibility methods call each other through symbol-keyed members. Computed once (defining them on
 * an instance then takes about 15 µs, against 80 µs when looked up per request).
 */
function pinnedMembers (sample: object, http2: object, http1: readonly object[]): PropertyDescriptorMap {
  const out: PropertyDescriptorMap = {}
  for (const name of new Set([http2, ...http1].flatMap(proto => Reflect.ownKeys(proto)))) {
    if (name === 'constructor' || Object.hasOwn(sample, name)) continue
    for (let proto: object | null = http2; proto != null; proto = Object.getPrototypeOf(proto) as object | null) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, name)
      if (descriptor != null) {
        out[name as string] = descriptor
        break
      }
    }
  }
  return out
}

let pinned: { req: PropertyDescriptorMap, res: PropertyDescriptorMap } | undefined

/** Requests the server gave up on before their body was complete (`requestTimeout`). */
const givenUp = new WeakSet<IncomingMessage>()

/**
 * The rest of an HTTP/2 request's body is not wanted: what still comes of it is dropped, and once the
 * response is out the stream is closed (RST_STREAM with NO_ERROR, RFC 9113 §8.1) and the body fails.
 */
export function giveUpBody (req: IncomingMessage): void {
  givenUp.add(req)
  // the stream's own 'finish' (our side sent): the compatibility response's waits for the stream to close
  const stream = (req as unknown as Http2ServerRequest).stream
  stream.once('finish', () => { stream.close() })
}

/**
 * Node's compatibility request ends its body when the stream closes, whether or not the client ended
 * it: the body of a request given up on fails instead, with the error Node's HTTP/1.1 server gives, and
 * only when someone listens for errors (as `IncomingMessage` does).
 */
function failGivenUpBody (req: IncomingMessage): void {
  const push = req.push.bind(req)
  req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (!givenUp.has(req)) return push(chunk, encoding)
    if (chunk === null) {
      req.destroy(req.listenerCount('error') > 0 ? Object.assign(new Error('aborted'), { code: 'ECONNRESET' }) : undefined)
    }
    return false
  }
}

/**
 * A client's RST_STREAM with NO_ERROR (undici sends it when a request is aborted; RFC 9113 §8.7 would
 * have CANCEL) arriving while a response write is queued on the stream (not yet framed, e.g. behind the
 * flow-control window): Node ends the readable side and waits for the writable side to finish before it
 * destroys the stream (`kMaybeDestroy`), but the queued write's callback never comes once nghttp2 has
 * closed the stream, so the stream and the compatibility `res` stay open, and a handler waiting for
 * 'close' keeps its timers, until the session ends (Node 20 and 22; any other reset code, or none queued,
 * and Node destroys it at once). A closed stream cannot send anything more: once its readable side has
 * ended (the request body delivered, as Node intends), it is destroyed. The check waits a turn of the
 * event loop, so that Node's own destroy on the same 'end' goes first when it applies.
 */
function closeWhenReset (stream: Http2Stream): void {
  stream.once('end', () => {
    if (!stream.closed) return
    setImmediate(() => {
      if (!stream.destroyed) stream.destroy()
    })
  })
}

/**
 * Make an HTTP/2 compatibility request and response read like HTTP/1.1 ones (see the module comment).
 * A request that is not HTTP/2 is left alone.
 */
export function asHTTP1Shape (req: IncomingMessage, res: ServerResponse): void {
  if (!isHTTP2(req)) return
  const headers = req.headers
  const raw: string[] = []
  const compatRaw = req.rawHeaders
  let cookie = false
  for (let i = 0; i < compatRaw.length; i += 2) {
    if (compatRaw[i].startsWith(':')) continue
    // RFC 9113 §8.2.3: h2 clients (browsers) send each cookie as a field of its own, which are joined
    // with "; " for HTTP/1.1 (RFC 6265 §5.4: one Cookie field), as Node has joined `headers.cookie`
    if (compatRaw[i] === 'cookie' && typeof headers.cookie === 'string') {
      if (!cookie) raw.push('cookie', headers.cookie)
      cookie = true
      continue
    }
    raw.push(compatRaw[i], compatRaw[i + 1])
  }
  const authority = headers[':authority']
  if (headers.host == null && typeof authority === 'string' && authority !== '') {
    headers.host = authority
    raw.unshift('Host', authority)
  }
  const stream = (req as unknown as Http2ServerRequest).stream
  if (headers['content-length'] == null && headers['transfer-encoding'] == null && !stream.endAfterHeaders) {
    headers['transfer-encoding'] = 'chunked'
    raw.push('Transfer-Encoding', 'chunked')
  }
  pinned ??= {
    req: pinnedMembers(req, Http2ServerRequest.prototype, [IncomingMessage.prototype]),
    res: pinnedMembers(res, Http2ServerResponse.prototype, [ServerResponse.prototype, OutgoingMessage.prototype])
  }
  Object.defineProperties(req, pinned.req)
  Object.defineProperties(res, pinned.res)
  failGivenUpBody(req)
  closeWhenReset(stream)
  Object.defineProperty(req, 'rawHeaders', { value: raw, writable: true, enumerable: true, configurable: true })
}
