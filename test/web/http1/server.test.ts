/**
 * The Web server (`serveStream`) on a real js-libp2p node, asked by our Node host's client (`host.fetch`),
 * by raw bytes (input no client sends), and by the Web client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticationOf, remotePeer } from '../../../src/index.js'
import { fetchOverStream, openHTTPStream } from '../../../src/web/http1/client.js'
import { serveStream } from '../../../src/web/http1/server.js'
import { createNode, createPeer, sleep, stopPeers, until } from '../../helpers/nodes.js'
import { openHTTPStreams, rawExchange } from '../../helpers/raw-stream.js'
import type { FetchHandler, StreamServerOptions } from '../../../src/web/http1/server.js'
import type { Peer } from '../../helpers/nodes.js'
import type { Libp2p } from '@libp2p/interface'

let node: Libp2p
let client: Peer
let handler: FetchHandler = () => new Response('unset')
let options: StreamServerOptions = {}
const errors: unknown[] = []
let served = 0

beforeAll(async () => {
  node = await createNode()
  await node.handle('/http/1.1', (stream, connection) => {
    served++
    void serveStream(stream, connection, async (request) => await handler(request), { ...options, onError: (err) => errors.push(err) })
  })
  client = await createPeer()
})
afterAll(async () => {
  await stopPeers(client)
  await node.stop()
})

function uri (path: string): string {
  if (path === '/') return `multiaddr:${node.getMultiaddrs()[0].toString()}`
  return `multiaddr:${node.getMultiaddrs()[0].toString()}/http-path/${encodeURIComponent(path.replace(/^\//, ''))}`
}

async function noStreamsLeft (): Promise<void> {
  await until(() => openHTTPStreams(node) === 0 && openHTTPStreams(client.node) === 0, 5000, 'streams to close')
}

describe('serveStream, asked by the Node host\'s client', () => {
  it('GET: the handler sees the URL, the headers and the caller\'s peer id', async () => {
    let seen: Request | undefined
    handler = (request) => { seen = request; return new Response(`hello ${new URL(request.url).pathname}`, { headers: { 'x-served': 'web' } }) }
    const res = await client.host.fetch(uri('/a/b?c=1'), { headers: { 'x-asked': 'yes' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-served')).toBe('web')
    expect(await res.text()).toBe('hello /a/b')
    expect(new URL((seen as Request).url).search).toBe('?c=1')
    expect(seen?.headers.get('x-asked')).toBe('yes')
    expect(remotePeer(seen as Request)?.equals(client.node.peerId)).toBe(true)
    expect(authenticationOf(seen as Request)).toBe('libp2p-connection')
    await noStreamsLeft()
  })

  it('POST: a 4 MiB body streamed up and echoed down as it arrives', async () => {
    handler = (request) => new Response(request.body)
    const size = 4 * 1024 * 1024
    const body = new Uint8Array(size).map((_, i) => i % 251)
    const res = await client.host.fetch(uri('/echo'), { method: 'POST', body })
    const echoed = new Uint8Array(await res.arrayBuffer())
    expect(echoed.byteLength).toBe(size)
    expect(echoed.every((b, i) => b === i % 251)).toBe(true)
    await noStreamsLeft()
  })

  it('a handler that throws: 500, reported', async () => {
    errors.length = 0
    handler = () => { throw new Error('boom') }
    const res = await client.host.fetch(uri('/'))
    expect(res.status).toBe(500)
    expect(await res.text()).toBe('Internal Server Error\n')
    expect((errors[0] as Error).message).toBe('boom')
    await noStreamsLeft()
  })

  it('a handler failing mid-body resets the stream: the client\'s body errors', async () => {
    handler = () => new Response(new ReadableStream({
      start (controller) { controller.enqueue(new TextEncoder().encode('partial')) },
      async pull (controller) { await sleep(20); controller.error(new Error('midway')) }
    }))
    const res = await client.host.fetch(uri('/'))
    expect(res.status).toBe(200)
    await expect(res.text()).rejects.toThrow()
    await noStreamsLeft()
  })

  it('maxRequestBodySize: a declared body over it gets 413 without the handler running', async () => {
    options = { maxRequestBodySize: 1000 }
    let ran = false
    handler = () => { ran = true; return new Response('ran') }
    try {
      const res = await client.host.fetch(uri('/'), { method: 'POST', body: new Uint8Array(5000) })
      expect(res.status).toBe(413)
      expect(ran).toBe(false)
      await noStreamsLeft()
    } finally {
      options = {}
    }
  })

  it('maxRequestBodySize: a chunked body growing past it gets 413, the handler\'s read fails', async () => {
    options = { maxRequestBodySize: 1000 }
    let readError: unknown
    handler = async (request) => { readError = await request.arrayBuffer().catch((e: unknown) => e); return new Response('read') }
    try {
      const res = await rawExchange(client.node, node.getMultiaddrs(), {
        send: ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', '800\r\n' + 'a'.repeat(0x800) + '\r\n', '0\r\n\r\n']
      })
      expect(res.statuses).toEqual([413])
      await until(() => readError != null, 5000, 'the handler to see its read fail')
      expect((readError as { code?: string }).code).toBe('ERR_REQUEST_BODY_TOO_LARGE')
    } finally {
      options = {}
    }
  })
})

describe('serveStream, bad input (raw bytes)', () => {
  it.each([
    { name: 'not HTTP', send: 'HELLO\r\n\r\n', status: 400 },
    { name: 'no Host on HTTP/1.1', send: 'GET / HTTP/1.1\r\n\r\n', status: 400 },
    { name: 'two Hosts', send: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', status: 400 },
    // RFC 9112 §3.2: an invalid Host is a 400; the handler's URL is built from it (this one read /admin)
    { name: 'a Host with a path in it', send: 'GET /public HTTP/1.1\r\nHost: x/admin?\r\n\r\n', status: 400 },
    { name: 'a Host with userinfo', send: 'GET / HTTP/1.1\r\nHost: me@x\r\n\r\n', status: 400 },
    // WHATWG Request refuses it: the peer is told, rather than the stream being reset
    { name: 'TRACE, which WHATWG Request refuses', send: 'TRACE / HTTP/1.1\r\nHost: a\r\n\r\n', status: 501 },
    { name: 'a dot segment', send: 'GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n', status: 400 },
    { name: 'absolute-form for another host', send: 'GET http://other/ HTTP/1.1\r\nHost: a\r\n\r\n', status: 400 },
    { name: 'HTTP/2.0 in a request line', send: 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', status: 505 },
    { name: 'a head over maxHeaderSize', send: `GET / HTTP/1.1\r\nHost: a\r\nX: ${'x'.repeat(20_000)}\r\n\r\n`, status: 431 }
  ])('$name: $status, the stream closed', async ({ send, status }) => {
    handler = () => new Response('served')
    const res = await rawExchange(client.node, node.getMultiaddrs(), { send })
    expect(res.statuses).toEqual([status])
    expect(res.end).toBe('close')
    await noStreamsLeft()
  })

  it('an endless chunk extension: 413 once the framing passes maxHeaderSize, as Node answers, not read until a timeout', async () => {
    handler = async (request) => { await request.arrayBuffer().catch(() => {}); return new Response('read') }
    const res = await rawExchange(client.node, node.getMultiaddrs(), {
      send: ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', '5;', ...Array.from({ length: 6 }, () => 'e'.repeat(4096))]
    })
    expect(res.statuses).toEqual([413])
    expect(res.end).toBe('close')
    await noStreamsLeft()
  })

  it('headersTimeout: a slow head gets 408', async () => {
    options = { headersTimeout: 200 }
    try {
      const res = await rawExchange(client.node, node.getMultiaddrs(), { send: 'GET / HTTP/1.1\r\nHost: a\r\n', then: 'keep-open' })
      expect(res.statuses).toEqual([408])
      expect(res.end).toBe('close')
    } finally {
      options = {}
    }
  })

  it('requestTimeout: a body that stops coming gets 408, the handler\'s read fails', async () => {
    options = { requestTimeout: 300, headersTimeout: 300 }
    let readError: unknown
    handler = async (request) => { readError = await request.arrayBuffer().catch((e: unknown) => e); return new Response('read') }
    try {
      const res = await rawExchange(client.node, node.getMultiaddrs(), { send: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc', then: 'keep-open' })
      expect(res.statuses).toEqual([408])
      await until(() => readError != null, 5000, 'the handler to see its read fail')
      expect(readError).toBeInstanceOf(TypeError)
    } finally {
      options = {}
    }
  })

  it('idleTimeout: a stream where nothing moves is reset', async () => {
    options = { idleTimeout: 200, headersTimeout: 0, requestTimeout: 0 }
    handler = () => new Response('never')
    try {
      const res = await rawExchange(client.node, node.getMultiaddrs(), { send: 'GET / HT', then: 'keep-open' })
      expect(res.end).toBe('reset')
    } finally {
      options = {}
    }
  })

  it('HEAD gets the headers a GET would, no body; 204 and 304 have no framing', async () => {
    handler = (request) => {
      const path = new URL(request.url).pathname
      if (path === '/204') return new Response(null, { status: 204 })
      if (path === '/304') return new Response(null, { status: 304, headers: { etag: '"x"' } })
      return new Response('hello', { headers: { 'content-length': '5' } })
    }
    const res = await rawExchange(client.node, node.getMultiaddrs(), {
      send: 'HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
    })
    expect(res.statuses).toEqual([200, 204, 304])
    const [head, noContent, notModified] = res.text.split(/(?=HTTP\/1\.1 )/)
    expect(head).toMatch(/content-length: 5\r\n/)
    expect(head.endsWith('\r\n\r\n')).toBe(true)
    expect(noContent).not.toMatch(/content-length|transfer-encoding/i)
    expect(notModified).not.toMatch(/content-length|transfer-encoding/i)
    expect(notModified).toMatch(/etag: "x"/)
  })

  it('keep-alive: two pipelined requests get two responses in order on one stream, then it closes', async () => {
    const before = served
    handler = (request) => new Response(new URL(request.url).pathname)
    const res = await rawExchange(client.node, node.getMultiaddrs(), {
      send: 'GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
    })
    expect(res.statuses).toEqual([200, 200])
    expect(res.text).toMatch(/connection: keep-alive[\s\S]*\/one[\s\S]*connection: close[\s\S]*\/two$/)
    expect(res.end).toBe('close')
    expect(served - before).toBe(1)
  })

  it('HTTP/1.0 without keep-alive: one response, closed', async () => {
    handler = () => new Response('old')
    const res = await rawExchange(client.node, node.getMultiaddrs(), { send: 'GET / HTTP/1.0\r\n\r\n', then: 'keep-open' })
    expect(res.statuses).toEqual([200])
    expect(res.end).toBe('close')
  })

  it('a client reset mid-request aborts request.signal and fails the body read', async () => {
    let signalAborted = false
    let readError: unknown
    let started!: () => void
    const running = new Promise<void>(resolve => { started = resolve })
    handler = async (request) => {
      request.signal.addEventListener('abort', () => { signalAborted = true })
      started()
      readError = await request.arrayBuffer().catch((e: unknown) => e)
      return new Response('never')
    }
    const stream = await client.node.dialProtocol(node.getMultiaddrs(), '/http/1.1')
    stream.send(new TextEncoder().encode('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc'))
    await running
    stream.abort(new Error('the client gives up'))
    await until(() => signalAborted && readError != null, 5000, 'the handler to see the reset')
    expect((readError as { code?: string }).code).toBe('ERR_STREAM_RESET')
    await noStreamsLeft()
  })
})

describe('serveStream: a response body still coming when the client goes', () => {
  it('a client reset cancels the handler\'s response body and the serving ends', async () => {
    let cancelled = false
    handler = () => new Response(new ReadableStream<Uint8Array>({
      start (c) { c.enqueue(new TextEncoder().encode('first')) },
      pull: async () => { await new Promise(() => {}) }, // never more, never done
      cancel: () => { cancelled = true }
    }))
    const stream = await client.node.dialProtocol(node.getMultiaddrs(), '/http/1.1')
    const first = new Promise<void>(resolve => { stream.addEventListener('message', () => { resolve() }, { once: true }) })
    stream.send(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))
    await first
    stream.abort(new Error('the client gives up'))
    await until(() => cancelled, 5000, 'the response body to be cancelled')
    await noStreamsLeft()
  })
})

describe('the Web client against the Web server', () => {
  it('GET and POST, remotePeer, no streams left', async () => {
    let peer: string | undefined
    handler = async (request) => { peer = remotePeer(request)?.toString(); return new Response(request.method === 'POST' ? (await request.text()).toUpperCase() : 'got') }
    const other = await createNode()
    try {
      const open = async (): Promise<Awaited<ReturnType<typeof openHTTPStream>>> => await openHTTPStream(other, node.getMultiaddrs())
      const a = await open()
      expect(await (await fetchOverStream(a.stream, new Request('http://peer/'))).text()).toBe('got')
      const b = await open()
      expect(await (await fetchOverStream(b.stream, new Request('http://peer/', { method: 'POST', body: 'quiet' }))).text()).toBe('QUIET')
      expect(peer).toBe(other.peerId.toString())
      await until(() => openHTTPStreams(node) === 0 && openHTTPStreams(other) === 0, 5000, 'streams to close')
    } finally {
      await other.stop()
    }
  })
})

describe('serveStream: review findings', () => {
  it('idleTimeout: a response body that keeps flowing longer than idleTimeout is not reset', async () => {
    options = { idleTimeout: 300 }
    let ticks = 0
    handler = () => new Response(new ReadableStream<Uint8Array>({
      async pull (controller) {
        await sleep(50)
        if (ticks++ >= 20) controller.close() // ~1 s of bytes, a piece every 50 ms
        else controller.enqueue(new TextEncoder().encode('x'))
      }
    }))
    try {
      const res = await client.host.fetch(uri('/'))
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('x'.repeat(20))
      await noStreamsLeft()
    } finally {
      options = {}
    }
  })
})

describe('serveStream: review findings (handler responses)', () => {
  it('a handler answering Response.error() (status 0, a network error) gets 500, reported; no status 0 on the wire', async () => {
    errors.length = 0
    handler = () => Response.error()
    const res = await rawExchange(client.node, node.getMultiaddrs(), { send: 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' })
    expect(res.text.startsWith('HTTP/1.1 500 ')).toBe(true)
    expect(errors).toHaveLength(1)
    await noStreamsLeft()
  })
})
