/**
 * Handlers people already have, served over /http/1.1 streams unchanged; and a raw go-libp2p style
 * client (whole request in one write, then the write side closed).
 */
import { createServer } from 'node:http'
import express from 'express'
import { Hono } from 'hono'
import Koa from 'koa'
import { describe, expect, it } from 'vitest'
import { fetchHandler, nodeHandler, remotePeer } from '../../src/index.js'
import { createPeer, uriOf, usePeers } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { Handler } from '../../src/index.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

let server: Peer
let client: Peer
usePeers((s, c) => { server = s; client = c })

async function serveAndFetch (handler: Handler, path: string, init?: Parameters<Peer['host']['fetch']>[1]): Promise<Response> {
  server.host.serve(handler)
  return await client.host.fetch(uriOf(server, path), init)
}

describe('frameworks', () => {
  it('serves an Express app unchanged (routing, params, JSON body, remotePeer)', async () => {
    const app = express()
    app.use(express.json())
    app.post('/users/:id', (req, res) => {
      res.json({ id: req.params.id, body: req.body, peer: remotePeer(req)?.toString(), q: req.query.q })
    })
    const res = await serveAndFetch(app, '/users/42?q=hi', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ünïcode' })
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ id: '42', body: { name: 'ünïcode' }, peer: client.node.peerId.toString(), q: 'hi' })
  })

  it('serves a Koa app unchanged (the app itself, or app.callback())', async () => {
    const app = new Koa()
    app.use(async (ctx) => {
      ctx.set('x-koa', '1')
      ctx.body = { path: ctx.path, peer: remotePeer(ctx.req)?.toString() }
    })
    for (const handler of [app, app.callback()] as Handler[]) {
      const res = await serveAndFetch(handler, '/koa/path')
      expect(res.headers.get('x-koa')).toBe('1')
      expect(await res.json()).toEqual({ path: '/koa/path', peer: client.node.peerId.toString() })
    }
  })

  it('serves a Hono app unchanged (streamed request body, remotePeer from c.req.raw)', async () => {
    const app = new Hono()
    app.get('/hello/:name', (c) => c.text(`hello ${c.req.param('name')} from ${remotePeer(c.req.raw)?.toString()}`))
    app.post('/echo', async (c) => c.body(await c.req.arrayBuffer(), 201, { 'content-type': 'application/octet-stream' }))
    const hello = await serveAndFetch(app, '/hello/world')
    expect(await hello.text()).toBe(`hello world from ${client.node.peerId.toString()}`)
    const bytes = new Uint8Array(300_000).map((_, i) => i % 251)
    const echo = await client.host.fetch(uriOf(server, '/echo'), { method: 'POST', body: bytes })
    expect(echo.status).toBe(201)
    expect(new Uint8Array(await echo.arrayBuffer())).toEqual(bytes)
  })

  it('serves an existing http.Server through its own request listeners', async () => {
    const existing = createServer((req, res) => { res.end(`server saw ${req.method} ${req.url}`) })
    const res = await serveAndFetch(existing, '/a/b?c=d')
    expect(await res.text()).toBe('server saw GET /a/b?c=d')
  })

  it('serves a fetch-style function, with set-cookie headers kept apart and a status text', async () => {
    const res = await serveAndFetch(async (request: Request) => {
      const headers = new Headers({ 'content-type': 'text/plain' })
      headers.append('set-cookie', 'a=1')
      headers.append('set-cookie', 'b=2')
      return new Response(`${request.method} ${new URL(request.url).pathname}`, { status: 202, statusText: 'Accepted Later', headers })
    }, '/fetch-style')
    expect(res.status).toBe(202)
    expect(res.statusText).toBe('Accepted Later')
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(res.headers.get('content-length')).toBe(String('GET /fetch-style'.length))
    expect(await res.text()).toBe('GET /fetch-style')
  })

  it('streams a fetch-style response: the first chunk arrives before the handler has finished', async () => {
    let finish!: () => void
    const finished = new Promise<void>(resolve => { finish = resolve })
    const res = await serveAndFetch((_request: Request) => new Response(new ReadableStream({
      async start (controller) {
        controller.enqueue(new TextEncoder().encode('data: 1\n\n'))
        await finished
        controller.enqueue(new TextEncoder().encode('data: 2\n\n'))
        controller.close()
      }
    }), { headers: { 'content-type': 'text/event-stream' } }), '/sse')
    const reader = res.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 1\n\n')
    finish()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 2\n\n')
    expect((await reader.read()).done).toBe(true)
  })

  it('nodeHandler() and fetchHandler() settle functions whose parameters cannot tell', async () => {
    const node = await serveAndFetch(nodeHandler((...args: unknown[]) => { (args[1] as ServerResponse).end('node') }), '/')
    expect(await node.text()).toBe('node')
    const fetchStyle = await serveAndFetch(fetchHandler((..._args: unknown[]) => new Response('fetch')), '/')
    expect(await fetchStyle.text()).toBe('fetch')
  })

  it('a fetch handler declaring more parameters ((request, env), as workers write them) served bare: a 500 naming fetchHandler(), not an unanswered request; marked, it serves', async () => {
    const worker = (request: Request, env?: { greeting: string }): Response => new Response(`${env?.greeting ?? 'hi'} ${request.method}`)
    const errors: unknown[] = []
    const peer = await createPeer({ onError: (err) => { errors.push(err) } })
    try {
      peer.host.serve(worker as unknown as Handler)
      const bare = await client.host.fetch(uriOf(peer, '/w'), { signal: AbortSignal.timeout(10_000) })
      expect(bare.status).toBe(500)
      expect(errors).toEqual([expect.objectContaining({ code: 'ERR_INVALID_HANDLER', message: expect.stringMatching(/fetchHandler\(\)/) })])
      peer.host.serve(fetchHandler(worker))
      const marked = await client.host.fetch(uriOf(peer, '/w'))
      expect(await marked.text()).toBe('hi GET')
    } finally {
      await peer.host.close({ timeout: 100 })
      await peer.node.stop()
    }
  })
})

describe('a go-libp2p style client', () => {
  it('gets a full response when it writes the whole request at once and then closes its write side', async () => {
    let bodySeen = ''
    server.host.serve(async (req: IncomingMessage, res: ServerResponse) => {
      for await (const chunk of req) bodySeen += String(chunk)
      // answer after the client's half-close has certainly arrived
      await new Promise(resolve => setTimeout(resolve, 50))
      res.end(`got ${bodySeen}`)
    })
    const stream = await client.node.dialProtocol(server.node.peerId, '/http/1.1')
    const request = 'POST /go HTTP/1.1\r\nHost: \r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello'
    stream.send(new TextEncoder().encode(request))
    await stream.close()
    let response = ''
    for await (const chunk of stream) {
      response += new TextDecoder().decode(chunk.subarray())
    }
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(response.toLowerCase()).toContain('connection: close\r\n')
    expect(response.endsWith('\r\n\r\ngot hello')).toBe(true)
    expect(bodySeen).toBe('hello')
  })

  it('gets a 400 for a request without Host, and the stream ends', async () => {
    server.host.serve((_req: IncomingMessage, res: ServerResponse) => { res.end('should not run') })
    const stream = await client.node.dialProtocol(server.node.peerId, '/http/1.1')
    stream.send(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'))
    await stream.close()
    let response = ''
    for await (const chunk of stream) {
      response += new TextDecoder().decode(chunk.subarray())
    }
    expect(response).toMatch(/^HTTP\/1\.1 400 /)
  })
})
