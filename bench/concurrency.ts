/**
 * `node --import tsx bench/concurrency.ts [N] [SLEEP_MS] [-- extra proxy flags]`: N parallel requests
 * to an upstream that answers each after SLEEP_MS (default 50 × 1000 ms), first directly, then through
 * `libp2phttp serve --upstream` + `libp2phttp proxy --to` (real processes of the command, run from
 * source, on 127.0.0.1). Prints the wall time of each batch: a proxy that serialises requests shows a
 * multiple of SLEEP_MS.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnCLI } from '../test/helpers/cli.js'
import type { AddressInfo } from 'node:net'

const dash = process.argv.indexOf('--')
const args = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash)
const extra = dash < 0 ? [] : process.argv.slice(dash + 1)
const n = Number(args[0] ?? 50)
const sleep = Number(args[1] ?? 1000)

const upstream = createServer((_req, res) => { setTimeout(() => { res.end('ok') }, sleep) })
await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
const upstreamURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`

async function batch (base: string): Promise<number> {
  const start = performance.now()
  const statuses = await Promise.all(Array.from({ length: n }, async () => {
    const res = await fetch(base)
    await res.arrayBuffer()
    return res.status
  }))
  const bad = statuses.filter(s => s !== 200)
  if (bad.length > 0) throw new Error(`${bad.length} requests failed: ${bad.join(' ')}`)
  return (performance.now() - start) / 1000
}

const dir = await mkdtemp(join(tmpdir(), 'libp2phttp-concurrency-'))
const provider = spawnCLI(['serve', '--upstream', upstreamURL, '--listen', '/ip4/127.0.0.1/tcp/0', '--allow-any', '--key', join(dir, 'p')])
try {
  const to = /--to (\S+)/.exec(await provider.line(/^on the consumer: /))?.[1] ?? ''
  const proxy = spawnCLI(['proxy', '--to', to, '--port', '0', '--key', join(dir, 'c'), ...extra])
  try {
    const local = await proxy.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    await batch(upstreamURL) // warm up both paths (the first dial, the pools)
    await batch(local)
    const direct = await batch(upstreamURL)
    const through = await batch(local)
    console.log(`${n} × ${sleep} ms requests: direct ${direct.toFixed(2)} s, through serve + proxy --to ${through.toFixed(2)} s${extra.length > 0 ? ` (proxy ${extra.join(' ')})` : ''}`)
    const queued = proxy.err.filter(l => /wait for one to finish/.test(l))
    if (queued.length > 0) console.log(`proxy said: ${queued.join(' | ')}`)
  } finally {
    await proxy.kill()
  }
} finally {
  await provider.kill()
  upstream.closeAllConnections()
  upstream.close()
  await rm(dir, { recursive: true, force: true })
}
