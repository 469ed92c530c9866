/**
 * Issue 15 through the real command, as a newcomer meets it: `serve --upstream` in front of an upstream
 * that holds slow requests until the test releases them, `proxy --to` and `gateway` in front of it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, runCLI, spawnCLI } from '../helpers/cli.js'
import { until } from '../helpers/nodes.js'
import { testCertificate } from '../helpers/tls.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

let dir: string
let upstream: Server
let upstreamURL: string
/** Requests to /slow the upstream holds, answered by {@link releaseSlow}. */
const slow: ServerResponse[] = []
let provider: CLIProcess
let providerId: string
let providerTo: string
let consumerId: string
let gatewayId: string
const spawned: CLIProcess[] = []

const key = (name: string): string => join(dir, name)

/** Answer every held /slow request. */
function releaseSlow (): void {
  for (const res of slow.splice(0)) res.end('done')
}

function spawn (args: string[]): CLIProcess {
  const p = spawnCLI(args)
  spawned.push(p)
  return p
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-newcomer-'))
  upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? '').startsWith('/slow')) {
      slow.push(res)
      return
    }
    let bytes = 0
    req.on('data', (c: Buffer) => { bytes += c.length })
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ method: req.method, url: req.url, bytes, peer: req.headers['x-libp2p-peer-id'] ?? null }) + '\n')
    })
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  upstreamURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  const ids = await Promise.all(['provider', 'consumer', 'gateway'].map(async name => (await runCLI(['id', '--key', key(name)])).out[0]))
  ;[providerId, consumerId, gatewayId] = ids
  provider = spawn(['serve', '--upstream', upstreamURL, '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, '--allow', gatewayId, '--exit', '--allow-egress', '127.0.0.1', '--key', key('provider')])
  providerTo = /--to (\S+)/.exec(await provider.line(/^on the consumer: /))?.[1] ?? ''
})

afterAll(async () => {
  releaseSlow()
  await Promise.all(spawned.map(async p => { await p.kill() }))
  upstream?.closeAllConnections()
  await new Promise(resolve => upstream?.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

/** `n` GETs of `url` at once; resolves with their statuses once all are answered. */
async function parallel (url: string, n: number): Promise<number[]> {
  return await Promise.all(Array.from({ length: n }, async () => {
    const res = await fetch(url)
    await res.arrayBuffer()
    return res.status
  }))
}

describe('concurrency (issue 15 item 1)', () => {
  it('proxy --to keeps 40 slow requests in flight at the upstream at once (it held all past 32 back)', async () => {
    const consumer = spawn(['proxy', '--to', providerTo, '--port', '0', '--key', key('consumer')])
    const local = await consumer.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const answered = parallel(`${local}slow`, 40)
    // all 40 reach the upstream before any is answered: none waited behind another
    await until(() => slow.length === 40, 15_000, "40 requests at the upstream at once")
    releaseSlow()
    expect(await answered).toEqual(Array(40).fill(200))
    expect(consumer.err.filter(l => /wait for one to finish/.test(l))).toEqual([])
  })

  it('gateway keeps 40 slow requests in flight at the upstream at once', async () => {
    const gw = spawn(['gateway', '--port', '0', '--connect', providerTo, '--key', key('gateway')])
    const base = await gw.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/)
    const answered = parallel(`${base}${providerId}/slow`, 40)
    await until(() => slow.length === 40, 15_000, "40 requests at the upstream at once")
    releaseSlow()
    expect(await answered).toEqual(Array(40).fill(200))
  })

  it('proxy --max-streams 4 holds the fifth request back and says so once', async () => {
    const consumer = spawn(['proxy', '--to', providerTo, '--port', '0', '--max-streams', '4', '--key', key('consumer')])
    const local = await consumer.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const answered = parallel(`${local}slow`, 6)
    const notice = await consumer.line(/wait for one to finish/, { stream: 'err' })
    expect(notice).toContain('4 requests in flight to')
    expect(notice).toContain(providerId)
    expect(notice).toContain('--max-streams')
    await until(() => slow.length === 4, 15_000, '4 requests at the upstream')
    expect(slow.length).toBe(4)
    releaseSlow()
    // the two that waited go now
    await until(() => slow.length === 2, 15_000, 'the 2 queued requests at the upstream')
    releaseSlow()
    expect(await answered).toEqual(Array(6).fill(200))
    expect(consumer.err.filter(l => /wait for one to finish/.test(l))).toHaveLength(1)
  })

  it('fetch --max-streams takes a positive integer (exit 2 naming the flag otherwise)', async () => {
    const bad = await runCLI(['fetch', '--max-streams', '0', `multiaddr:${providerTo}`])
    expect(bad.code).toBe(2)
    expect(bad.err.join('\n')).toContain('--max-streams must be a positive integer')
    const ok = await runCLI(['fetch', '--max-streams', '2', '--key', key('consumer'), `multiaddr:${providerTo}/http-path/hello`])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.out.join('\n'))).toMatchObject({ url: '/hello', peer: consumerId })
  })
})

