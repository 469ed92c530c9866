/**
 * Which upgrades `proxyTo` relays (issue 14): a raw upstream that records what reaches it, `proxyTo` in a
 * local http.Server, raw sockets in front.
 */
import { createServer } from 'node:http'
import { createServer as createTCPServer, connect } from 'node:net'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { proxyTo } from '../../src/proxy/upstream.js'
import type { Server } from 'node:http'
import type { AddressInfo, Server as TCPServer } from 'node:net'

let received = ''
/** What the raw upstream switches to on an upgrade request (its `Upgrade` value); `undefined`: a 200. */
let switchTo: ((asked: string) => string) | undefined
let upstream: TCPServer
const servers: Server[] = []

beforeAll(async () => {
  upstream = createTCPServer((socket) => {
    let head = ''
    socket.on('error', () => {})
    socket.on('data', (c: Buffer) => {
      received += c.toString('latin1')
      if (head.includes('\r\n\r\n')) return
      head += c.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      const asked = /\r\nupgrade: *([^\r]*)/i.exec(head)?.[1]
      if (asked != null && switchTo != null) socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${switchTo(asked)}\r\n\r\n`)
      else socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(head)}\r\nConnection: close\r\n\r\n${head}`)
    })
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
})
afterAll(async () => {
  for (const s of servers) { s.closeAllConnections(); s.close() }
  await new Promise(resolve => upstream.close(resolve))
})
beforeEach(() => { received = ''; switchTo = (asked) => asked })

async function proxy (upgrades?: string[]): Promise<number> {
  const handler = proxyTo(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, { upgrades })
  const server = createServer(handler).on('upgrade', handler.upgrade)
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** Send `text`, collect the answer for `ms` ms or until the socket closes. */
async function send (port: number, text: string, ms = 1000): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  socket.write(text)
  return await new Promise((resolve) => {
    let answer = ''
    const done = (): void => { clearTimeout(timer); socket.destroy(); resolve(answer) }
    const timer = setTimeout(done, ms)
    socket.on('data', (c: Buffer) => { answer += c.toString('latin1') })
    socket.on('close', done)
    socket.on('error', () => {})
  })
}

const smuggled = 'GET /forged HTTP/1.1\r\nx-libp2p-peer-id: forged\r\n\r\n'

it('Upgrade: h2c is removed and the request served plain; the bytes after it are not read', async () => {
  const port = await proxy()
  const answer = await send(port, `GET /a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n${smuggled}`)
  expect(answer).toMatch(/^HTTP\/1\.1 200 /)
  expect(answer).toMatch(/\r\nconnection: close\r\n/i)
  expect(received).toMatch(/^GET \/a HTTP\/1\.1\r\n/)
  expect(received).not.toMatch(/upgrade|http2-settings|forged/i)
})

it('a declined upgrade\'s Content-Length body goes on; a chunked one is refused with 400', async () => {
  const port = await proxy()
  const answer = await send(port, `POST /b HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 3\r\n\r\nabc${smuggled}`)
  expect(answer).toMatch(/^HTTP\/1\.1 200 /)
  expect(received).toMatch(/\r\ncontent-length: 3\r\n/i)
  expect(received).toMatch(/\r\n\r\nabc$/)
  received = ''
  const chunked = await send(port, 'POST /c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')
  expect(chunked).toMatch(/^HTTP\/1\.1 400 /)
  expect(received).toBe('')
})

it('"h2c, websocket": only websocket is offered to the upstream, and relayed', async () => {
  const port = await proxy()
  const answer = await send(port, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c, websocket\r\n\r\n', 500)
  expect(answer).toMatch(/^HTTP\/1\.1 101 [\s\S]*\r\nupgrade: websocket\r\n/i)
  expect(received).toMatch(/\r\nupgrade: websocket\r\n/i)
})

it('an upstream that switches to a protocol it was not offered: 502, nothing relayed', async () => {
  const port = await proxy()
  switchTo = () => 'h2c'
  const answer = await send(port, `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n${smuggled}`)
  expect(answer).toMatch(/^HTTP\/1\.1 502 [\s\S]*error=http_protocol_error/)
  expect(received).not.toMatch(/forged/)
})

it('the upgrades option relays others (h2c) when an application needs them', async () => {
  const port = await proxy(['websocket', 'h2c'])
  const answer = await send(port, 'GET /h HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n', 500)
  expect(answer).toMatch(/^HTTP\/1\.1 101 /)
})

it('a declined upgrade whose body stalls is closed after the server\'s idle timeout, not held for ever', async () => {
  // an upstream that answers only once it has the whole body (as most do)
  const reading = createServer((req, res) => { req.resume(); req.on('end', () => { res.end('ok') }) })
  servers.push(reading)
  await new Promise<void>(resolve => reading.listen(0, '127.0.0.1', resolve))
  const handler = proxyTo(`http://127.0.0.1:${(reading.address() as AddressInfo).port}`)
  const server = createServer(handler).on('upgrade', handler.upgrade)
  server.timeout = 300
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
  socket.on('error', () => {})
  socket.resume()
  socket.write('POST /stall HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 100\r\n\r\nabc')
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { resolve(false) }, 10_000)
    socket.once('close', () => { clearTimeout(timer); resolve(true) })
  })
  socket.destroy()
  expect(closed).toBe(true)
})
