/**
 * `node --import tsx bench/compression.ts [RATE_MBIT…]`: a 10 MiB JSON answer through a tunnel (real
 * processes of the command, run from source: `serve --upstream` and `proxy --to`, 127.0.0.1), with and
 * without `serve --compress`. Between the two a counting TCP relay carries the libp2p connection (noise
 * and yamux included), so "wire" is what crossed the peer link, both directions; it can also hold the
 * link to RATE_MBIT megabits per second each way (default: unlimited, then 100 and 20). The local client
 * asks for no coding, as curl without `--compressed` does: the consumer asks the provider and decodes.
 *
 * Also: server-sent events, one every 50 ms, and how long each took from the upstream's write to the
 * local client (the coders flush each chunk: the delay should not change).
 *
 * Prints a Markdown table: median of 3 requests after a warm-up.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import { connect, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { runCLI, spawnCLI } from '../test/helpers/cli.js'
import type { AddressInfo, Server as NetServer } from 'node:net'

const rates = process.argv.slice(2).length > 0 ? process.argv.slice(2).map(Number) : [0, 100, 20]

// 10 MiB of JSON an API would send: records with ids, names, numbers, dates, tags (deterministic)
let seed = 1
const random = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima']
const records: unknown[] = []
let size = 2
while (size < 10 * 1024 * 1024) {
  const record = { id: records.length, name: `${words[Math.floor(random() * 12)]} ${words[Math.floor(random() * 12)]}`, score: Math.round(random() * 1e6) / 100, created: new Date(1.7e12 + Math.floor(random() * 1e10)).toISOString(), tags: words.filter(() => random() < 0.2), active: random() < 0.5 }
  size += JSON.stringify(record).length + 1
  records.push(record)
}
const json = Buffer.from(JSON.stringify(records))

const upstream = createServer((req, res) => {
  if (req.url === '/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    let n = 0
    const timer = setInterval(() => {
      res.write(`data: ${JSON.stringify({ n: n++, sent: performance.timeOrigin + performance.now(), text: 'token '.repeat(8) })}\n\n`)
      if (n === 40) { clearInterval(timer); res.end() }
    }, 50)
    return
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': json.length })
  res.end(json)
})
await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
const upstreamURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`

/** A relay to `port` counting bytes both ways, each way held to `mbit` Mbit/s (0: no limit). */
async function relay (port: number, mbit: number): Promise<{ server: NetServer, port: number, bytes: () => number }> {
  let bytes = 0
  const limit = (): Transform => {
    let next = 0
    return new Transform({
      transform (chunk: Buffer, _e, callback) {
        bytes += chunk.length
        if (mbit === 0) { callback(null, chunk); return }
        const now = performance.now()
        next = Math.max(next, now) + chunk.length * 8 / (mbit * 1000)
        setTimeout(() => { callback(null, chunk) }, next - now)
      }
    })
  }
  // no Nagle, as @libp2p/tcp sets on its own sockets: small SSE writes would wait for delayed ACKs
  const server = createNetServer({ noDelay: true }, (a) => {
    const b = connect({ port, host: '127.0.0.1', noDelay: true })
    a.on('error', () => b.destroy()).pipe(limit()).pipe(b)
    b.on('error', () => a.destroy()).pipe(limit()).pipe(a)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, bytes: () => bytes }
}

/** GET `url`: the body's size and the time to its last byte, in ms. */
async function get (url: string): Promise<{ size: number, ms: number, encoding?: string }> {
  const start = performance.now()
  return await new Promise((resolve, reject) => {
    request(url, (res) => {
      let n = 0
      res.on('data', (c: Buffer) => { n += c.length })
      res.on('end', () => { resolve({ size: n, ms: performance.now() - start, encoding: res.headers['content-encoding'] }) })
      res.on('error', reject)
    }).on('error', reject).end()
  })
}

/** The events' delays from the upstream's write to their arrival here: median and max, in ms. */
async function events (url: string): Promise<{ median: number, max: number }> {
  const delays: number[] = []
  await new Promise<void>((resolve, reject) => {
    request(url, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => {
        const now = performance.timeOrigin + performance.now()
        text += c.toString()
        const parts = text.split('\n\n')
        text = parts.pop() ?? ''
        for (const p of parts) delays.push(now - (JSON.parse(p.slice(6)) as { sent: number }).sent)
      })
      res.on('end', resolve)
      res.on('error', reject)
    }).on('error', reject).end()
  })
  delays.sort((a, b) => a - b)
  return { median: delays[Math.floor(delays.length / 2)], max: delays[delays.length - 1] }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const dir = await mkdtemp(join(tmpdir(), 'libp2phttp-compression-'))
const rows: string[] = []
try {
  const consumerId = (await runCLI(['id', '--key', join(dir, 'c')])).out[0]
  for (const rate of rates) {
    for (const compress of [false, true]) {
      const provider = spawnCLI(['serve', '--upstream', upstreamURL, '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, '--key', join(dir, 'p'), ...(compress ? ['--compress'] : [])])
      try {
        const listen = /^listen \/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/p2p\/(\S+)$/.exec(await provider.line(/^listen \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)) ?? []
        const link = await relay(Number(listen[1]), rate)
        const proxy = spawnCLI(['proxy', '--to', `/ip4/127.0.0.1/tcp/${link.port}/p2p/${listen[2]}`, '--port', '0', '--key', join(dir, 'c'), '--quiet'])
        try {
          const local = await proxy.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
          await get(`${local}data.json`) // warm up: the dial, the pools
          const times: number[] = []
          const wire: number[] = []
          for (let i = 0; i < 3; i++) {
            const before = link.bytes()
            const got = await get(`${local}data.json`)
            if (got.size !== json.length || got.encoding != null) throw new Error(`got ${got.size} bytes (${got.encoding ?? 'identity'}), not ${json.length}`)
            times.push(got.ms)
            wire.push(link.bytes() - before)
          }
          const sse = await events(`${local}events`)
          rows.push(`| ${rate === 0 ? 'loopback' : `${rate} Mbit/s`} | ${compress ? '`--compress`' : 'no'} | ${(median(wire) / 1048576).toFixed(2)} MiB | ${median(times).toFixed(0)} ms | ${sse.median.toFixed(1)} / ${sse.max.toFixed(1)} ms |`)
          console.error(rows[rows.length - 1])
        } finally {
          await proxy.kill()
          link.server.close()
        }
      } finally {
        await provider.kill()
      }
    }
  }
} finally {
  upstream.close()
  await rm(dir, { recursive: true, force: true })
}
console.log(`10 MiB JSON (${json.length} bytes), local client asking for no coding; SSE: 40 events, 50 ms apart\n`)
console.log('| link | serve | on the wire (both ways) | time to last byte | SSE delay median / max |')
console.log('|---|---|---|---|---|')
for (const row of rows) console.log(row)
