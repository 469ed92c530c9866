/**
 * End to end over real libp2p nodes (TCP + noise + yamux on 127.0.0.1): requests and responses, bodies
 * both ways, streaming, concurrency.
 */
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventSource, fetch as undiciFetch, request as undiciRequest } from 'undici'
import { remotePeer, serverPeer } from '../../src/index.js'
import { bytesOf, createPeer, stopPeers, uriOf } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

let server: Peer
let client: Peer
const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => unknown>()

beforeAll(async () => {
  server = await createPeer()
  client = await createPeer()
  server.host.serve((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]
    const route = routes.get(path)
    if (route == null) {
      res.statusCode = 404
      res.end()
      return
    }
    return route(req, res)
  })
})
afterAll(async () => { await stopPeers(server, client) })

async function readAll (req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

describe('requests', () => {
  it('GET returns status, headers and body, and both sides know each other', async () => {
    let seenPeer: string | undefined
    let seenAddress: string | undefined
    routes.set('/hello', (req, res) => {
      seenPeer = remotePeer(req)?.toString()
      seenAddress = req.socket.remoteAddress
      res.setHeader('x-test', 'yes')
      res.end('hello')
    })
    const res = await client.host.fetch(uriOf(server, '/hello'))
    expect(res.status).toBe(200)
    expect(res.headers.get('x-test')).toBe('yes')
    expect(res.headers.get('connection')).toBe('close')
    expect(await res.text()).toBe('hello')
    expect(seenPeer).toBe(client.node.peerId.toString())
    expect(seenAddress).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+/)
    expect(serverPeer(res)?.toString()).toBe(server.node.peerId.toString())
  })

  it('preserves the query string from /http-path and from { peer, path }', async () => {
    routes.set('/items', (req, res) => { res.end(req.url) })
    const viaURI = await client.host.fetch(`${uriOf(server)}/http-path/items%3Fx%3D1%26y%3D%C3%A9`)
    expect(await viaURI.text()).toBe('/items?x=1&y=%C3%A9')
    const viaPeer = await client.host.fetch({ peer: server.node.peerId, path: '/items?a=b&c' })
    expect(await viaPeer.text()).toBe('/items?a=b&c')
  })

  it('fetches by PeerId and by Multiaddr object', async () => {
    routes.set('/', (_req, res) => { res.end('root') })
    const byPeer = await client.host.fetch(server.node.peerId)
    expect(await byPeer.text()).toBe('root')
    const byAddr = await client.host.fetch(server.node.getMultiaddrs()[0])
    expect(await byAddr.text()).toBe('root')
  })

  it('POST 1 MiB of non-ASCII text arrives byte-exact', async () => {
    let received: Buffer | undefined
    routes.set('/upload', async (req, res) => {
      received = await readAll(req)
      res.end(String(received.length))
    })
    const unit = 'héllo wörld ✓ 日本語 🎉 '
    const text = unit.repeat(Math.ceil(1024 * 1024 / Buffer.byteLength(unit)))
    const body = Buffer.from(text, 'utf8')
    expect(body.length).toBeGreaterThanOrEqual(1024 * 1024)
    const res = await client.host.fetch(uriOf(server, '/upload'), { method: 'POST', body: text, headers: { 'content-type': 'text/plain; charset=utf-8' } })
    expect(await res.text()).toBe(String(body.length))
    expect(received?.equals(body)).toBe(true)
  })

  it('POST binary bytes, echoed exactly', async () => {
    routes.set('/echo', async (req, res) => { res.end(await readAll(req)) })
    const body = randomBytes(1024 * 1024)
    const res = await client.host.fetch(uriOf(server, '/echo'), { method: 'POST', body })
    expect(Buffer.from(await bytesOf(res)).equals(body)).toBe(true)
  })

  it('streams a request body with chunked transfer encoding (duplex: half)', async () => {
    let encoding: string | undefined
    routes.set('/chunked', async (req, res) => {
      encoding = req.headers['transfer-encoding']
      res.end(await readAll(req))
    })
    const parts = ['one,', 'two,', 'three']
    const stream = new ReadableStream<Uint8Array>({
      async pull (controller) {
        const next = parts.shift()
        if (next == null) controller.close()
        else controller.enqueue(new TextEncoder().encode(next))
      }
    })
    const res = await client.host.fetch(uriOf(server, '/chunked'), { method: 'POST', body: stream, duplex: 'half' })
    expect(await res.text()).toBe('one,two,three')
    expect(encoding).toBe('chunked')
  })
})

