/**
 * Expose an HTTP service to peers: a Node request listener that forwards each request to an upstream
 * (an LLM server, a web app) and streams the answer back, as a reverse proxy should: end-to-end headers
 * only, `Via`, the upstream's `Host` with the original in `X-Forwarded-Host`, the caller's authenticated
 * peer id in `x-libp2p-peer-id` (any copy the caller sent removed, and its `Forwarded`, `X-Forwarded-*`
 * and `X-Real-IP` with it), only WebSocket upgrades relayed, bodies streamed both ways with
 * backpressure, no decompression (unless asked: `compress`, `decompress`, see `compression.ts`), no
 * redirects followed, an aborted caller aborting the upstream
 * request, and failures answered once, as 502/504 with `Proxy-Status` (RFC 9209), never 500.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { STATUS_CODES, ServerResponse } from 'node:http'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Agent } from 'undici'
import { InvalidOptionError } from '../errors.js'
import { remotePeer } from '../identity.js'
import { pathBelow } from '../server/request-checks.js'
import { PEER_ID_HEADER, appendVia, endToEnd, headerValue, isForwardingHeader, isLoop, isPeerIdHeader, proxyStatus } from './headers.js'
import { rawResponse } from '../server/raw-response.js'
import { splice } from './splice.js'
import { CACHE_TRACE, cacheOutcome, cacheStatusMember, startTrace } from './cache.js'
import { WIRE_ACCEPT_ENCODING, decodeForClient, encodeForCaller } from './compression.js'
import type { CacheOutcome, TracedOptions } from './cache.js'
import type { Recoding } from './compression.js'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'

/** Options for {@link proxyTo}. */
export interface ProxyOptions {
  /**
   * Send the upstream's own host as `Host` (the original goes in `X-Forwarded-Host`). `false` passes
   * the caller's `Host` through.
   *
   * @default true
   */
  rewriteHost?: boolean
  /**
   * How long the upstream may take to send its response headers, in ms (0: no limit). A streamed body
   * has no total limit: an LLM may generate for minutes.
   *
   * @default 300000
   */
  headersTimeout?: number
  /**
   * How long the upstream's response body may stay silent, in ms (0: no limit). Named as the host's
   * `client.bodyTimeout` and undici's; `idleTimeout` means no byte either way on a connection (the
   * host's `server.idleTimeout`).
   *
   * @default 0
   */
  bodyTimeout?: number
  /** The name of this proxy in `Via` and `Proxy-Status`. @default `libp2phttp-<random>` */
  pseudonym?: string
  /**
   * Tell the upstream the caller's authenticated peer id in `x-libp2p-peer-id`. An exit node reaching
   * arbitrary hosts turns it off: the peer id is the caller's to reveal.
   *
   * @default true
   */
  forwardPeerId?: boolean
  /** The dispatcher that reaches the upstream. @default a dedicated undici `Agent` */
  dispatcher?: Dispatcher
  /**
   * The `Upgrade` protocols relayed (by name, case-insensitive; a version after `/` is kept). Any other
   * protocol is removed from the request, which is then served as the plain request it also is (RFC
   * 9110 §7.8: a server may ignore `Upgrade`) and its connection closed after the answer: after a `101`
   * the relay is a byte pipe, and an `h2c` upgrade would carry further requests, a forged
   * `x-libp2p-peer-id` among them, to the upstream unchecked.
   *
   * @default ['websocket']
   */
  upgrades?: readonly string[]
  /**
   * Rewrite a `Location` or `Content-Location` value of the upstream's answer for the caller: a proxy
   * that serves the upstream under another path (the gateway's `/p2p/<peer>/…`) must move the
   * upstream's redirects there too. `request` is the URL the request went to at the upstream (a
   * relative value is relative to it, RFC 9110 §10.2.2), `base` the upstream URL given to {@link proxyTo}.
   *
   * @default values pass unchanged
   */
  relocate?: (value: string, at: { request: URL, base: URL, req: IncomingMessage }) => string
  /**
   * Compress the upstream's uncompressed answers for the caller, in the coding its `Accept-Encoding`
   * prefers (gzip, br; zstd first where the runtime has it), each chunk flushed as it comes; what is left
   * alone and how `ETag`, `Vary` and `Content-Length` change is in `compression.ts`. A provider sets
   * it: the peer link is the slow hop.
   *
   * @default false
   */
  compress?: boolean
  /**
   * When the caller sent no `Accept-Encoding`, ask the upstream for a coding and decode its answer
   * before relaying it (the caller gets what it would have got, `ETag` weak and `Vary: Accept-Encoding`
   * added). A caller that sent one gets the answer as the upstream coded it. A consumer sets it.
   *
   * @default false
   */
  decompress?: boolean
  /**
   * The most bytes a body decoded under {@link decompress} may have; past it the answer is cut off (a
   * decompression bomb). Decoding streams, so memory is bounded whatever this is.
   *
   * @default Infinity
   */
  maxDecodedSize?: number
  /**
   * The dispatcher is a caching one (`cachingDispatcher`): trace each request through it, answer with
   * this proxy's `Cache-Status` member (RFC 9211) and record the outcome for the command's request log (`cacheOutcomeOf`, internal).
   *
   * @default false
   */
  cacheStatus?: boolean
}

