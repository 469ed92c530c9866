/**
 * Time to first byte across two NATs (the network namespaces of test/e2e/nat.test.ts): a provider
 * reached through a relay, one with a port forward and `--announce` reached by its printed relayed
 * address (first request relayed, then direct) and by peer id through the relay's DHT.
 * Needs root, `ip` and `iptables`: `sudo npm run bench:nat`. Each line gives the
 * first request's time to first byte (curl's `time_starttransfer`, in the consumer's namespace) and
 * the median of the next 10, with what the proxy's log said of each request.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCLI, spawnCLI } from '../test/helpers/cli.js'
import { createTopology } from '../test/helpers/netns.js'
import type { CLIProcess } from '../test/helpers/cli.js'

const t = createTopology()
const dir = mkdtempSync(join(tmpdir(), 'ttfb-'))
const procs: CLIProcess[] = []
const key = (n: string): string => join(dir, n)
const ttfb = (port: number, path: string): number => {
  const r = spawnSync('ip', ['netns', 'exec', t.consumer, 'curl', '-sS', '-o', '/dev/null', '-w', '%{time_starttransfer}', `http://127.0.0.1:${port}/${path}`])
  return Number(r.stdout.toString()) * 1000
}
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return (s[4] + s[5]) / 2 }
try {
  const [relayId, p1, consumerId, p2] = await Promise.all(['relay', 'p1', 'consumer', 'p2'].map(async n => (await runCLI(['id', '--key', key(n)])).out[0]))
  const up = spawnCLI([], {}, [...t.exec(t.provider), process.execPath, 'test/fixtures/nat-upstream.mjs', '--']); procs.push(up)
  const port = (await up.line(/^listening /)).split(' ')[1]
  const relay = spawnCLI(['relay', '--key', key('relay'), '--listen', '/ip4/0.0.0.0/tcp/4001', '--allow', p1, '--allow', p2], {}, t.exec(t.pub)); procs.push(relay)
  await relay.line(/^on the provider: /)
  const relayAddr = `/ip4/${t.pubFromProvider}/tcp/4001/p2p/${relayId}`
  const fwd = `/ip4/${t.forwardToProvider(4003)}/tcp/4003`
  const s1 = spawnCLI(['serve', '--key', key('p1'), '--upstream', `http://127.0.0.1:${port}`, '--allow', consumerId, '--listen', '/ip4/0.0.0.0/tcp/4002', '--relay', relayAddr], {}, t.exec(t.provider)); procs.push(s1)
  const s2 = spawnCLI(['serve', '--key', key('p2'), '--upstream', `http://127.0.0.1:${port}`, '--allow', consumerId, '--listen', '/ip4/0.0.0.0/tcp/4003', '--relay', relayAddr, '--announce', fwd], {}, t.exec(t.provider)); procs.push(s2)
  const c1 = /--to (\S+)/.exec(await s1.line(/^on a consumer behind NAT/, { timeout: 30_000 }))?.[1] ?? ''
  const c2 = /--to (\S+)/.exec(await s2.line(/^on a consumer behind NAT/, { timeout: 30_000 }))?.[1] ?? ''
  const cases: Array<[string, string[], number]> = [
    ['relayed (serve --relay, proxy --to <circuit>)', ['--to', c1], 8100],
    ['announce, proxy --to <circuit> (first relayed, then direct)', ['--to', c2], 8101],
    ['announce, proxy --to /p2p/<id> --bootstrap', ['--to', `/p2p/${p2}`, '--bootstrap', relayAddr], 8102]
  ]
  for (const [name, args, lport] of cases) {
    const proxy = spawnCLI(['proxy', '--key', key('consumer'), ...args, '--port', String(lport)], {}, t.exec(t.consumer)); procs.push(proxy)
    await proxy.line(/^http:\/\/127\.0\.0\.1:/)
    await new Promise(resolve => setTimeout(resolve, 1500))
    const first = ttfb(lport, 'first')
    // the proxy says when its background dial made the connection direct (stream/direct.ts)
    if (name.includes('<circuit>') && name.startsWith('announce')) await proxy.line(/^direct connection to /, { stream: 'err', timeout: 20_000 })
    const next = Array.from({ length: 10 }, (_, i) => ttfb(lport, `n${i}`))
    await new Promise(resolve => setTimeout(resolve, 300))
    const vias = proxy.err.filter(l => / GET \//.test(l)).map(l => l.split(' ').pop())
    console.log(`${name}: first ${first.toFixed(1)} ms, median of next 10 ${median(next).toFixed(1)} ms; log: ${vias.join(',')}`)
    await proxy.kill()
  }
} finally {
  await Promise.all(procs.map(async p => { await p.kill() }))
  t.remove()
  rmSync(dir, { recursive: true, force: true })
}
