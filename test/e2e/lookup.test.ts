/**
 * Lookup by peer id on loopback (issue 16): `libp2phttp relay` serves a DHT, `serve --relay` joins it,
 * and `proxy`, `fetch` and `gateway` given only the provider's peer id and `--bootstrap <relay>` find it.
 * Real processes of the command throughout.
 */
import { createServer } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, runCLI, spawnCLI } from '../helpers/cli.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'

describe('lookup by peer id through the relay\'s DHT (--bootstrap)', () => {
  let dir: string
  let upstream: Server
  const procs: CLIProcess[] = []
  let relayAddr = ''
  let providerId = ''
  let consumerKey = ''

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'libp2phttp-lookup-'))
    const key = (name: string): string => join(dir, name)
    consumerKey = key('consumer')
    const ids = await Promise.all(['relay', 'provider', 'consumer'].map(async n => (await runCLI(['id', '--key', key(n)])).out[0]))
    providerId = ids[1]
    upstream = createServer((req, res) => { res.end(`${req.method ?? ''} ${req.url ?? ''}\n`) })
    await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
    const port = (upstream.address() as AddressInfo).port

    const relay = spawnCLI(['relay', '--key', key('relay'), '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', providerId])
    procs.push(relay)
    relayAddr = (await relay.line(/^listen /)).slice('listen '.length)
    const serve = spawnCLI(['serve', '--key', key('provider'), '--upstream', `http://127.0.0.1:${port}`, '--allow', ids[2], '--listen', '/ip4/127.0.0.1/tcp/0', '--relay', relayAddr])
    procs.push(serve)
    const byId = await serve.line(/^or by peer id /, { timeout: 30_000 })
    expect(byId).toContain(`libp2phttp proxy --to /p2p/${providerId} --bootstrap ${relayAddr}`)
  }, 60_000)

  afterAll(async () => {
    await Promise.all(procs.map(async p => { await p.kill() }))
    await new Promise(resolve => upstream?.close(resolve))
    if (dir != null) rmSync(dir, { recursive: true, force: true })
  })

  it('proxy --to /p2p/<id> --bootstrap <relay> finds the provider: 200', async () => {
    const proxy = spawnCLI(['proxy', '--key', consumerKey, '--to', `/p2p/${providerId}`, '--bootstrap', relayAddr, '--port', '0'])
    procs.push(proxy)
    const url = await proxy.line(/^http:\/\/127\.0\.0\.1:\d+/)
    const res = await curl(['--max-time', '20', '-w', ' %{http_code}', `${url}hello`])
    expect(res.out).toBe('GET /hello\n 200')
    // found: its first contact, made before any request, said where it forwards
    await proxy.line(/forwarding to /, { stream: 'err' })
  }, 40_000)

  it('fetch /p2p/<id>/http-path/… --bootstrap <relay> finds the provider: exit 0', async () => {
    const r = await runCLI(['fetch', '--key', consumerKey, '--bootstrap', relayAddr, `/p2p/${providerId}/http-path/by-id`], {}, 30_000)
    expect(r.err.join('\n')).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toEqual(['GET /by-id'])
  }, 40_000)

  it('gateway --connect /p2p/<id> --bootstrap <relay> serves the peer\'s paths: 200', async () => {
    const gateway = spawnCLI(['gateway', '--key', consumerKey, '--connect', `/p2p/${providerId}`, '--bootstrap', relayAddr, '--port', '0'])
    procs.push(gateway)
    const url = await gateway.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/, { timeout: 30_000 })
    expect(gateway.err.filter(l => /cannot reach/.test(l))).toEqual([])
    const res = await curl(['--max-time', '20', '-w', ' %{http_code}', `${url}${providerId}/via-gateway`])
    expect(res.out).toBe('GET /via-gateway\n 200')
  }, 40_000)

  it('a bare /p2p/<id> without --bootstrap is a usage error naming the flag', async () => {
    const r = await runCLI(['proxy', '--key', consumerKey, '--to', `/p2p/${providerId}`, '--port', '0'])
    expect(r.code).toBe(2)
    expect(r.err.join('\n')).toMatch(/a bare peer id is looked up through a relay's DHT: add --bootstrap/)
    // fetch too, rather than libp2p's dial error
    const f = await runCLI(['fetch', `/p2p/${providerId}/http-path/x`])
    expect(f.code).toBe(2)
    expect(f.err.join('\n')).toMatch(/^libp2phttp fetch: URL \/p2p\/\S+: a bare peer id is looked up through a relay's DHT: add --bootstrap/)
  })
})
