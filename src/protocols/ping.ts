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

function answer (res: ServerResponse, status: number, message: string): void {
  res.statusCode = status
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.end(`${message}\n`)
}

/**
 * The server side: `POST` of exactly {@link PING_SIZE} bytes → `200` with the same bytes; any other
 * length → `400`; other methods → `405`. Reads at most one chunk past 32 bytes: a longer body is refused
 * as soon as it is seen to be longer, and the connection is not kept alive, so the rest is never read.
 */
export function pingListener (req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST')
    answer(res, 405, 'ping takes POST')
    return
  }
  const tooLong = (): void => {
    // Keep-alive would make Node read (and discard) the rest of the body after the answer.
    res.shouldKeepAlive = false
    answer(res, 400, `a ping body is exactly ${PING_SIZE} bytes`)
  }
  const declared = req.headers['content-length']
  if (declared != null && Number(declared) !== PING_SIZE) {
    tooLong()
    return
  }
  const chunks: Buffer[] = []
  let size = 0
  const onData = (chunk: Buffer): void => {
    size += chunk.byteLength
    if (size > PING_SIZE) {
      req.off('data', onData)
      req.off('end', onEnd)
      req.pause()
      tooLong()
      return
    }
    chunks.push(chunk)
  }
  const onEnd = (): void => {
    if (size !== PING_SIZE) {
      answer(res, 400, `a ping body is exactly ${PING_SIZE} bytes`)
      return
    }
    res.statusCode = 200
    res.setHeader('content-type', 'application/octet-stream')
    res.setHeader('content-length', PING_SIZE)
    res.end(Buffer.concat(chunks))
  }
  req.on('data', onData)
  req.on('end', onEnd)
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
