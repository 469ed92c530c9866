/**
 * Issue 14, proxy and command side, through the real command: `serve --upstream` + `serve --exit` in front of a raw upstream that
 * records every byte it is sent, `proxy --to` and `gateway` in front of them, and a libp2p node that
 * writes raw requests to the provider's streams.
 */
import { chmod, chown, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer as createTCPServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCLI, spawnCLI } from '../helpers/cli.js'
import { createNode } from '../helpers/nodes.js'
import { rawExchange } from '../helpers/raw-stream.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Server, Socket } from 'node:net'

let dir: string
/** Everything the raw upstream was sent, all connections, in order (latin1). */
let received = ''
/** The head of every request the raw upstream parsed. */
const heads: string[] = []
let upstream: Server
let upstreamPort: number
let raw: Libp2p
let provider: CLIProcess
let providerAddrs: Multiaddr[]
let providerTo: string
let consumer: CLIProcess
let localURL: string
let gw: CLIProcess
let gatewayBase: string
let providerId: string

const HEADERS_TIMEOUT = 1000
const MAX_CONNECTIONS = 20

/**
 * The raw upstream: reads a request head (and a `Content-Length` body); `Upgrade: h2c` gets a `101` and
 * the connection stays open (whatever comes next is recorded); anything else gets the head back as JSON.
 */
function rawUpstream (socket: Socket): void {
  let buffer = ''
  let answered = false
  socket.on('error', () => {})
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1')
    if (answered) return
    buffer += chunk.toString('latin1')
    const end = buffer.indexOf('\r\n\r\n')
    if (end < 0) return
    const head = buffer.slice(0, end)
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
    if (buffer.length < end + 4 + length) return
    answered = true
    heads.push(head)
    if (/\r\nupgrade: *h2c/i.test(head)) {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')
      return
    }
    const lines = head.split('\r\n')
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim()
    const body = JSON.stringify({ line: lines[0], headers })
    socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  })
}

/** Write `text` to `host:port` on a TCP socket and collect the answer until the socket closes (bounded). */
async function tcpExchange (url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  socket.write(text)
  return await new Promise((resolve, reject) => {
    let answer = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no end within 10 s: ${answer}`)) }, 10_000)
    socket.on('data', (c: Buffer) => { answer += c.toString('latin1') })
    socket.on('close', () => { clearTimeout(timer); resolve(answer) })
    socket.on('error', () => {})
  })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-hardening-'))
  upstream = createTCPServer(rawUpstream)
  // on every interface: the exit host's own address must be refused even though something listens there
  await new Promise<void>(resolve => upstream.listen(0, '0.0.0.0', resolve))
  upstreamPort = (upstream.address() as { port: number }).port
  raw = await createNode()
  const consumerId = (await runCLI(['id', '--key', join(dir, 'consumer')])).out[0]
  provider = spawnCLI(['serve', '--upstream', `http://127.0.0.1:${upstreamPort}`, '--exit', '--allow-egress', `127.0.0.1:${upstreamPort}`,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, '--allow', raw.peerId.toString(), '--key', join(dir, 'provider')])
  providerId = /^peer (\S+)$/.exec(await provider.line(/^peer /))?.[1] ?? ''
  providerTo = /--to (\S+)/.exec(await provider.line(/^on the consumer: /))?.[1] ?? ''
  const { multiaddr } = await import('@multiformats/multiaddr')
  providerAddrs = [multiaddr(providerTo)]
  const limits = ['--headers-timeout', String(HEADERS_TIMEOUT), '--max-connections', String(MAX_CONNECTIONS)]
  consumer = spawnCLI(['proxy', '--to', providerTo, '--port', '0', ...limits, '--allow-origin', 'https://app.example', '--key', join(dir, 'consumer')])
  gw = spawnCLI(['gateway', '--port', '0', '--connect', providerTo, ...limits, '--key', join(dir, 'consumer')])
  localURL = await consumer.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
  gatewayBase = await gw.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/)
})

afterAll(async () => {
  await Promise.all([provider?.kill(), consumer?.kill(), gw?.kill()])
  await raw?.stop()
  await new Promise(resolve => upstream?.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

/**
 * Open `n` connections to `url` that send half a request head and stop: how many got an answer (a
 * `408`) and how many were closed without one, once all are closed (within `bound` ms).
 */
async function slowloris (url: string, n: number, bound: number): Promise<{ answered: number, dropped: number, ms: number }> {
  const { hostname, port } = new URL(url)
  const start = Date.now()
  const results = await Promise.all(Array.from({ length: n }, async () => await new Promise<'answered' | 'dropped' | 'open'>((resolve) => {
    const socket = connect(Number(port), hostname)
    let text = ''
    const timer = setTimeout(() => { socket.destroy(); resolve('open') }, bound)
    socket.on('connect', () => { socket.write(`GET /p2p/${providerId}/slow HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Part`) })
    socket.on('data', (c: Buffer) => { text += c.toString('latin1') })
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); resolve(text === '' ? 'dropped' : 'answered') })
  })))
  expect(results.filter(r => r === 'open')).toEqual([])
  return { answered: results.filter(r => r === 'answered').length, dropped: results.filter(r => r === 'dropped').length, ms: Date.now() - start }
}

