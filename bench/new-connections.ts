/**
 * `node --import tsx bench/new-connections.ts [OLD_TREE]`
 *
 * Native requests that each open a new TLS connection (the server answers `Connection: close`): the
 * client's CPU per request and the wall time, medians of alternating rounds of 100, and how the server
 * saw the handshakes (full or resumed). With `OLD_TREE` (a checkout of another commit, e.g. a
 * `git worktree add`), its `createHTTPHost` runs in the same process, alternating with this tree's: an
 * A/B of the connection path (issue 21: one TLS secure context per client instead of one per connection).
 */
import '../examples/polyfill.js'
import './production.js'
import { fork } from 'node:child_process'
import { resolve } from 'node:path'
import { createHTTPHost } from '../src/index.js'
import { summarize } from './stats.js'
import type { HTTPHost } from '../src/index.js'
if (process.argv[2] === '--serve') {
  // the server: a new connection for every request, and whether its handshake was resumed
  const { generate } = await import('selfsigned')
  const { createServer } = await import('node:https')
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], { keyType: 'ec', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] })
  const s = createServer({ key: pems.private, cert: pems.cert }, (q, r) => { r.setHeader('connection', 'close'); r.end((q.socket as import('node:tls').TLSSocket).isSessionReused() ? 'reused' : 'full') })
  await new Promise<void>(r => s.listen(0, '127.0.0.1', r))
  process.send?.({ port: (s.address() as { port: number }).port, ca: pems.cert })
} else {
  const child = fork(new URL(import.meta.url).pathname, ['--serve'], { execArgv: ['--import', 'tsx'] })
  const { port, ca } = await new Promise<{ port: number, ca: string }>(r => child.once('message', r as never))
  const hosts: Record<string, HTTPHost> = { this: await createHTTPHost({ clientTLS: { ca } }) }
  if (process.argv[2] != null) {
    const old = await import(resolve(process.argv[2], 'src/index.ts')) as { createHTTPHost: typeof createHTTPHost }
    hosts.old = await old.createHTTPHost({ clientTLS: { ca } })
  }
  const res: Record<string, { cpu: number[], wall: number[] }> = {}
  const reused: Record<string, Record<string, number>> = {}
  for (let round = 0; round < 21; round++) {
    const order = Object.entries(hosts); if (round % 2) order.reverse()
    for (const [k, h] of order) {
      const c0 = process.cpuUsage(); const t0 = performance.now()
      for (let i = 0; i < 100; i++) { const t = await (await h.fetch(`https://127.0.0.1:${port}/`)).text(); (reused[k] ??= {})[t] = (reused[k][t] ?? 0) + 1 }
      const u = process.cpuUsage(c0)
      if (round > 0) { const e = (res[k] ??= { cpu: [], wall: [] }); e.cpu.push((u.user + u.system) / 100); e.wall.push((performance.now() - t0) * 10) }
    }
  }
  for (const [k, v] of Object.entries(res)) console.log(`${k}: client CPU per new-connection request ${summarize(v.cpu).median.toFixed(0)} µs [${summarize(v.cpu).min.toFixed(0)}–${summarize(v.cpu).max.toFixed(0)}], wall ${summarize(v.wall).median.toFixed(0)} µs`)
  console.log('TLS handshakes (server side):', JSON.stringify(reused))
  await Promise.all(Object.values(hosts).map(async h => { await h.close() }))
  child.kill()
}
