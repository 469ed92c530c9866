/**
 * Issue 14, server side, through the real command: `serve --upstream` and `serve --exit` processes, a real
 * libp2p peer writing raw bytes on `/http/1.1` streams, and a raw upstream that records every request
 * target that reaches it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnCLI } from '../helpers/cli.js'
import { createNode } from '../helpers/nodes.js'
import { rawExchange } from '../helpers/raw-stream.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { RawExchange } from '../helpers/raw-stream.js'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const H = 'Host: x\r\n'
let dir: string
let peer: Libp2p
let upstream: Server
/** Request targets that reached the upstream, as it read them. */
const reached: string[] = []
const procs: CLIProcess[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-hardening-'))
  peer = await createNode()
  upstream = createServer((req, res) => {
    reached.push(req.url ?? '')
    res.end(`upstream saw ${req.url ?? ''}`)
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
})

afterAll(async () => {
  await Promise.all(procs.map(async p => { await p.kill() }))
  await peer?.stop()
  upstream?.closeAllConnections()
  upstream?.close()
  await rm(dir, { recursive: true, force: true })
})

/** Start `serve …args` and return the stream address a consumer is told to use. */
async function serve (args: string[], name: string): Promise<{ proc: CLIProcess, addrs: Multiaddr[] }> {
  const proc = spawnCLI(['serve', ...args, '--listen', '/ip4/127.0.0.1/tcp/0', '--key', join(dir, name)])
  procs.push(proc)
  const to = /--to (\S+)/.exec(await proc.line(/--to /))?.[1] ?? ''
  return { proc, addrs: [multiaddr(to)] }
}

/** `count` raw exchanges, `width` at a time (well under the per-peer limit of 256). */
async function many (addrs: Multiaddr[], count: number, send: string, width = 32): Promise<RawExchange[]> {
  const results: RawExchange[] = []
  for (let i = 0; i < count; i += width) {
    results.push(...await Promise.all(Array.from({ length: Math.min(width, count - i) }, async () => await rawExchange(peer, addrs, { send, then: 'keep-open' }))))
  }
  return results
}

/** Send SIGINT and resolve with how long the process took to exit. */
async function interrupt (proc: CLIProcess): Promise<number> {
  const start = performance.now()
  proc.proc.kill('SIGINT')
  expect(await proc.exited(20_000)).toBe(0)
  return performance.now() - start
}

describe('refused CONNECTs and upgrades release their stream slot (issue 14 item 2)', () => {
  it('serve --exit: 1 000 refused CONNECTs (allowed peer and not) leave the peer served, and SIGINT does not wait the grace', async () => {
    const stranger = (await createNode())
    const strangerId = stranger.peerId.toString()
    await stranger.stop()
    // the peer is allowed (refused by the egress policy: loopback) on one exit, not allowed on the other
    const allowed = await serve(['--exit', '--allow', peer.peerId.toString(), '--grace', '30000'], 'exit-allowed')
    const refused = await serve(['--exit', '--allow', strangerId, '--grace', '30000'], 'exit-refused')
    const connect = `GET /libp2phttp/exit/1/connect/127.0.0.1:443 HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: libp2phttp-connect\r\n\r\n`
    for (const exit of [allowed, refused]) {
      const results = await many(exit.addrs, 500, connect)
      expect(new Set(results.map(r => r.statuses.join()))).toEqual(new Set(['403']))
      const after = await rawExchange(peer, exit.addrs, { send: `GET /.well-known/libp2p/protocols HTTP/1.1\r\n${H}\r\n` })
      expect(after.statuses).toEqual([200])
    }
    // nothing is left in flight: shutdown does not wait for the 30 s grace
    for (const exit of [allowed, refused]) expect(await interrupt(exit.proc)).toBeLessThan(10_000)
  }, 120_000)

  it('serve --upstream with the upstream down: 300 failed WebSocket upgrades (502) leave the peer served', async () => {
    const dead = createServer()
    await new Promise<void>(resolve => dead.listen(0, '127.0.0.1', resolve))
    const port = (dead.address() as AddressInfo).port
    dead.close()
    const provider = await serve(['--upstream', `http://127.0.0.1:${port}`, '--allow', peer.peerId.toString(), '--grace', '30000'], 'provider-down')
    const upgrade = `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`
    const results = await many(provider.addrs, 300, upgrade)
    expect(new Set(results.map(r => r.statuses.join()))).toEqual(new Set(['502']))
    const after = await rawExchange(peer, provider.addrs, { send: `GET / HTTP/1.1\r\n${H}\r\n` })
    expect(after.statuses).toEqual([502])
    expect(await interrupt(provider.proc)).toBeLessThan(10_000)
  }, 120_000)
})

/** Targets that climb, or name another host, or none: each must get 400 before any upstream sees it. */
const ESCAPES = [
  '/../admin/secret.txt',
  '/%2e%2e/admin/secret.txt',
  '/%2E%2E/admin/secret.txt',
  '/.%2e/admin/secret.txt',
  '/..;x=1/admin/secret.txt',
  '/a/..;/..;/admin/secret.txt',
  '/./admin',
  '/a/..%2fadmin',
  '/a/..\\admin',
  'http://elsewhere.example/admin',
  '*'
]

describe('the upstream\'s base path cannot be escaped (issue 14 item 1)', () => {
  it('serve --upstream http://…/public/ at / and as a protocol: dot segments, absolute-form for another host and * get 400; nothing leaves /public', async () => {
    const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/public/`
    const root = await serve(['--upstream', base, '--allow', peer.peerId.toString()], 'provider-root')
    const mounted = await serve(['--upstream', base, '--protocol', '/x/pub/1', '--allow', peer.peerId.toString()], 'provider-mounted')
    reached.length = 0
    for (const [server, prefix] of [[root, ''], [mounted, '/x/pub/1']] as const) {
      for (const target of ESCAPES) {
        const path = target.startsWith('/') ? `${prefix}${target}` : target
        for (const method of ['GET', 'OPTIONS']) {
          const result = await rawExchange(peer, server.addrs, { send: `${method} ${path} HTTP/1.1\r\n${H}\r\n` })
          expect(result.statuses, `${method} ${path}`).toEqual([400])
        }
        // and as an upgrade
        const upgrade = await rawExchange(peer, server.addrs, { send: `GET ${path} HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n` })
        expect(upgrade.statuses, `upgrade ${path}`).toEqual([400])
      }
      // the issue's own case under a mount: resolves inside the mount, but raw bytes would climb out
      expect((await rawExchange(peer, server.addrs, { send: `GET ${prefix}/1/../1/x HTTP/1.1\r\n${H}\r\n` })).statuses).toEqual([400])
    }
    expect(reached).toEqual([])
    // what is below the base still reaches it, absolute-form for the Host it names too
    expect((await rawExchange(peer, root.addrs, { send: `GET /ok?q=1 HTTP/1.1\r\n${H}\r\n` })).statuses).toEqual([200])
    expect((await rawExchange(peer, mounted.addrs, { send: `GET /x/pub/1/ok HTTP/1.1\r\n${H}\r\n` })).statuses).toEqual([200])
    expect((await rawExchange(peer, root.addrs, { send: `GET http://x/self HTTP/1.1\r\n${H}\r\n` })).statuses).toEqual([200])
    expect(reached).toEqual(['/public/ok?q=1', '/public/ok', '/public/self'])
  }, 60_000)
})
