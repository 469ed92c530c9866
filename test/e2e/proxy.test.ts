/**
 * Exposing a local HTTP service to peers with proxyTo: a real upstream server on 127.0.0.1, served
 * through a host over real libp2p nodes and fetched by another.
 */
import { createServer, request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HTTP_STREAM_PROTOCOL, proxyTo } from '../../src/index.js'
import { StreamSocket } from '../../src/stream/socket.js'
import { until, usePeers } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

let server: Peer
let client: Peer
usePeers((s, c) => { server = s; client = c })

let upstream: Server
let upstreamURL: string
const seen: IncomingMessage[] = []
let aborted = 0
let releaseSSE: (() => void) | undefined

beforeAll(async () => {
  upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req)
    if (req.url?.startsWith('/v1/events') === true) {
      // an LLM-style stream: one event now, the rest when the test says so
      res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive, x-upstream-hop', 'x-upstream-hop': 'secret', 'keep-alive': 'timeout=5' })
      res.write('data: first\n\n')
      releaseSSE = () => { res.end('data: last\n\n') }
      return
    }
    if (req.url?.startsWith('/v1/slow') === true) {
      req.socket.once('close', () => { aborted++ })
      res.writeHead(200)
      res.write('working…')
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.headers['x-want-proxy-authenticate'] != null) res.setHeader('proxy-authenticate', 'Basic realm="upstream"')
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }))
    })
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  upstreamURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`
})
afterAll(async () => {
  upstream.closeAllConnections()
  await new Promise(resolve => upstream.close(resolve))
})

describe('proxyTo over /http/1.1 streams', () => {
  beforeAll(() => { server.host.handle('/x/llm/1', proxyTo(upstreamURL, { pseudonym: 'test-proxy' })) })
  const call = async (path: string, init?: RequestInit): Promise<Response> => await client.host.fetch({ peer: server.node.getMultiaddrs()[0], path: `/x/llm/1${path}` }, init as never)

  it('forwards path and query byte for byte, the body, and the headers a reverse proxy should', async () => {
    const res = await call('/chat/completions?model=a%2Fb&empty=&t=%7E&t=2', {
      method: 'POST',
      body: 'prompt',
      headers: { 'x-libp2p-peer-id': '12D3KooWspoofed', via: '1.0 earlier', 'x-app': 'kept' }
    })
    expect(res.status).toBe(200)
    const got = await res.json()
    expect(got.url).toBe('/v1/chat/completions?model=a%2Fb&empty=&t=%7E&t=2')
    expect(got.body).toBe('prompt')
    expect(got.headers['x-app']).toBe('kept')
    // the caller's peer id comes from the libp2p connection; the spoofed copy is gone
    expect(got.headers['x-libp2p-peer-id']).toBe(client.node.peerId.toString())
    expect(got.headers.host).toBe(new URL(upstreamURL).host)
    expect(got.headers['x-forwarded-host']).toMatch(/^k51qzi5uqu5/)
    expect(got.headers.via).toBe('1.0 earlier, 1.1 test-proxy')
    expect(res.headers.get('via')).toBe('1.1 test-proxy')
  })

  it('the caller\'s hop-by-hop headers stop here (a raw HTTP/1.1 client on a libp2p stream)', async () => {
    // undici's fetch will not send an arbitrary Connection header; Node's http client will
    const stream = await client.node.dialProtocol(server.node.getMultiaddrs()[0], HTTP_STREAM_PROTOCOL)
    const socket = new StreamSocket(stream, { remotePeer: server.node.peerId, remoteAddr: server.node.getMultiaddrs()[0] })
    const got = await new Promise<{ headers: Record<string, string> }>((resolve, reject) => {
      const req = httpRequest({
        createConnection: () => socket as never,
        path: '/x/llm/1/hop',
        headers: { host: 'provider', connection: 'close, x-client-hop', 'x-client-hop': 'secret', te: 'trailers', 'keep-alive': 'timeout=1' }
      }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => { body += c.toString() })
        res.on('end', () => { resolve(JSON.parse(body)) })
      })
      req.on('error', reject)
      req.end()
    })
    expect(got.headers['x-client-hop']).toBeUndefined()
    expect(got.headers.te).toBeUndefined()
    expect(got.headers['keep-alive']).toBeUndefined()
    expect(got.headers['x-forwarded-host']).toBe('provider')
  })

  it('streams server-sent events as they are produced, and strips the upstream\'s hop-by-hop headers', async () => {
    const res = await call('/events')
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(res.headers.get('x-upstream-hop')).toBeNull()
    expect(res.headers.get('keep-alive')).toBeNull()
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const first = await reader.read()
    // the upstream has not finished: this chunk came through before the end
    expect(new TextDecoder().decode(first.value)).toBe('data: first\n\n')
    releaseSSE?.()
    let rest = ''
    for (let chunk = await reader.read(); chunk.done !== true; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value)
    expect(rest).toBe('data: last\n\n')
  })

  it('a caller that goes away aborts the upstream request', async () => {
    const controller = new AbortController()
    const res = await call('/slow', { signal: controller.signal })
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    const before = aborted
    controller.abort()
    await until(() => aborted > before, 5000, 'the upstream request to be aborted')
  })

  it('a loop is refused with 508; Max-Forwards: 0 is answered here', async () => {
    const loop = await call('/x', { headers: { via: '1.1 test-proxy' } })
    expect(loop.status).toBe(508)
    expect(loop.headers.get('proxy-status')).toMatch(/^test-proxy; error=proxy_loop_detected/)
    const options = await call('/x', { method: 'OPTIONS', headers: { 'max-forwards': '0' } })
    expect(options.status).toBe(200)
    expect(options.headers.get('allow')).toMatch(/GET/)
  })
})

describe('proxyTo: review fixes', () => {
  beforeAll(() => { server.host.handle('/x/fix/1', proxyTo(upstreamURL, { pseudonym: 'fix-proxy' })) })
  const call = async (path: string, init?: RequestInit): Promise<Response> => await client.host.fetch({ peer: server.node.getMultiaddrs()[0], path: `/x/fix/1${path}` }, init as never)

  it('no spelling of the peer id header gets through, nor Proxy-Authorization; Proxy-Authenticate does not come back', async () => {
    const res = await call('/h', {
      headers: { x_libp2p_peer_id: '12D3KooWspoofed', 'X_Libp2p-Peer_Id': '12D3KooWspoofed2', 'proxy-authorization': 'Basic c2VjcmV0', 'x-want-proxy-authenticate': '1' }
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('proxy-authenticate')).toBeNull()
    const got = await res.json()
    const names = Object.keys(got.headers)
    expect(names.filter(n => n.replaceAll('_', '-') === 'x-libp2p-peer-id')).toEqual(['x-libp2p-peer-id'])
    expect(got.headers['x-libp2p-peer-id']).toBe(client.node.peerId.toString())
    expect(got.headers['proxy-authorization']).toBeUndefined()
  })

  it('an invalid Max-Forwards is ignored (not forwarded as NaN); a valid one is decremented', async () => {
    const bad = await (await call('/m', { method: 'OPTIONS', headers: { 'max-forwards': 'abc' } })).json()
    expect(bad.headers['max-forwards']).toBeUndefined()
    const good = await (await call('/m', { method: 'OPTIONS', headers: { 'max-forwards': '3' } })).json()
    expect(good.headers['max-forwards']).toBe('2')
  })

  it('Expect: 100-continue is handled on this hop, not sent on (undici refuses it: 502)', async () => {
    // a plain TCP front for the proxy, so a client can send Expect and wait for 100 Continue
    const front = createServer(proxyTo(upstreamURL))
    await new Promise<void>(resolve => front.listen(0, '127.0.0.1', resolve))
    try {
      const body = 'x'.repeat(100_000)
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest(`http://127.0.0.1:${(front.address() as AddressInfo).port}/upload`, {
          method: 'POST',
          headers: { expect: '100-continue', 'content-length': String(body.length) }
        })
        req.on('continue', () => { req.end(body) }).on('response', resolve).on('error', reject)
      })
      const chunks: Buffer[] = []
      for await (const c of res) chunks.push(c as Buffer)
      expect(res.statusCode).toBe(200)
      const got = JSON.parse(Buffer.concat(chunks).toString())
      expect(got.body.length).toBe(body.length)
      expect(got.headers.expect).toBeUndefined()
    } finally {
      front.closeAllConnections()
      front.close()
    }
  })
})

