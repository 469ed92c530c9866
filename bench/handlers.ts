/**
 * What every HTTP contender serves, in the two handler shapes (Node and fetch-style):
 * `GET /small` (28 bytes), `GET /bytes` with `x-bytes: N` (N bytes, streamed in 64 KiB chunks with
 * backpressure; a header, not a query, because @libp2p/http 2.0.6 drops query strings),
 * `POST /upload` (drained; answers the byte count), `GET /first` (a first chunk at once, the rest after).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

const CHUNK = new Uint8Array(64 * 1024)
export const SMALL = 'hello from the bench server\n'

function sizeOf (value: string | string[] | null | undefined): number {
  return Number(typeof value === 'string' ? value : '0')
}

export async function nodeHandler (req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]
  if (path === '/small') {
    res.setHeader('content-type', 'text/plain')
    res.end(SMALL)
  } else if (path === '/bytes') {
    let left = sizeOf(req.headers['x-bytes'])
    res.setHeader('content-type', 'application/octet-stream')
    res.setHeader('content-length', String(left))
    while (left > 0) {
      const n = Math.min(left, CHUNK.byteLength)
      left -= n
      if (!res.write(n === CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, n))) {
        await new Promise<void>((resolve) => {
          const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
          res.on('drain', done)
          res.on('close', done)
        })
        if (res.destroyed) return
      }
    }
    res.end()
  } else if (path === '/upload') {
    let n = 0
    for await (const chunk of req) n += (chunk as Buffer).byteLength
    res.end(String(n))
  } else if (path === '/first') {
    res.setHeader('content-type', 'text/plain')
    res.flushHeaders()
    res.write('first')
    setImmediate(() => { res.end('rest') })
  } else {
    res.statusCode = 404
    res.end()
  }
}

/** `n` zero bytes as a stream of 64 KiB chunks, produced as they are read. */
export function zeros (n: number): ReadableStream<Uint8Array> {
  let left = n
  return new ReadableStream<Uint8Array>({
    pull (controller) {
      const size = Math.min(left, CHUNK.byteLength)
      left -= size
      controller.enqueue(size === CHUNK.byteLength ? CHUNK : CHUNK.slice(0, size))
      if (left === 0) controller.close()
    }
  }, { highWaterMark: 1 })
}

export async function fetchHandler (request: Request): Promise<Response> {
  const url = new URL(request.url)
  if (url.pathname === '/small') {
    return new Response(SMALL, { headers: { 'content-type': 'text/plain' } })
  }
  if (url.pathname === '/bytes') {
    const size = sizeOf(request.headers.get('x-bytes'))
    return new Response(size === 0 ? null : zeros(size), { headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } })
  }
  if (url.pathname === '/upload') {
    let n = 0
    for await (const chunk of request.body ?? []) n += (chunk as Uint8Array).byteLength
    return new Response(String(n))
  }
  if (url.pathname === '/first') {
    const body = new ReadableStream<Uint8Array>({
      start (controller) {
        controller.enqueue(new TextEncoder().encode('first'))
        setImmediate(() => { controller.enqueue(new TextEncoder().encode('rest')); controller.close() })
      }
    })
    return new Response(body, { headers: { 'content-type': 'text/plain' } })
  }
  return new Response(null, { status: 404 })
}
