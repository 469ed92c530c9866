/**
 * WebSocket over a /http/1.1 stream: undici's own WebSocket with host.dispatcher, against an
 * http.Server with a `ws` WebSocketServer, served unchanged.
 */
import { createServer } from 'node:http'
import { WebSocket } from 'undici'
import { expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { remotePeer } from '../../src/index.js'
import { uriOf, usePeers } from '../helpers/nodes.js'
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
