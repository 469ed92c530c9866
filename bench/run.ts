/**
 * `npm run bench [-- --quick] [--json FILE] [--only a,b]`: every contender through every scenario on
 * 127.0.0.1, each server in its own process, then a table of medians (min–max) and the ratios the
 * project targets, measured in the same run. Writes the results as JSON (default
 * `bench/results/latest.json`).
 */
import '../examples/polyfill.js'
import './production.js'
import { fork } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CONTENDERS, connect } from './contenders.js'
import { forkLibp2pHTTP, libp2pHTTPUnavailable } from './libp2p-http.js'
import { PROFILES, bulk, cpuPer10k, serverRSS, smallGets } from './scenarios.js'
import { summarize } from './stats.js'
import type { Client, Contender } from './contenders.js'
import type { Profile, ServerProbe } from './scenarios.js'
import type { FromServer, ToServer } from './server.js'
import type { Summary } from './stats.js'

const here = dirname(fileURLToPath(import.meta.url))

export const SCENARIOS = {
  'small GET c=1 (req/s)': 'higher',
  'small GET c=32 (req/s)': 'higher',
  /** libp2phttp-native only: the same server, our client with `http2: true` (the row above is HTTP/1.1, the default). */
  'small GET c=32 over h2 (req/s)': 'higher',
  'download (MB/s)': 'higher',
  'upload (MB/s)': 'higher',
  'first byte (ms)': 'lower',
  'server idle RSS (MiB)': 'lower',
  'server peak RSS while streaming (MiB)': 'lower',
  'CPU s per 10k requests': 'lower'
} as const
export type Scenario = keyof typeof SCENARIOS

export interface Results {
  profile: string
  node: string
  date: string
  results: Partial<Record<Contender, Partial<Record<Scenario, Summary>>>>
  ratios: Ratio[]
}

export interface Ratio {
  name: string
  value: number
  target: string
  met: boolean
}

/** Fork the server of `contender`; resolves once it listens. */
export async function startServer (contender: Contender): Promise<{ addr: string, ca?: string, probe: ServerProbe, stop: () => Promise<void> }> {
  const child = contender === 'libp2p-http'
    ? await forkLibp2pHTTP('server')
    : fork(join(here, 'server.ts'), [contender], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiters: Array<{ resolve: (message: FromServer) => void, reject: (err: Error) => void }> = []
  let exited: Error | undefined
  child.on('message', (message: FromServer) => { waiters.shift()?.resolve(message) })
  child.once('exit', (code) => {
    exited = new Error(`the ${contender} server exited (${String(code)})`)
    for (const waiter of waiters.splice(0)) waiter.reject(exited)
  })
  const next = async (): Promise<FromServer> => await new Promise((resolve, reject) => {
    if (exited != null) reject(exited)
    else waiters.push({ resolve, reject })
  })
  const ready = await next()
  if (ready.type !== 'ready') throw new Error(`unexpected message from the ${contender} server`)
  const ask = (message: ToServer): void => { child.send(message) }
  return {
    addr: ready.addr,
    ca: ready.ca,
    probe: {
      usage: async () => {
        const answer = next()
        ask({ type: 'usage' })
        const message = await answer
        if (message.type !== 'usage') throw new Error('unexpected answer')
        return message
      },
      profile: async (action) => {
        const answer = next()
        ask(action === 'start' ? { type: 'profile-start' } : { type: 'profile-stop', file: action.file })
        if ((await answer).type !== 'profiled') throw new Error('unexpected answer')
      }
    },
    stop: async () => {
      const exited = new Promise(resolve => child.once('exit', resolve))
      ask({ type: 'stop' })
      await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 5000))])
      child.kill()
    }
  }
}

interface Running {
  contender: Contender
  client: Client
  /** libp2phttp-native: a second client that speaks h2 (`http2: true`), for the h2 vs h1 row. */
  h2Client?: Client
  server: Awaited<ReturnType<typeof startServer>>
}

/**
 * Every scenario's repeats are taken in rounds: one sample of each contender per round, in an order
 * rotated from round to round. A change in the machine's load during the run then spreads over all
 * contenders instead of landing on whichever was measured at that moment, so the ratios compare like
 * with like.
 */
