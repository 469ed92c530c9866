/**
 * `serve --relay` when its relay goes away and comes back (a real `libp2phttp relay` process killed and
 * started again on the same key and port), and `gateway --connect` with a relayed address. Loopback,
 * real processes of the command.
 */
import { createServer } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, runCLI, spawnCLI } from '../helpers/cli.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'

/**
 * A TCP port free now, for a relay that must come back on the same one. Taken below the kernel's
 * ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`, 32768 and up by default), where nothing
 * that binds port 0 or dials out is given ports: a port from that range, freed and bound again a moment
 * later, was taken in between by another test running beside this one (CI runs two files at once).
 */
async function freePort (): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    const s = createNetServer()
    const bound = await new Promise<boolean>(resolve => {
      s.once('error', () => { resolve(false) })
      s.listen(port, '127.0.0.1', () => { resolve(true) })
    })
    if (bound) {
      await new Promise(resolve => s.close(resolve))
      return port
    }
  }
  throw new Error('no free port found below the ephemeral range in 50 tries')
}

describe('serve --relay across a relay restart; gateway --connect through a relay', () => {
  let dir: string
  let upstream: Server
  const procs: CLIProcess[] = []
  const key = (name: string): string => join(dir, name)
  let relayArgs: string[] = []
  let relay: CLIProcess
  let serve: CLIProcess
  let circuit = ''
  let providerId = ''

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'libp2phttp-relay-restart-'))
    const ids = await Promise.all(['relay', 'provider', 'consumer'].map(async n => (await runCLI(['id', '--key', key(n)])).out[0]))
    providerId = ids[1]
    upstream = createServer((req, res) => { res.end(`${req.method ?? ''} ${req.url ?? ''}\n`) })
    await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
    relayArgs = ['relay', '--key', key('relay'), '--listen', `/ip4/127.0.0.1/tcp/${await freePort()}`, '--allow', providerId]
    relay = spawnCLI(relayArgs)
    procs.push(relay)
    const relayAddr = (await relay.line(/^listen /)).slice('listen '.length)
    serve = spawnCLI(['serve', '--key', key('provider'), '--upstream', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, '--allow', ids[2], '--relay', relayAddr])
    procs.push(serve)
    await serve.line(/^on a consumer behind NAT/, { timeout: 30_000 })
    circuit = `${relayAddr}/p2p-circuit/p2p/${providerId}`
  }, 60_000)

  afterAll(async () => {
    await Promise.all(procs.map(async p => { await p.kill() }))
    await new Promise(resolve => upstream?.close(resolve))
    if (dir != null) rmSync(dir, { recursive: true, force: true })
  })

  it('gateway --connect <relayed address> serves the peer\'s paths through the relay: 200', async () => {
    const gateway = spawnCLI(['gateway', '--key', key('consumer'), '--connect', circuit, '--port', '0'])
    procs.push(gateway)
    const url = await gateway.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/, { timeout: 30_000 })
    expect(gateway.err.filter(l => /cannot reach/.test(l))).toEqual([])
    const res = await curl(['--max-time', '20', '-w', ' %{http_code}', `${url}${providerId}/through-gateway`])
    expect(res.out).toBe('GET /through-gateway\n 200')
    // the request log says how it went, as serve's and proxy's do (written when the exchange closes)
    expect(await gateway.line(/ GET \/p2p\/\S+\/through-gateway 200 /, { stream: 'err' })).toMatch(/ relayed$/)
    await gateway.kill()
  }, 40_000)

  it('gateway\'s request log says direct for a peer reached directly once relays are in play (--bootstrap), and has no column without them', async () => {
    const direct = serve.out.find(l => /^listen \/ip4\/127\.0\.0\.1\/tcp\//.test(l))?.slice('listen '.length)
    expect(direct).toBeDefined()
    const relayAddr = circuit.slice(0, circuit.indexOf('/p2p-circuit'))
    for (const [extra, column] of [[['--bootstrap', relayAddr], / direct$/], [[], / \d+ms$/]] as const) {
      const gateway = spawnCLI(['gateway', '--key', key('consumer'), '--connect', direct ?? '', ...extra, '--port', '0'])
      procs.push(gateway)
      const url = await gateway.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/, { timeout: 30_000 })
      const res = await curl(['--max-time', '20', '-w', ' %{http_code}', `${url}${providerId}/direct`])
      expect(res.out).toBe('GET /direct\n 200')
      expect(await gateway.line(/ GET \/p2p\/\S+\/direct 200 /, { stream: 'err' })).toMatch(column)
      await gateway.kill()
    }
  }, 60_000)

  it('after the relay is killed and started again on the same key and port, serve reserves again and a new consumer gets 200 through it', async () => {
    const before = await runCLI(['fetch', '--key', key('consumer'), `${circuit}/http-path/before`], {}, 30_000)
    expect(before.out).toEqual(['GET /before'])
    await relay.kill()
    await serve.line(/connection to the relay .* lost; redialling/, { stream: 'err', timeout: 15_000 })
    relay = spawnCLI(relayArgs)
    procs.push(relay)
    await relay.line(/^listen /)
    await serve.line(/reserved a slot on .* again/, { stream: 'err', timeout: 30_000 })
    // a new process has no other connection to the provider: the circuit address must work again
    const after = await runCLI(['fetch', '--key', key('consumer'), `${circuit}/http-path/after`], {}, 30_000)
    expect(after.err).toEqual([])
    expect(after.code).toBe(0)
    expect(after.out).toEqual(['GET /after'])
  }, 90_000)
})
