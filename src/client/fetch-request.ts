/**
 * A `RequestInit` made into what `host.fetch`'s own fetch (`client/lean-fetch.ts`) dispatches: the
 * method normalised, the headers as undici's `fetch` sends them (the caller's in their order and
 * spelling, then the body's type and fetch's defaults), the body extracted as fetch extracts it.
 *
 * {@link prepareRequest} also holds the rule of which calls are left to undici's `fetch`: it answers
 * `undefined` for anything it does not reproduce exactly (listed in its comment), and the caller then
 * uses undici's `fetch`, which gives those calls their exact answer (including its `TypeError`s for
 * invalid input).
 *
 * @module
 */
import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'

/** undici's default `User-Agent` for fetch (`lib/web/fetch/index.js`, the npm package's build). */
const USER_AGENT = 'undici'

/** Methods fetch normalises to upper case (Fetch standard, "normalize a method"). */
const NORMALISED_METHODS = new Map(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'].map(m => [m.toLowerCase(), m]))

/** RFC 9110 §5.6.2 `token`. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A header value fetch refuses once normalised: NUL, CR or LF, or a character WebIDL's `ByteString` refuses (over U+00FF). */
const BAD_VALUE = /[\0\r\n\u0100-\uffff]/
/** Fetch's "HTTP whitespace", stripped from both ends of a header value. */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g

/** A request body as dispatched: bytes fetch can extract again for a redirect, or a stream it cannot. */
export type PreparedBody =
  | { replayable: true, source: string | Uint8Array | Blob, length: number }
  | { replayable: false, source: ReadableStream<Uint8Array> }

/** A request ready to dispatch; {@link dispatchOptions} gives each hop's options. */
export interface PreparedRequest {
  method: string
  /** Header names in lower case → the name as first given and the value (repeats joined as fetch joins them). */
  headers: Map<string, { name: string, value: string }>
  body: PreparedBody | null
  redirect: 'follow' | 'manual' | 'error'
  signal: AbortSignal | undefined
}

/** The `RequestInit` members this module reads; anything else a caller sets (ours, or unknown) is ignored as fetch ignores it. */
interface Init {
  method?: string
  headers?: unknown
  body?: unknown
  redirect?: string
  signal?: AbortSignal | null
  duplex?: string
  integrity?: string
  cache?: string
  keepalive?: boolean
  mode?: string
  credentials?: string
  referrer?: string
  referrerPolicy?: string
  window?: unknown
  priority?: string
}

/**
 * `init` prepared for `url`, or `undefined` when the call is left to undici's `fetch`, which is when:
 * - the URL carries credentials (fetch refuses it);
 * - the method is not a token, or is `CONNECT`/`TRACE`/`TRACK`, or `GET`/`HEAD` has a body (fetch throws);
 * - a header name or value is invalid (a value with a character over U+00FF too), or `headers` is
 *   neither iterable nor an object (fetch throws);
 * - the body is not a string, `ArrayBuffer`, view, `Blob`, `URLSearchParams` or an unlocked
 *   `ReadableStream` with `duplex: 'half'` that was never read from (that is: `FormData`, other async
 *   iterables, other objects; a stream locked or disturbed, which fetch refuses);
 * - `redirect` or `duplex` has another value, or `signal` is not an `AbortSignal` (fetch throws);
 * - any of `integrity`, `cache`, `keepalive`, `mode`, `credentials`, `referrer`, `referrerPolicy`,
 *   `window`, `priority` is given other than at its default (rare, and each changes headers or checks).
 */
export function prepareRequest (url: URL, init: Init): PreparedRequest | undefined {
  if (url.username !== '' || url.password !== '' || !hasOnlyDefaults(init)) {
    return undefined
  }
  const redirect = init.redirect ?? 'follow'
  const signal = init.signal ?? undefined
  if ((redirect !== 'follow' && redirect !== 'manual' && redirect !== 'error') || (signal != null && !(signal instanceof AbortSignal))) {
    return undefined
  }
  const method = normaliseMethod(init.method ?? 'GET')
  if (method == null) return undefined
  const headers = headerList(init.headers)
  if (headers == null) return undefined
  const extracted = extractBody(init.body, init.duplex)
  if (extracted === undefined || (extracted != null && (method === 'GET' || method === 'HEAD'))) {
    return undefined
  }
  const body = extracted?.body ?? null
  if (extracted?.type != null && !headers.has('content-type')) {
    headers.set('content-type', { name: 'content-type', value: extracted.type })
  }
  return { method, headers, body, redirect, signal }
}

/** Whether every rarely used member is absent or at fetch's default. */
function hasOnlyDefaults (init: Init): boolean {
  return (init.integrity == null || init.integrity === '') &&
    (init.cache == null || init.cache === 'default') &&
    (init.keepalive == null || init.keepalive === false) &&
    (init.mode == null || init.mode === 'cors') &&
    (init.credentials == null || init.credentials === 'same-origin') &&
    (init.referrer == null || init.referrer === 'about:client') &&
    (init.referrerPolicy == null || init.referrerPolicy === '') &&
    init.window == null &&
    (init.priority == null || init.priority === 'auto') &&
    (init.duplex == null || init.duplex === 'half')
}

function normaliseMethod (method: string): string | undefined {
  if (typeof method !== 'string') return undefined
  const known = NORMALISED_METHODS.get(method.toLowerCase())
  if (known != null) return known
  if (!TOKEN.test(method) || /^(connect|trace|track)$/i.test(method)) return undefined
  return method
}

/** The caller's headers as fetch fills its header list, or `undefined` when fetch would throw. */
function headerList (init: unknown): Map<string, { name: string, value: string }> | undefined {
  const list = new Map<string, { name: string, value: string }>()
  if (init == null) return list
  if (typeof init !== 'object' && typeof init !== 'function') return undefined
  const add = (name: unknown, value: unknown): boolean => {
    if (typeof name !== 'string' || !TOKEN.test(name)) return false
    const text = String(value).replace(EDGE_WHITESPACE, '')
    if (BAD_VALUE.test(text)) return false
    const key = name.toLowerCase()
    const entry = list.get(key)
    if (entry == null) list.set(key, { name, value: text })
    else entry.value += (key === 'cookie' ? '; ' : ', ') + text
    return true
  }
  if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of init as Iterable<unknown>) {
      if (typeof pair !== 'object' || pair == null || typeof (pair as Iterable<unknown>)[Symbol.iterator] !== 'function') return undefined
      const items = [...(pair as Iterable<unknown>)]
      if (items.length !== 2 || !add(items[0], items[1])) return undefined
    }
    return list
  }
  for (const name of Object.keys(init)) {
    if (!add(name, (init as Record<string, unknown>)[name])) return undefined
  }
  return list
}

