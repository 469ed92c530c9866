/**
 * `npm run bench [-- --quick] [--json FILE] [--only a,b] [--in-process | --no-in-process]
 * [--latency-json FILE]`: two set-ups on 127.0.0.1, then the targets evaluated (`bench/targets.ts`):
 * - processes: every contender through every scenario, each server in its own process;
 * - one process: raw stream RPC and libp2phttp on the same two nodes in this process
 *   (`bench/one-process.ts`); `--in-process` runs only this one, `--no-in-process` or `--only` skip it.
 * Prints tables of medians (min–max) and the targets (met / MISSED / not measured, with the ratio);
 * writes everything as JSON (default `bench/results/latest.json`). `--latency-json` reads a latency
 * run (`runLatency`'s rows or `{ rttMs, rows }`, see `parseLatencyRun`) for the round-trip targets.
 */
import '../examples/polyfill.js'
import './production.js'
import { fork } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CONTENDERS, connect } from './contenders.js'
import { forkLibp2pHTTP, libp2pHTTPUnavailable } from './libp2p-http.js'
import { runLatency } from './latency.js'
import { ONE_PROCESS_CONTENDERS, ONE_PROCESS_SCENARIOS, runOneProcess } from './one-process.js'
import { PROFILES, bulk, cpuPer10k, inRounds, serverRSS, smallGets } from './scenarios.js'
import { summarize } from './stats.js'
import { evaluateTargets, parseLatencyRun, targetsTable } from './targets.js'
import type { Client, Contender } from './contenders.js'
import type { OneProcessResults } from './one-process.js'
import type { Profile, ServerProbe } from './scenarios.js'
import type { FromServer, ToServer } from './server.js'
import type { Summary } from './stats.js'
import type { LatencyRow, LatencyRun, TargetRow } from './targets.js'

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
  /** The processes set-up (empty when only the one-process set-up ran). */
  results: Partial<Record<Contender, Partial<Record<Scenario, Summary>>>>
  /** The one-process set-up, when it ran. */
  oneProcess?: OneProcessResults
  /** The latency run fed in (`--latency-json`, or `BenchOptions.latency`). */
  latency?: LatencyRun
  /** Every target of `bench/targets.ts`, evaluated against the figures above. */
  targets: TargetRow[]
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
    const samples = await inRounds(of, times, async r => await run(r.client, r))
    for (const [{ contender }, values] of samples) {
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
  // CPU of both ends per request, in rounds like the rates: the profile's requests split over its repeats
  const perRound = Math.max(1, Math.round(profile.cpuRequests / profile.repeats))
  await rounds('CPU s per 10k requests', async (client, r) => await cpuPer10k(client, r.server.probe, perRound))
  return out
}

type Figures = Partial<Record<string, Partial<Record<Scenario, Summary>>>>