async function measureAll (running: Running[], profile: Profile, log: (line: string) => void): Promise<Results['results']> {
  const out: Results['results'] = {}
  for (const { contender } of running) out[contender] = {}
  const rounds = async (scenario: Scenario, run: (client: Client, r: Running) => Promise<number>, times = profile.repeats, of = running): Promise<void> => {
    const samples = new Map<Contender, number[]>(of.map(r => [r.contender, []]))
    for (let i = 0; i < times; i++) {
      for (let j = 0; j < of.length; j++) {
        const r = of[(i + j) % of.length]
        samples.get(r.contender)?.push(await run(r.client, r))
      }
    }
    for (const [contender, values] of samples) {
      const summary = summarize(values)
      ;(out[contender] as Partial<Record<Scenario, Summary>>)[scenario] = summary
      log(`  ${contender}: ${scenario} ${summary.median.toFixed(2)}`)
    }
  }
  await rounds('small GET c=1 (req/s)', async (client) => await smallGets(client, profile.requests, 1))
  // h2 vs HTTP/1.1 on the native transport: the two clients alternate within each round
  const native = running.filter(r => r.h2Client != null)
  await rounds('small GET c=32 (req/s)', async (client) => await smallGets(client, profile.requests, 32))
  await rounds('small GET c=32 over h2 (req/s)', async (_client, r) => await smallGets(r.h2Client as Client, profile.requests, 32), profile.repeats, native)
  await rounds('download (MB/s)', async (client) => await bulk(client, 'down', profile.bulk))
  await rounds('upload (MB/s)', async (client) => await bulk(client, 'up', profile.bulk))
  await rounds('first byte (ms)', async (client) => await client.firstByte(), profile.firstBytes)
  for (const { contender, client, server } of running) {
    const rss = await serverRSS(client, server.probe, profile.rssBytes)
    const results = out[contender] as Partial<Record<Scenario, Summary>>
    results['server idle RSS (MiB)'] = summarize([rss.idle])
    results['server peak RSS while streaming (MiB)'] = summarize([rss.peak])
    log(`  ${contender}: server RSS idle ${rss.idle.toFixed(0)} MiB, peak ${rss.peak.toFixed(0)} MiB`)
  }
  for (const { contender, client, server } of running) {
    const cpu = await cpuPer10k(client, server.probe, profile.cpuRequests)
    ;(out[contender] as Partial<Record<Scenario, Summary>>)['CPU s per 10k requests'] = summarize([cpu])
    log(`  ${contender}: CPU s per 10k requests ${cpu.toFixed(2)}`)
  }
  return out
}

function ratios (r: Results['results']): Ratio[] {
  const out: Ratio[] = []
  const m = (c: Contender, s: Scenario): number | undefined => r[c]?.[s]?.median
  const add = (name: string, a: number | undefined, b: number | undefined, target: number, kind: '≥' | '≤'): void => {
    if (a == null || b == null) return
    const value = a / b
    out.push({ name, value, target: `${kind} ${target}`, met: kind === '≥' ? value >= target : value <= target })
  }
  for (const s of ['small GET c=1 (req/s)', 'small GET c=32 (req/s)'] as const) {
    add(`stream ${s} / raw stream`, m('libp2phttp-stream', s), m('raw-stream', s), 1.0, '≥')
    add(`stream ${s} / @libp2p/http`, m('libp2phttp-stream', s), m('libp2p-http', s), 1.6, '≥')
  }
  for (const s of ['download (MB/s)', 'upload (MB/s)'] as const) {
    add(`stream ${s} / raw stream`, m('libp2phttp-stream', s), m('raw-stream', s), 0.95, '≥')
    add(`stream ${s} / @libp2p/http`, m('libp2phttp-stream', s), m('libp2p-http', s), 1, '≥')
  }
  // h2 is opt-in (issue 21): this says whether it still costs requests per second
  add('native small GET c=32: h2 / HTTP/1.1', m('libp2phttp-native', 'small GET c=32 over h2 (req/s)'), m('libp2phttp-native', 'small GET c=32 (req/s)'), 1.0, '≥')
  add('stream first byte / raw stream', m('libp2phttp-stream', 'first byte (ms)'), m('raw-stream', 'first byte (ms)'), 1.2, '≤')
  for (const [s, better] of Object.entries(SCENARIOS) as Array<[Scenario, 'higher' | 'lower']>) {
    if (s === 'server idle RSS (MiB)' || s === 'small GET c=32 over h2 (req/s)') continue
    // "≥ 0.95× node:https" on every scenario: for lower-is-better ones, node:https / native ≥ 0.95
    if (better === 'higher') add(`native ${s} / node:https`, m('libp2phttp-native', s), m('node-https', s), 0.95, '≥')
    else add(`node:https ${s} / native`, m('node-https', s), m('libp2phttp-native', s), 0.95, '≥')
  }
  for (const c of ['libp2phttp-stream', 'libp2phttp-native'] as const) {
    const idle = m(c, 'server idle RSS (MiB)')
    const peak = m(c, 'server peak RSS while streaming (MiB)')
    if (idle != null && peak != null) add(`${c} peak RSS / (1.2 × idle + 64 MiB)`, peak, 1.2 * idle + 64, 1, '≤')
  }
  return out
}