/** What the cache did for each response a caching proxy answered (for the request log). */
const outcomes = new WeakMap<ServerResponse, CacheOutcome>()

/** What a caching {@link proxyTo} did for `res`: `hit`, `revalidated` or `miss`; `undefined` when it does not cache or did not answer. */
export function cacheOutcomeOf (res: ServerResponse): CacheOutcome | undefined {
  return outcomes.get(res)
}

/** The response headers whose value is a URL that {@link ProxyOptions.relocate} rewrites. */
const RELOCATED = new Set(['location', 'content-location'])

/** Why a target is not forwarded: joined to the upstream's path it could leave it. */
const OUTSIDE_BASE = 'the request target must be origin-form without "." or ".." segments'

/** RFC 9209 error types this proxy reports. */
export type ProxyError = 'http_request_denied' | 'http_request_error' | 'destination_ip_prohibited' | 'destination_not_found' | 'destination_unavailable' | 'connection_refused' | 'connection_timeout' | 'connection_terminated' | 'http_response_incomplete' | 'http_protocol_error' | 'http_response_header_timeout' | 'proxy_loop_detected' | 'proxy_internal_error'

/** @internal The status and RFC 9209 error type for a failure to reach the next hop (undici's and our codes). */
export function classify (err: unknown): { status: number, error: ProxyError } {
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code ?? ''
  switch (code) {
    // the next hop is a peer (the consumer side, the gateway): our own errors
    case 'ERR_DIAL_FAILED':
    case 'ERR_NO_TRANSPORT':
      return { status: 502, error: 'destination_unavailable' }
    case 'ERR_PROTOCOL_NOT_SUPPORTED':
      return { status: 502, error: 'connection_refused' }
    case 'ERR_PROTOCOL_NOT_FOUND':
    case 'ERR_INVALID_TARGET':
      return { status: 502, error: 'destination_not_found' }
    case 'ERR_STREAM_RESET':
      return { status: 502, error: 'connection_terminated' }
    case 'ERR_EGRESS_DENIED':
      return { status: 403, error: 'destination_ip_prohibited' }
    case 'ERR_BAD_RESPONSE':
    case 'ERR_RESPONSE_HEADERS_TOO_LARGE':
      return { status: 502, error: 'http_protocol_error' }
    case 'ERR_RESPONSE_TIMEOUT':
    case 'ERR_WELL_KNOWN_TIMEOUT':
      return { status: 504, error: 'http_response_header_timeout' }
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 502, error: 'destination_not_found' }
    case 'ECONNREFUSED':
      return { status: 502, error: 'connection_refused' }
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return { status: 504, error: 'connection_timeout' }
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { status: 504, error: 'http_response_header_timeout' }
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return { status: 502, error: 'connection_terminated' }
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_STATUS':
    case 'UND_ERR_INFO':
      return { status: 502, error: 'http_protocol_error' }
    default:
      return code.startsWith('HPE_') ? { status: 502, error: 'http_protocol_error' } : { status: 502, error: 'proxy_internal_error' }
  }
}