/** A table of medians (min–max): a row per scenario, a column per contender. */
function figuresTable (figures: Figures, contenders: readonly string[], scenarios: readonly Scenario[]): string {
  const f = (x: number): string => x >= 100 ? x.toFixed(0) : x.toFixed(2)
  const rows: string[][] = [['scenario', ...contenders]]
  for (const s of scenarios) {
    rows.push([s, ...contenders.map(c => {
      const v = figures[c]?.[s]
      if (v == null) return '—'
      return v.samples.length > 1 ? `${f(v.median)} (${f(v.min)}–${f(v.max)})` : f(v.median)
    })])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  const lines = rows.map(r => r.map((cell, i) => cell.padEnd(widths[i])).join('  '))
  lines.splice(1, 0, widths.map(w => '-'.repeat(w)).join('  '))
  return lines.join('\n')
}

/** Everything `npm run bench` prints: each set-up's figures, then the targets. */
export function report (results: Results): string {
  const parts: string[] = []
  const contenders = CONTENDERS.filter(c => results.results[c] != null)
  if (contenders.length > 0) parts.push('servers in their own processes:', figuresTable(results.results, contenders, Object.keys(SCENARIOS) as Scenario[]))
  if (results.oneProcess != null) parts.push('both ends in one process (the same two libp2p nodes):', figuresTable(results.oneProcess, ONE_PROCESS_CONTENDERS, ONE_PROCESS_SCENARIOS))
  parts.push('targets:', targetsTable(results.targets, results.latency))
  return parts.join('\n\n')
}

export interface BenchOptions {
  /** @default 'full' */
  profile?: keyof typeof PROFILES
  /** The processes set-up's contenders. @default every contender that runs here */
  only?: Contender[]
  /** Which set-ups run. @default both */
  setUps?: { processes?: boolean, oneProcess?: boolean }
  /**
   * The round-trip scenario's figures, for the latency targets (else those are `not measured`):
   * e.g. `async () => await runLatency({ rttMs: 40 })` (`bench/latency.ts`), or `{ rttMs, rows }`.
   */
  latency?: () => Promise<LatencyRun | LatencyRow[]>
  log?: (line: string) => void
}

/** Run the bench; resolves with the results (also used by the test suite's smoke run). */
export async function runBench (options: BenchOptions = {}): Promise<Results> {
  const profileName = options.profile ?? 'full'
  const log = options.log ?? (() => {})
  const results: Results = { profile: profileName, node: process.version, date: new Date().toISOString(), results: {}, targets: [] }
  if (options.setUps?.processes !== false) results.results = await runProcesses(options, log)
  if (options.setUps?.oneProcess !== false) {
    log('one process: raw stream and libp2phttp on the same two nodes…')
    results.oneProcess = await runOneProcess(PROFILES[profileName], log)
  }
  if (options.latency != null) results.latency = parseLatencyRun(await options.latency())
  const profile = PROFILES[profileName]
  results.targets = evaluateTargets({
    processes: options.setUps?.processes === false ? undefined : results.results,
    oneProcess: results.oneProcess,
    latency: results.latency,
    sizes: { processes: { bulk: profile.bulk, rss: profile.rssBytes }, 'one-process': { bulk: profile.bulk } }
  })
  return results
}

/** The processes set-up: each contender's server forked, its client here. */
async function runProcesses (options: BenchOptions, log: (line: string) => void): Promise<Results['results']> {
  const profileName = options.profile ?? 'full'
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
    return await measureAll(running, PROFILES[profileName], log)
  } finally {
    for (const { client, h2Client, server } of running) {
      await client.close().catch(() => {})
      await h2Client?.close().catch(() => {})
      await server.stop()
    }
  }
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  const value = (flag: string): string | undefined => { const i = args.indexOf(flag); return i === -1 ? undefined : args[i + 1] }
  const profile = args.includes('--smoke') ? 'smoke' : args.includes('--quick') ? 'quick' : 'full'
  const only = value('--only')?.split(',') as Contender[] | undefined
  const unknown = only?.filter(c => !CONTENDERS.includes(c))
  if (unknown != null && unknown.length > 0) throw new Error(`unknown contender ${unknown.join(', ')}: one of ${CONTENDERS.join(', ')}`)
  const setUps = {
    processes: !args.includes('--in-process'),
    oneProcess: !args.includes('--no-in-process') && (only == null || args.includes('--in-process'))
  }
  const latencyFile = value('--latency-json')
  // The round-trip targets come from a latency run (RTT 40 ms, ~25 s), part of every run unless
  // --no-latency, --only (without --latency) or a saved run (--latency-json) says otherwise.
  const runsLatency = args.includes('--latency') || (only == null && !args.includes('--no-latency') && !args.includes('--in-process'))
  const latency = latencyFile != null
    ? async (): Promise<LatencyRun> => parseLatencyRun(JSON.parse(await readFile(latencyFile, 'utf8')))
    : runsLatency ? async () => await runLatency({ rttMs: 40, log: (line) => { console.error(line) } }) : undefined
  const results = await runBench({ profile, only, setUps, latency, log: (line) => { console.error(line) } })
  console.log(report(results))
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