describe('the request log names the proven peer (issue 15 item 3)', () => {
  it('serve: a request with a body is logged with its peer (undici had taken req.socket, and the peer with it)', async () => {
    const consumer = spawn(['proxy', '--to', providerTo, '--port', '0', '--key', key('consumer')])
    const local = await consumer.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const res = await fetch(`${local}log-post`, { method: 'POST', body: 'hello' })
    expect(await res.json()).toMatchObject({ method: 'POST', bytes: 5, peer: consumerId })
    expect(await provider.line(/ POST \/log-post 200 /, { stream: 'err' })).toMatch(new RegExp(`^${consumerId} POST /log-post 200 `))
    expect(await consumer.line(/ POST \/log-post 200 /, { stream: 'err' })).toMatch(new RegExp(`^${providerId} POST /log-post 200 `))
  })

  it('the exit: a request with a body is logged with its peer', async () => {
    const forward = spawn(['proxy', '--forward', '--to', providerTo, '--port', '0', '--key', key('consumer')])
    const proxyAddr = /^(127\.0\.0\.1:\d+) /.exec(await forward.line(/^127\.0\.0\.1:\d+ /))?.[1] ?? ''
    const { code, out } = await curl(['-x', `http://${proxyAddr}`, '-d', 'hello', `${upstreamURL}/log-exit`])
    expect(code).toBe(0)
    expect(JSON.parse(out)).toMatchObject({ method: 'POST', bytes: 5 })
    expect(await provider.line(/ POST \S*\/log-exit 200 /, { stream: 'err' })).toMatch(new RegExp(`^${consumerId} POST `))
  })

  it('gateway: every line names the peer of the path, or why there is none', async () => {
    const gw = spawn(['gateway', '--port', '0', '--connect', providerTo, '--key', key('gateway')])
    const base = await gw.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/)
    expect((await fetch(`${base}${providerId}/log-gw`)).status).toBe(200)
    expect((await fetch(`${base}${providerId}/log-gw-post`, { method: 'POST', body: 'x' })).status).toBe(200)
    expect((await fetch(new URL('/elsewhere', base))).status).toBe(404)
    expect((await fetch(`${base}not-a-peer/x`)).status).toBe(400)
    expect(await gw.line(/ GET \S+\/log-gw 200 /, { stream: 'err' })).toMatch(new RegExp(`^${providerId} GET /p2p/${providerId}/log-gw 200 `))
    expect(await gw.line(/ POST \S+\/log-gw-post 200 /, { stream: 'err' })).toMatch(new RegExp(`^${providerId} POST `))
    expect(await gw.line(/ GET \/elsewhere /, { stream: 'err' })).toMatch(/^-\(not-a-p2p-path\) GET \/elsewhere 404 /)
    expect(await gw.line(/ GET \/p2p\/not-a-peer\/x /, { stream: 'err' })).toMatch(/^-\(bad-peer-id\) GET /)
  })
})