/** @internal Answer a proxy failure once: `status` with `Proxy-Status`, or a reset when the response had started. */
export function fail (res: ServerResponse, pseudonym: string, status: number, error: ProxyError, detail?: string): void {
  if (res.headersSent) {
    // the status line is out: only a reset tells the caller the body is incomplete
    res.destroy(new Error(`upstream failed: ${error}`))
    return
  }
  res.statusCode = status
  res.setHeader('proxy-status', proxyStatus(pseudonym, { error, details: detail }))
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.end(`${STATUS_CODES[status] ?? 'Error'}: ${error}\n`)
}

/** @internal Answer a failed upgrade on its raw socket (Node has detached it from its HTTP machinery). */
export function failUpgrade (socket: Duplex, pseudonym: string, status: number, error: ProxyError, detail?: string): void {
  const body = `${STATUS_CODES[status] ?? 'Error'}: ${error}\n`
  socket.end(rawResponse(status, { 'Proxy-Status': proxyStatus(pseudonym, { error, details: detail }), 'Content-Type': 'text/plain; charset=utf-8' }, body))
}

/** A Node `upgrade` listener: `(req, socket, head)`. */
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/**
 * {@link proxyTo}'s handler: a request listener, and `upgrade` for upgrade requests (WebSocket). A host
 * hands upgrades only to a mounted `http.Server`, so mount one that has both:
 *
 * @example
 * ```ts
 * const proxy = proxyTo('http://127.0.0.1:8080')
 * host.handle('/x/app/1', http.createServer(proxy).on('upgrade', proxy.upgrade))
 * ```
 */
export interface ProxyHandler {
  (req: IncomingMessage, res: ServerResponse): void
  /**
   * Relay an upgrade request: the upstream's `101` and then the bytes both ways, or its other answer as
   * is; an upgrade to a protocol not in {@link ProxyOptions.upgrades} is served as a plain request.
   */
  upgrade: UpgradeListener
}

/** A valid `Max-Forwards` (RFC 9110 §7.6.2: a decimal integer), or `undefined` (absent or invalid: ignored). */
function maxForwardsOf (rawHeaders: readonly string[]): number | undefined {
  const value = headerValue(rawHeaders, 'max-forwards')?.trim()
  return value != null && /^\d+$/.test(value) ? Number(value) : undefined
}

/** Serialise a status line and headers (undici's raw `Buffer` list or strings) for a raw socket. */
function head (statusCode: number, statusText: string, raw: ReadonlyArray<string | Buffer>): string {
  let out = `HTTP/1.1 ${statusCode} ${statusText}\r\n`
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i].toString()}: ${raw[i + 1].toString()}\r\n`
  return `${out}\r\n`
}

/**
 * A request listener forwarding to `upstream` (`http://host:port[/base]`); the request target is
 * appended to the upstream's path byte for byte, and one that could leave that path (not origin-form,
 * or with a dot segment) is answered `400` instead. Mount it like any handler:
 *
 * @example
 * ```ts
 * host.handle('/x/llm/1', proxyTo('http://127.0.0.1:11434'))
 * ```
 */
