/**
 * Issue 14's lock-out attack at the default limits, against the real command: `serve --upstream` (256
 * streams per peer, 4096 in all, 60 s header timeout) while 17 fresh peers each hold 256 slow streams
 * (partial headers, write side open). Reports how long a fresh peer then waits for its answer, and the
 * server's RSS before and under the attack.
 *
 *   node --import tsx bench/stream-flood.ts [peers=17] [streams=256]
 */
import '../examples/polyfill.js'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { AddressInfo } from 'node:net'

const PEERS = Number(process.argv[2] ?? 17)
const STREAMS = Number(process.argv[3] ?? 256)
const H = 'Host: x\r\n'

async function node (): Promise<Libp2p> {
  return await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
}

async function rssOf (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
}

/** Open a stream, send `text`, and resolve with the first status line's code (or 'reset'/'closed'). */
async function exchange (from: Libp2p, addrs: Multiaddr[], text: string, keep: Stream[]): Promise<string> {
  const stream = await from.dialProtocol(addrs, '/http/1.1', { maxOutboundStreams: 4096 })
  keep.push(stream)
  return await new Promise((resolve) => {
    let got = ''
    stream.addEventListener('message', (evt) => {
      for (const c of evt.data instanceof Uint8Array ? [evt.data] : evt.data) got += Buffer.from(c).toString('latin1')
      const m = /HTTP\/1\.1 (\d{3})/.exec(got)
      if (m != null) resolve(m[1])
    })
    stream.addEventListener('close', (evt) => { resolve(evt.error == null ? 'closed' : 'reset') })
    stream.send(Buffer.from(text))
  })
}

const dir = await mkdtemp(join(tmpdir(), 'flood-'))
const upstream = createServer((_req, res) => { res.end('ok') })
await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
const innocent = await node()
const attackers = await Promise.all(Array.from({ length: PEERS }, node))
const server = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--upstream', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, '--allow-any', '--quiet', '--listen', '/ip4/127.0.0.1/tcp/0', '--key', join(dir, 'key')], { stdio: ['ignore', 'pipe', 'inherit'] })
const to = await new Promise<string>((resolve) => {
  let out = ''
  server.stdout.on('data', (c: Buffer) => { out += c.toString(); const m = /--to (\S+) /.exec(out); if (m != null) resolve(m[1]) })
})
const addrs = [multiaddr(to)]
try {
  // libp2p takes 5 inbound connections per second from one address
  for (const n of [innocent, ...attackers]) {
    while (n.getConnections().length === 0) await n.dial(addrs).catch(async () => { await new Promise(resolve => setTimeout(resolve, 250)) })
  }
  const before = await rssOf(server.pid ?? 0)
  const held: Stream[] = []
  const refused: string[] = []
  const started = performance.now()
  // each attacker opens its streams at once; the slow ones never get an answer, so only refusals resolve
  await Promise.all(attackers.map(async (a) => {
    for (let i = 0; i < STREAMS; i += 32) {
      const batch = Array.from({ length: Math.min(32, STREAMS - i) }, () => exchange(a, addrs, `GET / HTTP/1.1\r\n${H}X-Slow: `, held).then((s) => { refused.push(s) }))
      await Promise.race([Promise.all(batch), new Promise(resolve => setTimeout(resolve, 200))])
    }
  }))
  await new Promise(resolve => setTimeout(resolve, 2000))
  const attackMs = performance.now() - started
  const under = await rssOf(server.pid ?? 0)
  const t0 = performance.now()
  const status = await exchange(innocent, addrs, `GET / HTTP/1.1\r\n${H}\r\n`, [])
  const answeredMs = performance.now() - t0
  console.log(JSON.stringify({
    peers: PEERS,
    streamsPerPeer: STREAMS,
    attackStreams: PEERS * STREAMS,
    refusedOrEnded: refused.length,
    attackSetupMs: Math.round(attackMs),
    freshPeer: { status, ms: Math.round(answeredMs) },
    serverRss: { beforeMiB: +(before / 2 ** 20).toFixed(1), underAttackMiB: +(under / 2 ** 20).toFixed(1) }
  }))
} finally {
  server.kill('SIGKILL')
  await Promise.all([innocent, ...attackers].map(async n => { await n.stop() }))
  upstream.close()
  await rm(dir, { recursive: true, force: true })
}