describe('streaming responses', () => {
  it('delivers the first server-sent event before the handler has finished', async () => {
    let release!: () => void
    const released = new Promise<void>(resolve => { release = resolve })
    let finished = false
    routes.set('/events', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write('data: first\n\n')
      await released
      res.end('data: second\n\n')
      finished = true
    })
    const res = await client.host.fetch(uriOf(server, '/events'))
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toBe('data: first\n\n')
    expect(finished).toBe(false)
    release()
    let rest = ''
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value)
    }
    expect(rest).toBe('data: second\n\n')
  })

  it('streams 64 MiB without the server running ahead of a slow reader', async () => {
    const total = 64 * 1024 * 1024
    const chunk = Buffer.alloc(64 * 1024, 7)
    let produced = 0
    routes.set('/big', (_req, res) => {
      res.setHeader('content-length', total)
      const source = new Readable({
        read () {
          if (produced >= total) { this.push(null); return }
          produced += chunk.length
          this.push(chunk)
        }
      })
      source.pipe(res)
    })
    const res = await client.host.fetch(uriOf(server, '/big'))
    const reader = res.body!.getReader()
    const first = await reader.read()
    let consumed = first.value!.byteLength
    // Stop reading for a while: flow control must stall the producer well short of the whole body.
    await new Promise(resolve => setTimeout(resolve, 300))
    const stalledAt = produced
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(produced).toBe(stalledAt)
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      consumed += next.value.byteLength
    }
    expect(consumed).toBe(total)
    // In flight while stalled: the muxer window (yamux grows it to at most 16 MiB) plus socket buffers.
    expect(stalledAt).toBeLessThan(24 * 1024 * 1024)
  })
})

describe('concurrency', () => {
  it('100 concurrent requests all succeed', async () => {
    routes.set('/n', async (req, res) => {
      await new Promise(resolve => setTimeout(resolve, 10))
      res.end(new URL(req.url!, 'http://x').searchParams.get('i'))
    })
    const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const res = await client.host.fetch({ peer: server.node.peerId, path: `/n?i=${i}` })
      return await res.text()
    }))
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => String(i)))
  })

  it('a burst to a peer not yet connected succeeds (no MaxEarlyStreamsError)', async () => {
    const fresh = await createPeer()
    try {
      fresh.host.serve((_req: IncomingMessage, res: ServerResponse) => { res.end('ok') })
      const uri = uriOf(fresh, '/')
      const results = await Promise.all(Array.from({ length: 40 }, async () => await (await client.host.fetch(uri)).text()))
      expect(results.every(r => r === 'ok')).toBe(true)
    } finally {
      await stopPeers(fresh)
    }
  })
})

describe('host.dispatcher with undici itself', () => {
  it('undici fetch and request reach a peer through host.url()', async () => {
    routes.set('/u', (_req, res) => { res.end('via undici') })
    const url = await client.host.url(uriOf(server, '/u'))
    expect(url).toMatch(/^http:\/\/k[0-9a-z]+\/u$/)
    const res = await undiciFetch(url, { dispatcher: client.host.dispatcher })
    expect(await res.text()).toBe('via undici')
    const { statusCode, body } = await undiciRequest(url, { dispatcher: client.host.dispatcher })
    expect(statusCode).toBe(200)
    expect(await body.text()).toBe('via undici')
  })

  it('EventSource receives events from a peer', async () => {
    routes.set('/sse', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('event: greet\ndata: one\n\n')
      setTimeout(() => { res.end('event: greet\ndata: two\n\n') }, 20)
    })
    const url = await client.host.url(uriOf(server, '/sse'))
    const source = new EventSource(url, { dispatcher: client.host.dispatcher })
    const seen: string[] = []
    await new Promise<void>((resolve, reject) => {
      source.addEventListener('greet', (event) => {
        seen.push((event as MessageEvent).data)
        if (seen.length === 2) resolve()
      })
      source.onerror = () => { if (seen.length < 2) reject(new Error('EventSource failed')) }
    })
    source.close()
    expect(seen).toEqual(['one', 'two'])
  })
})