describe('HTTPS providers (issue 15 item 2)', () => {
  let httpsAddr: string
  let httpsProvider: CLIProcess

  beforeAll(async () => {
    const { key: tlsKey, cert } = await testCertificate()
    await writeFile(key('tls.key'), tlsKey, { mode: 0o600 })
    await writeFile(key('tls.crt'), cert)
    httpsProvider = spawn(['serve', '--upstream', upstreamURL, '--listen', '/ip4/127.0.0.1/tcp/0/tls/http', '--tls-key', key('tls.key'), '--tls-cert', key('tls.crt'),
      '--allow', consumerId, '--key', key('provider-https')])
    httpsAddr = (await httpsProvider.line(/^listen \/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/http\/p2p\//)).slice('listen '.length)
  })

  it('proxy --to a /tls/http address with --cacert: Peer ID Authentication with its key, the provider sees its peer id', async () => {
    const consumer = spawn(['proxy', '--to', httpsAddr, '--cacert', key('tls.crt'), '--port', '0', '--key', key('consumer')])
    const local = await consumer.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const got = await fetch(`${local}over-https?x=1`)
    expect(got.status).toBe(200)
    expect(await got.json()).toMatchObject({ method: 'GET', url: '/over-https?x=1', peer: consumerId })
    // a body waits for the provider's proof (an OPTIONS carries the handshake, or the token is used)
    const posted = await fetch(`${local}over-https-post`, { method: 'POST', body: 'hello' })
    expect(await posted.json()).toMatchObject({ method: 'POST', bytes: 5, peer: consumerId })
    expect(await consumer.line(/^forwarding to /, { stream: 'err' })).toContain('proven')
    expect(await httpsProvider.line(/ POST \/over-https-post 200 /, { stream: 'err' })).toMatch(new RegExp(`^${consumerId} `))
    expect(consumer.err.filter(l => /redial|cannot reach/.test(l))).toEqual([])
  })

  it('proxy --to a self-signed provider without --cacert: one line naming --cacert, and 502', async () => {
    const consumer = spawn(['proxy', '--to', httpsAddr, '--port', '0', '--key', key('consumer')])
    const local = await consumer.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const warning = await consumer.line(/cannot reach/, { stream: 'err' })
    expect(warning).toMatch(/^warn: cannot reach \/ip4\/\S+\/tls\/http\/p2p\/\S+ yet: .*certificate.*--cacert FILE/)
    const res = await fetch(`${local}refused`)
    expect(res.status).toBe(502)
    expect(res.headers.get('proxy-status')).toMatch(/certificate/)
  })

  it('proxy -k: accepted with a warning, the peer still proven', async () => {
    const consumer = spawn(['proxy', '--to', httpsAddr, '-k', '--port', '0', '--key', key('consumer')])
    const local = await consumer.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(await consumer.line(/--insecure/, { stream: 'err' })).toMatch(/^warn: --insecure: /)
    expect(await (await fetch(`${local}insecure`)).json()).toMatchObject({ url: '/insecure', peer: consumerId })
  })

  it('fetch a /tls/http provider: --cacert works, without it one line names --cacert (exit 7)', async () => {
    const ok = await runCLI(['fetch', '--cacert', key('tls.crt'), '--key', key('consumer'), `multiaddr:${httpsAddr}/http-path/fetched`])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.out.join('\n'))).toMatchObject({ url: '/fetched', peer: consumerId })
    const refused = await runCLI(['fetch', '--key', key('consumer'), `multiaddr:${httpsAddr}/http-path/fetched`])
    expect(refused.code).toBe(7)
    expect(refused.err).toHaveLength(1)
    expect(refused.err[0]).toMatch(/^libp2phttp fetch: .*--cacert FILE/)
  })
  it('gateway --connect a /tls/http address with --cacert: its paths go there, proven both ways', async () => {
    const gw = spawn(['gateway', '--port', '0', '--connect', httpsAddr, '--cacert', key('tls.crt'), '--key', key('consumer')])
    const base = await gw.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/)
    const httpsId = /\/p2p\/(\w+)$/.exec(httpsAddr)?.[1] ?? ''
    const res = await fetch(`${base}${httpsId}/via-gateway`, { method: 'POST', body: 'abc' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ url: '/via-gateway', bytes: 3, peer: consumerId })
    expect(await gw.line(/ POST \S+\/via-gateway 200 /, { stream: 'err' })).toMatch(new RegExp(`^${httpsId} `))
    expect(gw.err.filter(l => /cannot reach/.test(l))).toEqual([])
  })

  it('gateway --connect a self-signed /tls/http address without --cacert: one line naming --cacert', async () => {
    const gw = spawn(['gateway', '--port', '0', '--connect', httpsAddr, '--key', key('consumer')])
    expect(await gw.line(/cannot reach/, { stream: 'err' })).toMatch(/^warn: cannot reach \S+ yet: .*--cacert FILE/)
  })
})