export function proxyTo (upstream: string | URL, options: ProxyOptions = {}): ProxyHandler {
  let base: URL
  try {
    base = new URL(upstream)
  } catch (err) {
    throw new InvalidOptionError('upstream', `the upstream is not a URL: ${String(upstream)}`, { cause: err })
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new InvalidOptionError('upstream', `the upstream must be an http(s) URL, not ${base.protocol}`)
  }
  const basePath = base.pathname.replace(/\/$/, '')
  const pseudonym = options.pseudonym ?? `libp2phttp-${randomBytes(4).toString('hex')}`
  const dispatcher = options.dispatcher ?? new Agent()
  const headersTimeout = options.headersTimeout ?? 300_000
  const bodyTimeout = options.bodyTimeout ?? 0
  const upgrades = new Set((options.upgrades ?? ['websocket']).map(p => p.toLowerCase()))

  /**
   * The headers for the upstream: end-to-end ones only; no `Expect` (Node answered `100-continue` on this
   * hop), no `Proxy-Authorization` (this hop's credentials), no copy of the peer id header in any
   * spelling (`x_libp2p_peer_id` becomes `x-libp2p-peer-id` behind some servers), no claim of where the
   * request came from (`Forwarded`, `X-Forwarded-*`, `X-Real-IP`: see `isForwardingHeader`).
   */
  const requestHeaders = (req: IncomingMessage, via: string | undefined, maxForwards: number | undefined): string[] => {
    const raw = req.rawHeaders.filter((_v, i) => {
      const name = req.rawHeaders[i - (i % 2)]
      return !isPeerIdHeader(name) && !isForwardingHeader(name)
    })
    const headers = endToEnd(raw, new Set(['via', 'max-forwards', 'expect', 'proxy-authorization', ...(options.rewriteHost === false ? [] : ['host'])]))
    if (options.rewriteHost !== false) {
      headers.push('host', base.host)
      const original = headerValue(req.rawHeaders, 'host')
      if (original != null && original !== '') headers.push('x-forwarded-host', original)
    }
    if (maxForwards != null) headers.push('max-forwards', String(maxForwards - 1))
    headers.push('via', appendVia(via, pseudonym))
    const peer = remotePeer(req)
    if (peer != null && options.forwardPeerId !== false) headers.push(PEER_ID_HEADER, peer.toString())
    return headers
  }
  /** The upstream's response headers for the caller: end-to-end ones, this hop's `Via` appended. */
  const responseHeaders = (req: IncomingMessage, path: string, raw: string[], keep: ReadonlySet<string> = new Set()): string[] => {
    const out = endToEnd(raw, new Set(['via', 'proxy-authenticate', ...keep]))
    const relocate = options.relocate
    if (relocate != null) {
      const request = new URL(path, base.origin)
      for (let i = 0; i < out.length; i += 2) {
        if (RELOCATED.has(out[i].toLowerCase())) out[i + 1] = relocate(out[i + 1], { request, base, req })
      }
    }
    out.push('via', appendVia(headerValue(raw, 'via'), pseudonym))
    return out
  }

  const upgrade: UpgradeListener = (req, socket, head0) => {
    socket.on('error', () => {})
    const via = headerValue(req.rawHeaders, 'via')
    if (isLoop(via, pseudonym)) {
      failUpgrade(socket, pseudonym, 508, 'proxy_loop_detected')
      return
    }
    const protocol = relayed(headerValue(req.rawHeaders, 'upgrade'))
    if (protocol == null) {
      servePlain(req, socket, head0)
      return
    }
    const path = pathBelow(basePath, req.url ?? '/')
    if (path == null) {
      failUpgrade(socket, pseudonym, 400, 'http_request_error', OUTSIDE_BASE)
      return
    }
    const controller = new AbortController()
    socket.once('close', () => { controller.abort(new Error('the caller went away')) })
    let answered = false
    const handler: Dispatcher.DispatchHandler = {
      onConnect: (abort) => {
        if (controller.signal.aborted) abort(controller.signal.reason)
        else controller.signal.addEventListener('abort', () => { abort(controller.signal.reason) }, { once: true })
      },
      onUpgrade: (statusCode, rawHeaders, remote) => {
        answered = true
        const raw = (rawHeaders ?? []).map(String)
        // the upstream switched to a protocol it was not offered: no bytes may flow under it
        const switched = headerValue(raw, 'upgrade')
        if (switched != null && !names(protocol).includes(names(switched)[0])) {
          remote.destroy()
          failUpgrade(socket, pseudonym, 502, 'http_protocol_error', `the upstream switched to ${switched}, not to ${protocol}`)
          return
        }
        // the 101 needs its Connection and Upgrade: they are this exchange's, not hop-by-hop here
        const out = [...responseHeaders(req, path, raw), 'connection', 'Upgrade', 'upgrade', headerValue(raw, 'upgrade') ?? protocol]
        socket.write(head(statusCode, 'Switching Protocols', out))
        splice(socket, remote, head0, () => {})
      },
      // any other answer is relayed as an ordinary response, the connection closed after it
      onHeaders: (statusCode, rawHeaders, _resume, statusText) => {
        answered = true
        const raw = rawHeaders.map(String)
        const out = [...responseHeaders(req, path, raw), 'connection', 'close']
        socket.write(head(statusCode, statusText ?? STATUS_CODES[statusCode] ?? '', out))
        return true
      },
      onData: (chunk) => socket.write(chunk),
      onComplete: () => { socket.end() },
      onError: (err) => {
        if (controller.signal.aborted || answered) {
          socket.destroy()
          return
        }
        const { status, error } = classify(err)
        failUpgrade(socket, pseudonym, status, error, err.message)
      }
    }
    dispatcher.dispatch({
      origin: base.origin,
      path,
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: requestHeaders(req, via, undefined),
      upgrade: protocol,
      headersTimeout,
      bodyTimeout
    }, handler)
  }

  /**
   * The protocols of an `Upgrade` value that may be relayed, in the client's order (`websocket`, from
   * `h2c, websocket`), or `undefined` when none may.
   */
  const relayed = (value: string | undefined): string | undefined => {
    const kept = (value ?? '').split(',').map(p => p.trim()).filter(p => upgrades.has(names(p)[0]))
    return kept.length === 0 ? undefined : kept.join(', ')
  }

  /**
   * Serve an upgrade request that is not relayed as a plain one, on the socket Node handed over, then
   * close it: what the client sends after the request is never read.
   */
  const servePlain = (req: IncomingMessage, socket: Duplex, head0: Buffer): void => {
    const res = new ServerResponse(req)
    res.shouldKeepAlive = false
    res.assignSocket(socket as Socket)
    res.once('finish', () => { res.detachSocket(socket as Socket); socket.end() })
    if (req.headers['transfer-encoding'] != null) {
      // Node's parser reads no body after an upgrade request's headers; a chunked one would need a parser of our own
      fail(res, pseudonym, 400, 'http_request_error', 'an upgrade request with a chunked body is not served')
      return
    }
    const length = Number(req.headers['content-length'] ?? 0)
    // Node took its timeouts off the socket it handed over, and undici's headers timeout does not run
    // while a body is still being sent: a body that stalls must not hold the connection (a stream slot)
    // for ever. The server's idle timeout (no byte either way) applies again.
    const detached = socket as Socket & { server?: { timeout?: number } }
    const idle = detached.server?.timeout ?? DETACHED_IDLE_TIMEOUT
    if (idle > 0) detached.setTimeout(idle, () => { socket.destroy() })
    serve(req, res, length > 0 ? bodyAfterHead(socket, head0, length) : undefined)
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    serve(req, res, req.headers['content-length'] != null || req.headers['transfer-encoding'] != null ? req : undefined)
  }

  /** Forward `req` with `body` and relay the answer to `res`. */
  const serve = (req: IncomingMessage, res: ServerResponse, body: Readable | undefined): void => {
    const via = headerValue(req.rawHeaders, 'via')
    if (isLoop(via, pseudonym)) {
      fail(res, pseudonym, 508, 'proxy_loop_detected')
      return
    }
    const method = req.method ?? 'GET'
    const maxForwards = maxForwardsOf(req.rawHeaders)
    if ((method === 'TRACE' || method === 'OPTIONS') && maxForwards != null && maxForwards <= 0) {
      // RFC 9110 §7.6.2: the last recipient answers itself
      res.setHeader('via', appendVia(via, pseudonym))
      if (method === 'OPTIONS') {
        res.setHeader('allow', 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS')
        res.end()
      } else {
        res.setHeader('content-type', 'message/http')
        res.end(`${method} ${req.url ?? '/'} HTTP/${req.httpVersion}\r\n`)
      }
      return
    }
    const path = pathBelow(basePath, req.url ?? '/')
    if (path == null) {
      fail(res, pseudonym, 400, 'http_request_error', OUTSIDE_BASE)
      return
    }
    const headers = requestHeaders(req, via, method === 'TRACE' || method === 'OPTIONS' ? maxForwards : undefined)
    // the caller asked for no coding: the upstream may code for the wire, this side decodes. Not for a
    // range: a coded 206 is a range of the coded bytes, which cannot be decoded on its own
    const decoding = options.decompress === true && req.headers['accept-encoding'] == null && req.headers.range == null
    if (decoding) headers.push('accept-encoding', WIRE_ACCEPT_ENCODING)
    const trace = options.cacheStatus === true ? startTrace(headers) : undefined

    // a caller that goes away aborts the upstream request (a cancelled generation stops)
    const controller = new AbortController()
    res.once('close', () => { if (!res.writableFinished) controller.abort(new Error('the caller went away')) })

    const request: Dispatcher.RequestOptions & TracedOptions = {
      origin: base.origin,
      path,
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      signal: controller.signal,
      headersTimeout,
      bodyTimeout,
      [CACHE_TRACE]: trace
    }
    dispatcher.request(request).then(async (answer) => {
      const raw: string[] = []
      for (const [name, value] of Object.entries(answer.headers)) {
        for (const v of Array.isArray(value) ? value : [value ?? '']) raw.push(name, v)
      }
      // Peer ID Authentication is this host's exchange with its client: the upstream's own
      // Authentication-Info must not replace the one the guard set
      let out = responseHeaders(req, path, raw, new Set(res.hasHeader('authentication-info') ? ['authentication-info'] : []))
      const stages: Transform[] = []
      const recode = (recoding: Recoding | { headers: string[] }): void => {
        out = recoding.headers
        if ('body' in recoding) stages.push(recoding.body)
      }
      if (decoding) {
        recode(decodeForClient(method, answer.statusCode, out))
        if (stages.length > 0 && options.maxDecodedSize != null && Number.isFinite(options.maxDecodedSize)) stages.push(atMost(options.maxDecodedSize))
      }
      if (options.compress === true) recode(encodeForCaller(headerValue(req.rawHeaders, 'accept-encoding'), method, answer.statusCode, out, headerValue(req.rawHeaders, 'if-none-match')))
      if (trace != null) {
        out.push('cache-status', cacheStatusMember(pseudonym, trace))
        outcomes.set(res, cacheOutcome(trace, answer.statusCode))
      }
      res.writeHead(answer.statusCode, out)
      // streamed as it comes (SSE chunks are not held back; a coder flushes each); the response's
      // backpressure reaches the upstream
      res.flushHeaders()
      await pipeline([answer.body, ...stages, res])
    }).catch((err: unknown) => {
      if (controller.signal.aborted) {
        res.destroy()
        return
      }
      const { status, error } = classify(err)
      fail(res, pseudonym, status, error, (err as Error).message)
    })
  }
  return Object.assign(listener, { upgrade })
}

/** A pass-through that fails once more than `limit` bytes went through it. */
function atMost (limit: number): Transform {
  let seen = 0
  return new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      seen += chunk.byteLength
      if (seen > limit) callback(new Error(`the decoded body is larger than ${limit} bytes`))
      else callback(null, chunk)
    }
  })
}

/** The protocol names of an `Upgrade` value, lowercase, versions dropped (`WebSocket/13` → `websocket`). */
function names (value: string): string[] {
  return value.split(',').map(p => p.trim().split('/')[0].toLowerCase())
}

/**
 * The `length` body bytes of a request whose headers Node parsed as an upgrade: those that came with the
 * headers (`head`), then the socket's, with backpressure. Bytes past them are not read.
 */
/** The idle timeout of a declined upgrade's connection when its server has none to give (the host's default). */
const DETACHED_IDLE_TIMEOUT = 300_000

function bodyAfterHead (socket: Duplex, head: Buffer, length: number): Readable {
  let left = length
  const body = new Readable({ read () { if (left > 0) socket.resume() } })
  const take = (chunk: Buffer): void => {
    const part = chunk.subarray(0, left)
    left -= part.length
    if (left === 0) {
      socket.off('data', take)
      socket.pause()
      body.push(part)
      body.push(null)
    } else if (!body.push(part)) {
      socket.pause()
    }
  }
  take(head)
  if (left > 0) {
    socket.on('data', take)
    socket.once('close', () => { if (left > 0) body.destroy(new Error('the request body ended early')) })
  }
  return body
}
