/**
 * Expose an HTTP service to peers: a Node request listener that forwards each request to an upstream
 * (an LLM server, a web app) and streams the answer back, as a reverse proxy should: end-to-end headers
 * only, `Via`, the upstream's `Host` with the original in `X-Forwarded-Host`, the caller's authenticated
 * peer id in `x-libp2p-peer-id` (any copy the caller sent removed), bodies streamed both ways with
 * backpressure, no decompression, no redirects followed, an aborted caller aborting the upstream
 * request, and failures answered once, as 502/504 with `Proxy-Status` (RFC 9209), never 500.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { Agent } from 'undici'
import { remotePeer } from '../identity.js'
import { PEER_ID_HEADER, appendVia, endToEnd, headerValue, isLoop } from './headers.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
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
   * How long the upstream's body may stay silent, in ms (0: no limit).
   *
   * @default 0
   */
  idleTimeout?: number
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
}

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
  res.setHeader('proxy-status', `${pseudonym}; error=${error}${detail == null ? '' : `; details=${JSON.stringify(detail)}`}`)
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.end(`${status === 504 ? 'Gateway Timeout' : status === 403 ? 'Forbidden' : 'Bad Gateway'}: ${error}\n`)
}

/**
 * A request listener forwarding to `upstream` (`http://host:port[/base]`); the request target is
 * appended to the upstream's path byte for byte. Mount it like any handler:
 *
 * @example
 * ```ts
 * host.handle('/x/llm/1', proxyTo('http://127.0.0.1:11434'))
 * ```
 */
export function proxyTo (upstream: string | URL, options: ProxyOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const base = new URL(upstream)
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError(`the upstream must be an http(s) URL, not ${base.protocol}`)
  }
  const basePath = base.pathname.replace(/\/$/, '')
  const pseudonym = options.pseudonym ?? `libp2phttp-${randomBytes(4).toString('hex')}`
  const dispatcher = options.dispatcher ?? new Agent()
  const headersTimeout = options.headersTimeout ?? 300_000
  const bodyTimeout = options.idleTimeout ?? 0

  return (req, res) => {
    const via = headerValue(req.rawHeaders, 'via')
    if (isLoop(via, pseudonym)) {
      fail(res, pseudonym, 508, 'proxy_loop_detected')
      return
    }
    const method = req.method ?? 'GET'
    const maxForwards = headerValue(req.rawHeaders, 'max-forwards')
    if ((method === 'TRACE' || method === 'OPTIONS') && maxForwards != null && Number(maxForwards) <= 0) {
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
    const headers = endToEnd(req.rawHeaders, new Set(['via', 'max-forwards', PEER_ID_HEADER, ...(options.rewriteHost === false ? [] : ['host'])]))
    if (options.rewriteHost !== false) {
      headers.push('host', base.host)
      const original = headerValue(req.rawHeaders, 'host')
      if (original != null && original !== '') headers.push('x-forwarded-host', original)
    }
    if (maxForwards != null && (method === 'TRACE' || method === 'OPTIONS')) {
      headers.push('max-forwards', String(Number(maxForwards) - 1))
    }
    headers.push('via', appendVia(via, pseudonym))
    const peer = remotePeer(req)
    if (peer != null && options.forwardPeerId !== false) headers.push(PEER_ID_HEADER, peer.toString())

    // a caller that goes away aborts the upstream request (a cancelled generation stops)
    const controller = new AbortController()
    res.once('close', () => { if (!res.writableFinished) controller.abort(new Error('the caller went away')) })
    const hasBody = req.headers['content-length'] != null || req.headers['transfer-encoding'] != null

    dispatcher.request({
      origin: base.origin,
      path: `${basePath}${req.url ?? '/'}`,
      method: method as Dispatcher.HttpMethod,
      headers,
      body: hasBody ? req : undefined,
      signal: controller.signal,
      headersTimeout,
      bodyTimeout
    }).then(async (answer) => {
      const raw: string[] = []
      for (const [name, value] of Object.entries(answer.headers)) {
        for (const v of Array.isArray(value) ? value : [value ?? '']) raw.push(name, v)
      }
      // Peer ID Authentication is this host's exchange with its client: the upstream's own
      // Authentication-Info must not replace the one the guard set
      const out = endToEnd(raw, new Set(['via', ...(res.hasHeader('authentication-info') ? ['authentication-info'] : [])]))
      out.push('via', appendVia(headerValue(raw, 'via'), pseudonym))
      res.writeHead(answer.statusCode, out)
      // streamed as it comes (SSE chunks are not held back); the response's backpressure reaches the upstream
      res.flushHeaders()
      await pipeline(answer.body, res)
    }).catch((err: unknown) => {
      if (controller.signal.aborted) {
        res.destroy()
        return
      }
      const { status, error } = classify(err)
      fail(res, pseudonym, status, error, (err as Error).message)
    })
  }
}
