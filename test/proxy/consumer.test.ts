/**
 * forwardToPeer in-process: a local server in front of a real peer (the CLI tests cover it as processes).
 */
import { createServer, request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { forwardToPeer, gateway, nodeHandler, proxyTo } from '../../src/index.js'
import type { PeerForwarder } from '../../src/index.js'
import { usePeers } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

let server: Peer
let client: Peer
usePeers((s, c) => { server = s; client = c })

const locals: Server[] = []
async function local (listener: (req: IncomingMessage, res: ServerResponse) => void, upgrade?: PeerForwarder['upgrade']): Promise<string> {
  const s = createServer(listener)
  if (upgrade != null) s.on('upgrade', upgrade)
  locals.push(s)
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}
afterAll(() => {
  wss.close()
  for (const s of locals) { s.closeAllConnections(); s.close() }
})

let wss: WebSocketServer
beforeAll(async () => {
  // the upstream: a ws echo server, and a plain answer for upgrades it refuses
  const upstream = createServer((_req, res) => { res.end('plain') })
  locals.push(upstream)
  wss = new WebSocketServer({ noServer: true })
  upstream.on('upgrade', (req, socket, head) => {
    if (req.url === '/ws/refused') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\nX-Why: test\r\n\r\nnope')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(`hello ${req.url} ${req.headers['x-libp2p-peer-id'] as string}`)
      ws.on('message', (data, binary) => { ws.send(data, { binary }) })
    })
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  const proxy = proxyTo(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/ws`)
  server.host.handle('/x/ws/1', createServer(proxy).on('upgrade', proxy.upgrade))
  server.host.handle('/x/echo/1', (req, res) => { res.end(JSON.stringify({ url: req.url, host: req.headers.host, fwd: req.headers['x-forwarded-host'] ?? null })) })
  server.host.handle('/x/silent/1', nodeHandler(() => {}))
})

describe('forwardToPeer', () => {
  it('forwards to the protocol\'s path; the client\'s Host is passed on', async () => {
    const base = await local(forwardToPeer(client.host, server.node.getMultiaddrs()[0], { protocol: '/x/echo/1' }))
    const got = await (await fetch(`${base}/a/b?c=%2F`)).json()
    expect(got).toEqual({ url: '/a/b?c=%2F', host: new URL(base).host, fwd: null })
  })

  it('resolve() names the peer URL; a protocol the peer does not list: 502 destination_not_found', async () => {
    const forward = forwardToPeer(client.host, server.node.getMultiaddrs()[0], { protocol: '/x/none/1', pseudonym: 'local' })
    await expect(forward.resolve()).rejects.toMatchObject({ code: 'ERR_PROTOCOL_NOT_FOUND' })
    const res = await fetch(await local(forward))
    expect(res.status).toBe(502)
    expect(res.headers.get('proxy-status')).toMatch(/^local; error=destination_not_found/)
  })

  it('a peer that sends no headers within headersTimeout: 504', async () => {
    const res = await fetch(await local(forwardToPeer(client.host, server.node.getMultiaddrs()[0], { protocol: '/x/silent/1', headersTimeout: 300 })))
    expect(res.status).toBe(504)
    expect(res.headers.get('proxy-status')).toMatch(/error=http_response_header_timeout/)
  })
})

describe('forwardToPeer: WebSocket through the consumer, the provider\'s proxyTo and the upstream', () => {
  let forward: PeerForwarder
  let base: string
  beforeAll(async () => {
    forward = forwardToPeer(client.host, server.node.getMultiaddrs()[0], { protocol: '/x/ws/1', allowHosts: [] })
    base = await local(forward, forward.upgrade)
  })

  it('a ws client connects and its messages echo, text and binary', async () => {
    const ws = new WebSocket(`${base.replace('http:', 'ws:')}/echo?a=1`)
    const messages: string[] = []
    const done = new Promise<void>((resolve, reject) => {
      ws.on('error', reject)
      ws.on('message', (data: Buffer, binary) => {
        messages.push(`${binary ? 'bin' : 'txt'}:${data.toString()}`)
        if (messages.length === 1) { ws.send('ping'); ws.send(Buffer.from([1, 2, 3])) }
        if (messages.length === 3) resolve()
      })
    })
    await done
    ws.close()
    expect(messages).toEqual([`txt:hello /ws/echo?a=1 ${client.node.peerId.toString()}`, 'txt:ping', `bin:${Buffer.from([1, 2, 3]).toString()}`])
  })

  it('an upgrade the upstream refuses is relayed as its ordinary response', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${base}/refused`, { headers: { connection: 'Upgrade', upgrade: 'websocket' } })
      req.on('response', resolve).on('upgrade', () => { reject(new Error('upgraded')) }).on('error', reject).end()
    })
    const chunks: Buffer[] = []
    for await (const c of res) chunks.push(c as Buffer)
    expect(res.statusCode).toBe(403)
    expect(res.headers['x-why']).toBe('test')
    expect(Buffer.concat(chunks).toString()).toBe('nope')
  })

  it('DNS rebinding: a foreign Host is refused with 403 (requests and upgrades); allowHosts admits a name', async () => {
    const port = new URL(base).port
    const get = async (host: string, upgrade = false): Promise<IncomingMessage> => await new Promise((resolve, reject) => {
      const req = httpRequest(`${base}/x`, { headers: { host, ...(upgrade ? { connection: 'Upgrade', upgrade: 'websocket' } : {}) } })
      req.on('response', (res) => { res.resume(); resolve(res) }).on('upgrade', (res, socket) => { socket.destroy(); resolve(res) }).on('error', reject).end()
    })
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1:1']) {
      const res = await get(host)
      expect(res.statusCode).toBe(403)
      expect(res.headers['proxy-status']).toMatch(/error=http_request_denied/)
    }
    expect((await get('evil.example', true)).statusCode).toBe(403)
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'localhost', '127.0.0.1']) {
      expect((await get(host)).statusCode).toBe(200)
    }
    const allowing = forwardToPeer(client.host, server.node.getMultiaddrs()[0], { protocol: '/x/ws/1', allowHosts: ['box.lan'] })
    const other = await local(allowing)
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest(`${other}/x`, { headers: { host: 'box.lan' } }).on('response', (r) => { r.resume(); resolve(r) }).on('error', reject).end()
    })
    expect(res.statusCode).toBe(200)
  })
})

describe('gateway: WebSocket and the Host check', () => {
  it('relays a WebSocket to /p2p/<peer>/x/<name>/http/…; a foreign Host gets 403', async () => {
    // the gateway dials by peer id: the peer store needs the peer's addresses
    await client.node.dial(server.node.getMultiaddrs()[0])
    const listener = gateway(client.host)
    const base = await local(listener, listener.upgrade)
    const path = `/p2p/${server.node.peerId.toString()}/x/ws/1/http/echo`
    const ws = new WebSocket(`${base.replace('http:', 'ws:')}${path}`)
    const first = await new Promise<string>((resolve, reject) => {
      ws.on('error', reject).on('message', (data: Buffer) => { resolve(data.toString()) })
    })
    ws.close()
    expect(first).toBe(`hello /ws/echo ${client.node.peerId.toString()}`)
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest(`${base}${path}`, { headers: { host: 'rebound.example' } }).on('response', (r) => { r.resume(); resolve(r) }).on('error', reject).end()
    })
    expect(res.statusCode).toBe(403)
    expect(res.headers['proxy-status']).toMatch(/error=http_request_denied/)
  })
})
