/**
 * WebSocket over a /http/1.1 stream and over the native transport: undici's own WebSocket with
 * host.dispatcher, against an http.Server with a `ws` WebSocketServer, served unchanged.
 */
import { createServer } from 'node:http'
import { WebSocket } from 'undici'
import { expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { createHTTPHost, remotePeer } from '../../src/index.js'
import { uriOf, usePeers } from '../helpers/nodes.js'
import { testCertificate } from '../helpers/tls.js'
import type { Peer } from '../helpers/nodes.js'

let server: Peer
let client: Peer
usePeers((s, c) => { server = s; client = c })

it('undici WebSocket talks to a ws server through a peer', async () => {
  const httpServer = createServer((_req, res) => { res.end('plain') })
  const wss = new WebSocketServer({ server: httpServer })
  wss.on('connection', (ws, req) => {
    ws.send(`welcome ${remotePeer(req)?.toString()}`)
    ws.on('message', (data) => { ws.send(`echo ${String(data)}`) })
  })
  server.host.serve(httpServer)

  const url = (await client.host.url(uriOf(server, '/socket'))).replace(/^http:/, 'ws:')
  const ws = new WebSocket(url, { dispatcher: client.host.dispatcher })
  const messages: string[] = []
  await new Promise<void>((resolve, reject) => {
    ws.onmessage = (event) => {
      messages.push(String(event.data))
      if (messages.length === 1) ws.send('ping')
      if (messages.length === 2) resolve()
    }
    ws.onerror = (event) => { reject(new Error(`websocket error: ${String((event as ErrorEvent).message)}`)) }
  })
  expect(messages).toEqual([`welcome ${client.node.peerId.toString()}`, 'echo ping'])
  const closed = new Promise<number>(resolve => { ws.onclose = (event) => resolve(event.code) })
  ws.close(1000)
  expect(await closed).toBe(1000)
  // plain requests to the same server still work
  expect(await (await client.host.fetch(uriOf(server, '/'))).text()).toBe('plain')
  wss.close()
})

it('the same ws server over native HTTPS (wss://), and close() does not wait on the open socket', async () => {
  const cert = await testCertificate()
  const host = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
  const fetcher = await createHTTPHost({ clientTLS: { ca: cert.cert } })
  const httpServer = createServer()
  const wss = new WebSocketServer({ server: httpServer })
  wss.on('connection', (ws) => { ws.on('message', (data) => { ws.send(`echo ${String(data)}`) }) })
  host.serve(httpServer)
  try {
    const url = (await fetcher.url(`multiaddr:${host.addrs()[0].toString()}/http-path/socket`)).replace(/^https:/, 'wss:')
    expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/socket$/)
    const ws = new WebSocket(url, { dispatcher: fetcher.dispatcher })
    const reply = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => { ws.send('over tls') }
      ws.onmessage = (event) => { resolve(String(event.data)) }
      ws.onerror = (event) => { reject(new Error(`websocket error: ${String((event as ErrorEvent).message)}`)) }
    })
    expect(reply).toBe('echo over tls')
    const closed = new Promise<void>(resolve => { ws.onclose = () => { resolve() } })
    // the socket is still open: close() must end it within its timeout, not wait for the peer
    await host.close({ timeout: 200 })
    await closed
  } finally {
    wss.close()
    await host.close()
    await fetcher.close()
  }
})