describe('the local ports\' limits (issue 14 item 5)', () => {
  it.each([['gateway', () => gatewayBase], ['proxy --to', () => localURL]])('%s: half-sent requests are closed within the header timeout, past --max-connections at once', async (_name, url) => {
    const { answered, dropped } = await slowloris(url(), 200, 10_000)
    // every connection closed within the bound (no `open` left); at most the bound on connections was
    // ever served (and answered 408), the rest were closed unanswered
    expect(answered).toBeGreaterThan(0)
    expect(answered).toBeLessThanOrEqual(MAX_CONNECTIONS)
    expect(dropped).toBe(200 - answered)
    // still serving afterwards
    expect((await fetch(`${gatewayBase}${providerId}/after`)).status).toBe(200)
  })
})

const smuggled = 'GET /forged HTTP/1.1\r\nHost: x\r\nx-libp2p-peer-id: 12D3KooWForged\r\n\r\n'

describe('only WebSocket upgrades are relayed (issue 14 item 6)', () => {
  it('serve --upstream: an Upgrade: h2c from a peer is served as a plain request; the bytes after it never reach the upstream', async () => {
    const exchange = await rawExchange(raw, providerAddrs, { send: `GET /h2c-serve HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n${smuggled}` })
    expect(exchange.statuses).toEqual([200])
    const head = heads.find(h => h.startsWith('GET /h2c-serve '))
    expect(head).toBeDefined()
    expect(head).not.toMatch(/\r\n(upgrade|http2-settings):/i)
    expect(received).not.toMatch(/Forged/)
  })

  it.each([['proxy --to', () => `${localURL}h2c-proxy`], ['gateway', () => `${gatewayBase}${providerId}/h2c-gateway`]])('%s: an Upgrade: h2c is served as a plain request; the bytes after it never reach the upstream', async (_name, url) => {
    const { pathname, host } = new URL(url())
    const answer = await tcpExchange(url(), `GET ${pathname} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n${smuggled}`)
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
    expect(answer).not.toMatch(/^HTTP\/1\.1 101 /m)
    const head = heads.find(h => h.includes('/h2c-'))
    expect(head).toBeDefined()
    expect(head).not.toMatch(/\r\nupgrade:/i)
    expect(received).not.toMatch(/Forged/)
    heads.length = 0
  })

  it('a declined upgrade with a body: the body goes on as the plain request\'s', async () => {
    const answer = await tcpExchange(localURL, `POST /h2c-body HTTP/1.1\r\nHost: ${new URL(localURL).host}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 5\r\n\r\nhello${smuggled}`)
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).headers['content-length']).toBe('5')
    expect(received).toMatch(/\r\n\r\nhello/)
    expect(received).not.toMatch(/Forged/)
  })
})

