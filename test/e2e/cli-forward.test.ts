/**
 * The forward proxy end to end: `proxy --forward` in front of `serve --exit`, real processes, curl -x.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, get } from 'node:http'
import { createServer as createHTTPSServer } from 'node:https'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, runCLI, spawnCLI } from '../helpers/cli.js'
import { testCertificate } from '../helpers/tls.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

let dir: string
let plain: Server
let secure: Server
let plainPort: number
let securePort: number
const procs: CLIProcess[] = []
let allowedProxy: string
let defaultProxy: string
let exitTo: string

/** Write `head` to the proxy at `hostPort` over a plain socket; resolve with what came back once `until` matches (or the socket ends). */
async function raw (hostPort: string, head: string, until: RegExp = /\r\n\r\n[\s\S]*\}|\r\n\r\n$/): Promise<{ text: string, socket: import('node:net').Socket }> {
  const [host, port] = hostPort.split(':')
  const socket = connect(Number(port), host)
  socket.write(head)
  return await new Promise((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer matching ${String(until)}: ${text}`)) }, 15_000)
    const finish = (): void => { clearTimeout(timer); resolve({ text, socket }) }
    socket.on('data', (c: Buffer) => { text += c.toString('latin1'); if (until.test(text)) finish() })
    socket.on('end', finish)
    socket.on('error', (err) => { clearTimeout(timer); reject(err) })
  })
}

const answer = (req: IncomingMessage, res: ServerResponse): void => {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ url: req.url, host: req.headers.host, peer: req.headers['x-libp2p-peer-id'] ?? null, via: req.headers.via ?? null }))
}

async function exitAndProxy (consumerId: string, egress: string[], name: string): Promise<string> {
  const exit = spawnCLI(['serve', '--exit', '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, ...egress.flatMap(e => ['--allow-egress', e]), '--key', join(dir, name)])
  procs.push(exit)
  const to = /--to (\S+)/.exec(await exit.line(/^forward proxy on the consumer: /))?.[1] ?? ''
  if (name === 'exit-a') exitTo = to
  const proxy = spawnCLI(['proxy', '--forward', '--to', to, '--port', '0', '--key', join(dir, 'consumer')])
  procs.push(proxy)
  return /^(127\.0\.0\.1:\d+) /.exec(await proxy.line(/^127\.0\.0\.1:\d+ \(curl -x/))?.[1] ?? ''
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-forward-'))
  plain = createServer(answer)
  secure = createHTTPSServer(await testCertificate(), answer)
  await Promise.all([plain, secure].map(async s => { await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve)) }))
  plainPort = (plain.address() as AddressInfo).port
  securePort = (secure.address() as AddressInfo).port
  const consumerId = (await runCLI(['id', '--key', join(dir, 'consumer')])).out[0]
  ;[allowedProxy, defaultProxy] = await Promise.all([
    exitAndProxy(consumerId, [`127.0.0.1:${plainPort}`, `127.0.0.1:${securePort}`], 'exit-a'),
    exitAndProxy(consumerId, [], 'exit-b')
  ])
})

afterAll(async () => {
  await Promise.all(procs.map(async p => { await p.kill() }))
  for (const s of [plain, secure]) { s?.closeAllConnections(); s?.close() }
  await rm(dir, { recursive: true, force: true })
})

describe('proxy --forward + serve --exit', () => {
  it('curl -x for http:// reaches an allowed destination; the peer id is not revealed to it', async () => {
    const { code, out } = await curl(['-f', '-x', allowedProxy, `http://127.0.0.1:${plainPort}/path?q=1`])
    expect(code).toBe(0)
    const got = JSON.parse(out)
    expect(got).toMatchObject({ url: '/path?q=1', host: `127.0.0.1:${plainPort}`, peer: null })
    expect(got.via).toMatch(/^1\.1 libp2phttp-\w+, 1\.1 libp2phttp-\w+$/)
  })

  it('curl -x with CONNECT for https://: TLS end to end through the tunnel', async () => {
    const { code, out } = await curl(['-f', '-k', '-x', allowedProxy, `https://127.0.0.1:${securePort}/tls`])
    expect(code).toBe(0)
    // the exit only carried bytes: no Via, no header added
    expect(JSON.parse(out)).toMatchObject({ url: '/tls', via: null, peer: null })
  })

  it('by default the exit refuses 127.0.0.1: 403 with Proxy-Status; CONNECT fails', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const [host, port] = defaultProxy.split(':')
      get({ host, port: Number(port), path: `http://127.0.0.1:${plainPort}/` }, resolve).on('error', reject)
    })
    res.resume()
    expect(res.statusCode).toBe(403)
    expect(res.headers['proxy-status']).toMatch(/error=destination_ip_prohibited; details=".*127\.0\.0\.1 is a loopback/)
    const tunnel = await curl(['-k', '-x', defaultProxy, `https://127.0.0.1:${securePort}/`])
    expect(tunnel.code).not.toBe(0)
    expect(tunnel.out).toBe('')
  })

  it('a refused CONNECT reaches the client as the exit\'s 403 with its Proxy-Status (not a 502)', async () => {
    const { text, socket } = await raw(defaultProxy, `CONNECT 127.0.0.1:${securePort} HTTP/1.1\r\nHost: 127.0.0.1:${securePort}\r\n\r\n`, /\r\n\r\n/)
    socket.destroy()
    expect(text).toMatch(/^HTTP\/1\.1 403 /)
    expect(text).toMatch(/\r\nProxy-Status: libp2phttp-\w+; error=destination_ip_prohibited; details="[^"]*CONNECT to port/i)
  })

  it('the path and query go on byte for byte (no quotes escaped, nothing re-encoded); Host is the target\'s', async () => {
    // the whole JSON body: headers and body may arrive in separate reads
    const { text, socket } = await raw(allowedProxy, `GET http://127.0.0.1:${plainPort}/a/b..c/.d?x='y'&z=%7e&p=/../q HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`, /\r\n\r\n\{[\s\S]*\}$/)
    socket.destroy()
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ url: "/a/b..c/.d?x='y'&z=%7e&p=/../q", host: `127.0.0.1:${plainPort}` })
  })

  it('a path with dot segments is refused (400) by the exit, not resolved or passed on (issue 14)', async () => {
    const { text, socket } = await raw(allowedProxy, `GET http://127.0.0.1:${plainPort}/a/../b HTTP/1.1\r\nHost: 127.0.0.1:${plainPort}\r\nConnection: close\r\n\r\n`, /\r\n\r\n[\s\S]*\n$/)
    socket.destroy()
    expect(text).toMatch(/^HTTP\/1\.1 400 /)
  })

  it('SIGTERM with a CONNECT tunnel open: the proxy exits once the grace is over', async () => {
    const proxy = spawnCLI(['proxy', '--forward', '--to', exitTo, '--port', '0', '--grace', '500', '--key', join(dir, 'consumer')])
    procs.push(proxy)
    const address = /^(127\.0\.0\.1:\d+) /.exec(await proxy.line(/^127\.0\.0\.1:\d+ \(curl -x/))?.[1] ?? ''
    const { text, socket } = await raw(address, `CONNECT 127.0.0.1:${securePort} HTTP/1.1\r\nHost: 127.0.0.1:${securePort}\r\n\r\n`, /\r\n\r\n/)
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    socket.on('error', () => {})
    proxy.proc.kill('SIGTERM')
    expect(await proxy.exited(10_000)).toBe(0)
    socket.destroy()
  })

  it('an origin-form request to the forward proxy: 400', async () => {
    const { out } = await curl(['-w', '%{http_code}', '-o', '/dev/null', `http://${allowedProxy}/`])
    expect(out).toBe('400')
  })
})
