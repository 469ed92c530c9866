/**
 * The forward proxy end to end: `proxy --forward` in front of `serve --exit`, real processes, curl -x.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, get } from 'node:http'
import { createServer as createHTTPSServer } from 'node:https'
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

const answer = (req: IncomingMessage, res: ServerResponse): void => {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ url: req.url, host: req.headers.host, peer: req.headers['x-libp2p-peer-id'] ?? null, via: req.headers.via ?? null }))
}

async function exitAndProxy (consumerId: string, egress: string[], name: string): Promise<string> {
  const exit = spawnCLI(['serve', '--exit', '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, ...egress.flatMap(e => ['--allow-egress', e]), '--key', join(dir, name)])
  procs.push(exit)
  const to = /--to (\S+)/.exec(await exit.line(/^forward proxy on the consumer: /))?.[1] ?? ''
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

  it('an origin-form request to the forward proxy: 400', async () => {
    const { out } = await curl(['-w', '%{http_code}', '-o', '/dev/null', `http://${allowedProxy}/`])
    expect(out).toBe('400')
  })
})