/**
 * The body as fetch's "extract a body" makes it, with its type; `null` for no body, `undefined` for a
 * body left to undici's `fetch`. Bytes are copied, as fetch copies them (the caller may reuse its buffer).
 */
function extractBody (body: unknown, duplex: string | undefined): { body: PreparedBody, type?: string } | null | undefined {
  if (body == null) return null
  if (typeof body === 'string') {
    return { body: { replayable: true, source: body, length: Buffer.byteLength(body) }, type: 'text/plain;charset=UTF-8' }
  }
  if (body instanceof URLSearchParams) {
    const text = body.toString()
    return { body: { replayable: true, source: text, length: Buffer.byteLength(text) }, type: 'application/x-www-form-urlencoded;charset=UTF-8' }
  }
  if (body instanceof ArrayBuffer) {
    return { body: { replayable: true, source: new Uint8Array(body.slice(0)), length: body.byteLength } }
  }
  if (ArrayBuffer.isView(body)) {
    const bytes = new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength))
    return { body: { replayable: true, source: bytes, length: bytes.byteLength } }
  }
  if (body instanceof Blob) {
    return { body: { replayable: true, source: body, length: body.size }, type: body.type === '' ? undefined : body.type }
  }
  // a stream already read from is refused by fetch ("should not be disturbed or locked"), not sent in
  // part; Node's isDisturbed takes web streams too (its type declarations list Node's only)
  if (body instanceof ReadableStream && duplex === 'half' && !body.locked && !Readable.isDisturbed(body as never)) {
    return { body: { replayable: false, source: body } }
  }
  return undefined
}

/**
 * The dispatch options for one hop to `url`: fetch's default headers added in the order undici's
 * `fetch` adds them (`accept`, `accept-language`, `sec-fetch-mode`, `user-agent`, `accept-encoding`,
 * then `content-length`), the path with a trailing `?` kept as fetch keeps it.
 */
export function dispatchOptions (url: URL, request: PreparedRequest): Dispatcher.DispatchOptions {
  const headers: Record<string, string> = {}
  const list = request.headers
  for (const { name, value } of list.values()) headers[name] = value
  if (!list.has('accept')) headers.accept = '*/*'
  if (!list.has('accept-language')) headers['accept-language'] = '*'
  const mode = list.get('sec-fetch-mode')
  if (mode != null) headers[mode.name] = 'cors'
  else headers['sec-fetch-mode'] = 'cors'
  if (!list.has('user-agent')) headers['user-agent'] = USER_AGENT
  const range = list.has('range')
  if (!list.has('accept-encoding')) {
    headers['accept-encoding'] = range ? 'identity' : url.protocol === 'https:' ? 'br, gzip, deflate' : 'gzip, deflate'
  } else if (range) {
    const entry = list.get('accept-encoding') as { name: string, value: string }
    headers[entry.name] = `${entry.value}, identity`
  }
  const body = request.body
  if (!list.has('content-length')) {
    if (body?.replayable === true) headers['content-length'] = String(body.length)
    else if (body == null && (request.method === 'POST' || request.method === 'PUT')) headers['content-length'] = '0'
  }
  const path = url.pathname + url.search
  const trailingQuestionMark = url.search.length === 0 && url.href[url.href.length - url.hash.length - 1] === '?'
  return {
    origin: url.origin,
    path: trailingQuestionMark ? `${path}?` : path,
    method: request.method,
    headers,
    body: body == null ? null : body.source as Dispatcher.DispatchOptions['body']
  }
}