describe('proxyTo when the upstream fails', () => {
  it('an upstream that is down: 502 with Proxy-Status, never 500', async () => {
    const down = createServer()
    await new Promise<void>(resolve => down.listen(0, '127.0.0.1', resolve))
    const port = (down.address() as AddressInfo).port
    await new Promise(resolve => down.close(resolve))
    server.host.handle('/x/down/1', proxyTo(`http://127.0.0.1:${port}`, { pseudonym: 'test-proxy' }))
    const res = await client.host.fetch({ peer: server.node.getMultiaddrs()[0], path: '/x/down/1/' })
    expect(res.status).toBe(502)
    expect(res.headers.get('proxy-status')).toMatch(/^test-proxy; error=connection_refused/)
  })

  it('an upstream that does not answer in time: 504', async () => {
    const silent = createServer(() => {})
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
    try {
      server.host.handle('/x/silent/1', proxyTo(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, { pseudonym: 'test-proxy', headersTimeout: 200 }))
      const res = await client.host.fetch({ peer: server.node.getMultiaddrs()[0], path: '/x/silent/1/' })
      expect(res.status).toBe(504)
      expect(res.headers.get('proxy-status')).toMatch(/error=http_response_header_timeout/)
    } finally {
      silent.closeAllConnections()
      silent.close()
    }
  })
})
