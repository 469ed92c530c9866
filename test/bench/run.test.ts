/**
 * The bench harness works: every contender's server process starts, every scenario runs at tiny sizes,
 * the one-process set-up runs, and the targets are evaluated and printed. Timings are not checked —
 * benchmarks are not tests.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'
import { CONTENDERS } from '../../bench/contenders.js'
import { libp2pHTTPUnavailable } from '../../bench/libp2p-http.js'
import { ONE_PROCESS_CONTENDERS, ONE_PROCESS_SCENARIOS } from '../../bench/one-process.js'
import { SCENARIOS, runBench } from '../../bench/run.js'
import { TARGETS } from '../../bench/targets.js'
import type { Results } from '../../bench/run.js'

const run = promisify(execFile)

it('the smoke profile runs every contender through every scenario, both set-ups, and evaluates the targets', async () => {
  const results = await runBench({
    profile: 'smoke',
    latency: async () => ({ rttMs: 40, rows: [{ contender: 'libp2phttp-stream', openRequest: 1.1, firstRequest: NaN, download1MiB: 3 }] })
  })
  // libp2p-http runs under the pinned Node 22, for linux-x64 only
  const libp2pHTTP = libp2pHTTPUnavailable() == null
  for (const contender of CONTENDERS.filter(c => c !== 'libp2p-http' || libp2pHTTP)) {
    for (const scenario of Object.keys(SCENARIOS)) {
      // the h2 row is the native transport's h2 vs h1 comparison
      if (scenario === 'small GET c=32 over h2 (req/s)' && contender !== 'libp2phttp-native') continue
      const summary = results.results[contender]?.[scenario as keyof typeof SCENARIOS]
      expect(summary?.median, `${contender}: ${scenario}`).toBeGreaterThan(0)
    }
  }
  for (const contender of ONE_PROCESS_CONTENDERS) {
    for (const scenario of ONE_PROCESS_SCENARIOS) {
      const median = results.oneProcess?.[contender][scenario]?.median
      expect(median, `one process, ${contender}: ${scenario}`).toBeGreaterThan(0)
      expect(Number.isFinite(median), `one process, ${contender}: ${scenario}`).toBe(true)
    }
  }
  // every target has a row; every one whose figures this run takes has a finite value, and is judged
  // unless it is stated at a size the smoke run does not reach (bulk ≥ 32 MiB, RSS at 1 GiB)
  expect(results.targets.map(t => t.id)).toEqual(TARGETS.map(t => t.id))
  const taken = results.targets.filter(t => t.setUp !== 'latency' && (libp2pHTTP || !t.id.includes('libp2p-http')))
  expect(taken.length).toBeGreaterThan(20)
  for (const t of taken) {
    expect(Number.isFinite(t.value), t.id).toBe(true)
    if (TARGETS.find(target => target.id === t.id)?.atLeast == null) expect(t.status, t.id).toMatch(/^(met|missed)$/)
    else expect(t, t.id).toMatchObject({ status: 'not measured', missing: expect.stringMatching(/the target is for/) })
  }
  for (const id of ['one-process:stream-raw:cpu', 'processes:stream-raw:cpu', 'one-process:stream-raw:small-c32']) {
    expect(results.targets.find(t => t.id === id)?.status, id).toMatch(/^(met|missed)$/)
  }
  // the latency rows fed in are judged; NaN is "not measured"; the JSON keeps them
  expect(results.targets.find(t => t.id === 'latency:open-request:libp2phttp-stream')).toMatchObject({ status: 'met', value: 1.1 })
  expect(results.targets.find(t => t.id === 'latency:first-request:libp2phttp-stream')?.status).toBe('not measured')
  expect((JSON.parse(JSON.stringify(results)) as Results).targets).toHaveLength(TARGETS.length)
}, 180_000)

it('npm run bench -- --in-process prints the one-process figures and the targets table, and writes them to the JSON', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-'))
  try {
    const latency = join(dir, 'latency.json')
    await writeFile(latency, JSON.stringify({ rttMs: 40, rows: [{ contender: 'libp2phttp-native', openRequest: 1.1, firstRequest: 2.2, download1MiB: null }] }))
    const json = join(dir, 'out.json')
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--in-process', '--latency-json', latency, '--json', json], { timeout: 120_000 })
    expect(stdout).toMatch(/^both ends in one process \(the same two libp2p nodes\):$/m)
    expect(stdout).not.toMatch(/servers in their own processes/)
    expect(stdout).toMatch(/^(met|MISSED) +\d+\.\d{3} +≥ 1\.00× +one process: small GET c=32, streams \/ raw stream$/m)
    expect(stdout).toMatch(/^(met|MISSED) +\d+\.\d{3} +≤ 1\.00× +one process: CPU per request \(client \+ server\), streams \/ raw stream$/m)
    expect(stdout).toMatch(/^not measured +— +≥ 1\.00× +bench: small GET c=1, streams \/ raw stream \[processes set-up not run\]$/m)
    expect(stdout).toMatch(/^not measured +\d+\.\d{3} +≥ 0\.95× +one process: download, streams \/ raw stream \[transfers of 0\.25 MiB; the target is for 32 MiB or more\]$/m)
    expect(stdout).toMatch(/^met +2\.200 +≤ 3\.50 RTT +latency: first request to a peer not yet connected, native$/m)
    const written = JSON.parse(await readFile(json, 'utf8')) as Results
    expect(written.targets).toHaveLength(TARGETS.length)
    expect(written.latency?.rttMs).toBe(40)
    expect(written.oneProcess?.['libp2phttp-stream']['download (MB/s)']?.median).toBeGreaterThan(0)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}, 180_000)
