/**
 * `/http-ping/1`, the HTTP ping of go-libp2p and js-libp2p (not in the spec; spec-notes §2.1): the
 * client POSTs 32 bytes, the server echoes them as `application/octet-stream`.
 *
 * @module
 */
import { PingError } from '../errors.js'
import { readAtMost } from '../util/read-limit.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** The protocol id of HTTP ping. */
export const PING_PROTOCOL = '/http-ping/1'

/** The size of a ping body, in bytes. */
export const PING_SIZE = 32

/** Options for `host.ping`. */
export interface PingOptions {
  /** Aborts the ping (and the discovery of the peer's ping path, when it is not cached). */
  signal?: AbortSignal
  /**
   * Bound on the exchange, in ms: a peer that takes the POST and never answers must not hang the caller.
   *
   * @default the host's discovery timeout (30 000)
   */
  timeout?: number
}

const WRONG_SIZE = `a ping body is exactly ${PING_SIZE} bytes`

/** A refusal as data: what both servers (Node's listener, the browser's handler) answer. */
interface Refusal {
  status: number
  message: string
  headers?: Record<string, string>
}

/** Why a ping request is refused before its body is read, or `undefined` when the body is to be read. */
function refusalOf (method: string, declaredLength: string | null | undefined): Refusal | undefined {
  if (method !== 'POST') {
    return { status: 405, message: 'ping takes POST', headers: { allow: 'POST' } }
  }
  if (declaredLength != null && Number(declaredLength) !== PING_SIZE) {
    return { status: 400, message: WRONG_SIZE }
  }
  return undefined
}

function answer (res: ServerResponse, refusal: Refusal): void {
  res.statusCode = refusal.status
  for (const [name, value] of Object.entries(refusal.headers ?? {})) res.setHeader(name, value)
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.end(`${refusal.message}\n`)
}

/**
 * The server side: `POST` of exactly {@link PING_SIZE} bytes → `200` with the same bytes; any other
 * length → `400`; other methods → `405`. Reads at most one chunk past 32 bytes: a longer body is refused
 * as soon as it is seen to be longer, and the connection is not kept alive, so the rest is never read.
 */
export function pingListener (req: IncomingMessage, res: ServerResponse): void {
  const refusal = refusalOf(req.method ?? 'GET', req.headers['content-length'])
  if (refusal != null) {
    if (refusal.status === 400) res.shouldKeepAlive = false
    answer(res, refusal)
    return
  }
  const tooLong = (): void => {
    // Keep-alive would make Node read (and discard) the rest of the body after the answer.
    res.shouldKeepAlive = false
    answer(res, { status: 400, message: WRONG_SIZE })
  }
  // the module is shared with the browser host (pingHandler): no Buffer, the echo is filled in place
  const echo = new Uint8Array(PING_SIZE)
  let size = 0
  const onData = (chunk: Uint8Array): void => {
    size += chunk.byteLength
    if (size > PING_SIZE) {
      req.off('data', onData)
      req.off('end', onEnd)
      req.pause()
      tooLong()
      return
    }
    echo.set(chunk, size - chunk.byteLength)
  }
  const onEnd = (): void => {
    if (size !== PING_SIZE) {
      answer(res, { status: 400, message: WRONG_SIZE })
      return
    }
    res.statusCode = 200
    res.setHeader('content-type', 'application/octet-stream')
    res.setHeader('content-length', PING_SIZE)
    res.end(echo)
  }
  req.on('data', onData)
  req.on('end', onEnd)
}

/**
 * The server side as a fetch-style handler (the browser host's), with {@link pingListener}'s rules: the
 * body is read up to one byte past {@link PING_SIZE} and no further.
 */
export async function pingHandler (request: Request): Promise<Response> {
  const text = (refusal: Refusal): Response => new Response(`${refusal.message}\n`, {
    status: refusal.status,
    headers: { ...refusal.headers, 'content-type': 'text/plain; charset=utf-8' }
  })
  const refusal = refusalOf(request.method, request.headers.get('content-length'))
  if (refusal != null) {
    await request.body?.cancel().catch(() => {})
    return text(refusal)
  }
  const echo = await readAtMost(request.body, PING_SIZE)
  if (echo?.byteLength !== PING_SIZE) {
    return text({ status: 400, message: WRONG_SIZE })
  }
  return new Response(echo as Uint8Array<ArrayBuffer>, { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(PING_SIZE) } })
}

/** What {@link sendPing} needs: a way to POST to the peer's ping path, randomness and a clock. */
export interface PingDeps {
  post: (body: Uint8Array, signal: AbortSignal | undefined) => Promise<Response>
  randomBytes: (size: number) => Uint8Array
  /** Milliseconds on a monotonic clock. */
  now: () => number
}

/**
 * The client side: send {@link PING_SIZE} random bytes, check the echo, return the round trip in ms
 * (request sent to echo read).
 *
 * @throws {PingError} for a status other than 200 or an echo that differs from what was sent
 */
export async function sendPing (deps: PingDeps, options: PingOptions = {}): Promise<number> {
  const payload = deps.randomBytes(PING_SIZE)
  const start = deps.now()
  const res = await deps.post(payload, options.signal)
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {})
    throw new PingError(res.status, `ping answered ${res.status}`)
  }
  const echo = await readAtMost(res.body, PING_SIZE)
  const rtt = deps.now() - start
  if (echo == null || echo.byteLength !== PING_SIZE || !echo.every((byte, i) => byte === payload[i])) {
    throw new PingError(res.status, `ping echo differs from the ${PING_SIZE} bytes sent (got ${echo == null ? 'more' : echo.byteLength} bytes)`)
  }
  return rtt
}