function table (results: Results): string {
  const contenders = CONTENDERS.filter(c => results.results[c] != null)
  const rows: string[][] = [['scenario', ...contenders]]
  for (const s of Object.keys(SCENARIOS) as Scenario[]) {
    rows.push([s, ...contenders.map(c => {
      const v = results.results[c]?.[s]
      if (v == null) return '—'
      const f = (x: number): string => x >= 100 ? x.toFixed(0) : x.toFixed(2)
      return v.samples.length > 1 ? `${f(v.median)} (${f(v.min)}–${f(v.max)})` : f(v.median)
    })])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  const lines = rows.map(r => r.map((cell, i) => cell.padEnd(widths[i])).join('  '))
  lines.splice(1, 0, widths.map(w => '-'.repeat(w)).join('  '))
  lines.push('', 'ratios (same run):')
  for (const r of results.ratios) {
    lines.push(`  ${r.met ? 'met ' : 'MISS'}  ${r.value.toFixed(2)} (target ${r.target})  ${r.name}`)
  }
  return lines.join('\n')
}

export interface BenchOptions {
  profile?: keyof typeof PROFILES
  only?: Contender[]
  log?: (line: string) => void
}

/** Run the bench; resolves with the results (also used by the test suite's smoke run). */
export async function runBench (options: BenchOptions = {}): Promise<Results> {
  const profileName = options.profile ?? 'full'
  const log = options.log ?? (() => {})
  const results: Results = { profile: profileName, node: process.version, date: new Date().toISOString(), results: {}, ratios: [] }
  const running: Running[] = []
  try {
    const unavailable = libp2pHTTPUnavailable()
    if (options.only == null && unavailable != null) log(`libp2p-http left out: ${unavailable}`)
    for (const contender of options.only ?? CONTENDERS.filter(c => c !== 'libp2p-http' || unavailable == null)) {
      log(`starting ${contender}…`)
      const server = await startServer(contender)
      const h2Client = contender === 'libp2phttp-native' ? await connect(contender, server.addr, server.ca, { http2: true }) : undefined
      running.push({ contender, server, client: await connect(contender, server.addr, server.ca), h2Client })
      // warm up: connections, JIT, TLS sessions
      await smallGets(running[running.length - 1].client, PROFILES[profileName].warmup, 4)
      if (h2Client != null) await smallGets(h2Client, PROFILES[profileName].warmup, 4)
    }
    results.results = await measureAll(running, PROFILES[profileName], log)
  } finally {
    for (const { client, h2Client, server } of running) {
      await client.close().catch(() => {})
      await h2Client?.close().catch(() => {})
      await server.stop()
    }
  }
  results.ratios = ratios(results.results)
  return results
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  const value = (flag: string): string | undefined => { const i = args.indexOf(flag); return i === -1 ? undefined : args[i + 1] }
  const profile = args.includes('--smoke') ? 'smoke' : args.includes('--quick') ? 'quick' : 'full'
  const only = value('--only')?.split(',') as Contender[] | undefined
  const results = await runBench({ profile, only, log: (line) => { console.error(line) } })
  console.log(table(results))
  const file = value('--json') ?? join(here, 'results', 'latest.json')
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`)
  console.log(`\nresults: ${file} (profile ${profile}, Node ${process.version})`)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
