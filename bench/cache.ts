/**
 * `node --import tsx bench/cache.ts [N] [UPSTREAM_MS]`: N sequential GETs (default 200) through
 * `serve --upstream` + `proxy --to --cache` (real processes of the command, run from source, 127.0.0.1)
 * of an answer the upstream marks `Cache-Control: max-age=60`, and N of one it marks `no-store`; the
 * upstream takes UPSTREAM_MS (default 0) to answer. Prints each one's latency (median, p99) and how many
 * requests reached the upstream.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCLI, spawnCLI } from '../test/helpers/cli.js'
import type { AddressInfo } from 'node:net'

const n = Number(process.argv[2] ?? 200)
const delay = Number(process.argv[3] ?? 0)
const body = JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => ({ id: i, name: `item ${i}` })) })
const reached = new Map<string, number>()
const upstream = createServer((req, res) => {
  reached.set(req.url ?? '', (reached.get(req.url ?? '') ?? 0) + 1)
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': req.url === '/fresh' ? 'max-age=60' : 'no-store' })
    res.end(body)
  }, delay)
})
await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))

async function get (url: string): Promise<{ ms: number, status: string }> {
  const start = performance.now()
  return await new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      res.resume()
      res.on('end', () => { resolve({ ms: performance.now() - start, status: String(res.headers['cache-status'] ?? '') }) })
    }).on('error', reject).end()
  })
}
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]

const dir = await mkdtemp(join(tmpdir(), 'libp2phttp-cache-'))
try {
  const consumerId = (await runCLI(['id', '--key', join(dir, 'c')])).out[0]
  const provider = spawnCLI(['serve', '--upstream', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, '--key', join(dir, 'p'), '--quiet'])
  try {
    const to = /--to (\S+)/.exec(await provider.line(/^on the consumer: /))?.[1] ?? ''
    const proxy = spawnCLI(['proxy', '--to', to, '--port', '0', '--key', join(dir, 'c'), '--cache', '--quiet'])
    try {
      const local = await proxy.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      await get(`${local}warm-up`)
      reached.clear()
      const rows: string[] = []
      for (const path of ['fresh', 'no-store']) {
        const times: number[] = []
        const statuses = new Map<string, number>()
        for (let i = 0; i < n; i++) {
          const got = await get(`${local}${path}`)
          times.push(got.ms)
          const outcome = /; (hit|fwd=\w+)/.exec(got.status)?.[1] ?? got.status
          statuses.set(outcome, (statuses.get(outcome) ?? 0) + 1)
        }
        rows.push(`| ${path === 'fresh' ? '`max-age=60`' : '`no-store`'} | ${n} | ${reached.get(`/${path}`) ?? 0} | ${[...statuses].map(([s, c]) => `${s} ×${c}`).join(', ')} | ${pct(times, 0.5).toFixed(2)} ms | ${pct(times, 0.99).toFixed(2)} ms |`)
      }
      console.log(`proxy --to --cache, ${n} sequential GETs each, upstream answers after ${delay} ms, ${body.length}-byte JSON\n`)
      console.log('| answer | requests | reached the upstream | Cache-Status | median | p99 |')
      console.log('|---|---|---|---|---|---|')
      for (const row of rows) console.log(row)
    } finally {
      await proxy.kill()
    }
  } finally {
    await provider.kill()
  }
} finally {
  upstream.close()
  await rm(dir, { recursive: true, force: true })
}