describe('forwarding headers from peers (issue 14 item 14)', () => {
  const claims = 'X-Forwarded-For: 10.0.0.1\r\nForwarded: for=10.0.0.1\r\nX-Real-IP: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: claimed.example\r\nX_Forwarded_For: 10.0.0.2\r\n'

  it('serve --upstream removes X-Forwarded-*, Forwarded and X-Real-IP; the peer id is in x-libp2p-peer-id', async () => {
    const exchange = await rawExchange(raw, providerAddrs, { send: `GET /fwd HTTP/1.1\r\nHost: served.example\r\n${claims}\r\n` })
    expect(exchange.statuses).toEqual([200])
    const { headers } = JSON.parse(exchange.text.slice(exchange.text.indexOf('\r\n\r\n') + 4))
    expect(headers).not.toHaveProperty('x-forwarded-for')
    expect(headers).not.toHaveProperty('x_forwarded_for')
    expect(headers).not.toHaveProperty('forwarded')
    expect(headers).not.toHaveProperty('x-real-ip')
    expect(headers).not.toHaveProperty('x-forwarded-proto')
    // the provider's own X-Forwarded-Host (the Host the peer sent) replaces the peer's claim
    expect(headers['x-forwarded-host']).toBe('served.example')
    expect(headers['x-libp2p-peer-id']).toBe(raw.peerId.toString())
  })

  it('the exit removes them too (and does not reveal the peer id)', async () => {
    const exchange = await rawExchange(raw, providerAddrs, { send: `GET /libp2phttp/exit/1/http/127.0.0.1:${upstreamPort}/fwd-exit HTTP/1.1\r\nHost: x\r\n${claims}\r\n` })
    expect(exchange.statuses).toEqual([200])
    const { headers } = JSON.parse(exchange.text.slice(exchange.text.indexOf('\r\n\r\n') + 4))
    for (const name of ['x-forwarded-for', 'x_forwarded_for', 'forwarded', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-host', 'x-libp2p-peer-id']) {
      expect(headers).not.toHaveProperty(name)
    }
  })
})

describe('the exit\'s egress gaps (issue 14 item 11)', () => {
  it.each([
    ['IPv4-translated metadata', '[::ffff:0:a9fe:a9fe]:80'],
    ['TEST-NET-1', '192.0.2.1:80'],
    ['Teredo', '[2001::1]:80']
  ])('%s is refused: 403 destination_ip_prohibited', async (_name, authority) => {
    const exchange = await rawExchange(raw, providerAddrs, { send: `GET /libp2phttp/exit/1/http/${authority}/ HTTP/1.1\r\nHost: x\r\n\r\n` })
    expect(exchange.statuses).toEqual([403])
    expect(exchange.text).toMatch(/error=destination_ip_prohibited/)
  })

  it('the exit host\'s own interface addresses are refused (a service listening there is not reached)', async () => {
    const { networkInterfaces } = await import('node:os')
    const own = Object.values(networkInterfaces()).flat().find(a => a != null && a.family === 'IPv4' && !a.internal)
    if (own == null) return // no interface besides loopback: nothing to check
    const before = heads.length
    const exchange = await rawExchange(raw, providerAddrs, { send: `GET /libp2phttp/exit/1/http/${own.address}:${upstreamPort}/own HTTP/1.1\r\nHost: x\r\n\r\n` })
    expect(exchange.statuses).toEqual([403])
    expect(heads.length).toBe(before)
  })
})

describe('cross-site requests to the local ports (issue 14 item 13)', () => {
  const post = async (url: string, origin?: string): Promise<Response> => await fetch(url, { method: 'POST', body: 'x', headers: origin == null ? {} : { origin } })

  it('proxy --to: a POST with a foreign Origin gets 403 and never reaches the provider', async () => {
    const before = heads.length
    const res = await post(`${localURL}cross-site`, 'https://evil.example')
    expect(res.status).toBe(403)
    expect(res.headers.get('proxy-status')).toMatch(/error=http_request_denied/)
    expect(heads.length).toBe(before)
  })

  it('proxy --to: the local origin, an --allow-origin one and no Origin at all go through', async () => {
    const { port } = new URL(localURL)
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, 'https://app.example', undefined]) {
      expect((await post(`${localURL}same-site`, origin)).status).toBe(200)
    }
    // the local name with another port is another origin
    expect((await post(`${localURL}same-site`, 'http://127.0.0.1:1')).status).toBe(403)
  })

  it('gateway: a foreign Origin gets 403; its own origin goes through', async () => {
    expect((await post(`${gatewayBase}${providerId}/cross-site`, 'https://evil.example')).status).toBe(403)
    expect((await post(`${gatewayBase}${providerId}/cross-site`, 'null')).status).toBe(403)
    expect((await post(`${gatewayBase}${providerId}/same-site`, new URL(gatewayBase).origin)).status).toBe(200)
  })

  it('a WebSocket from a foreign origin is refused too', async () => {
    const answer = await tcpExchange(localURL, `GET /ws HTTP/1.1\r\nHost: ${new URL(localURL).host}\r\nOrigin: https://evil.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`)
    expect(answer).toMatch(/^HTTP\/1\.1 403 /)
  })
})

describe.skipIf(process.getuid?.() !== 0)('key and config files others could have written (issue 14 item 12)', () => {
  it('a key file owned by another user: refused, naming the file and the fix', async () => {
    const theirs = join(dir, 'theirs-key')
    await copyFile(join(dir, 'consumer'), theirs)
    await chown(theirs, 4242, 4242)
    const { code, err } = await runCLI(['id', '--key', theirs])
    expect(code).toBe(1)
    expect(err.join('\n')).toMatch(new RegExp(`the key file ${theirs} is owned by uid 4242.*chown 0 ${theirs}.*\\(ERR_KEY_FILE\\)`))
  })

  it('serve --config with a config file others can write: refused, naming the file and the fix', async () => {
    const config = join(dir, 'open.json')
    await writeFile(config, JSON.stringify({ services: [{ upstream: 'http://127.0.0.1:1', allowAny: true }], listen: ['/ip4/127.0.0.1/tcp/0'], key: join(dir, 'provider') }))
    await chmod(config, 0o666)
    const { code, err } = await runCLI(['serve', '--config', config])
    expect(code).toBe(1)
    expect(err.join('\n')).toMatch(new RegExp(`the config file ${config} is writable by others \\(mode 666\\): chmod go-w ${config} \\(ERR_UNSAFE_FILE\\)`))
  })
})
