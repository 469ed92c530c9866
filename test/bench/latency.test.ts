/**
 * The latency bench's harness works: every contender runs behind its relay at a tiny RTT, and the rows
 * have the shape `bench/run.ts` reads. Timings are not checked — benchmarks are not tests.
 */
import { expect, it } from 'vitest'
import { libp2pHTTPUnavailable } from '../../bench/libp2p-http.js'
import { LATENCY_CONTENDERS, latencyTable, runLatency } from '../../bench/latency.js'

it('runs every contender once (after a warm-up run, not logged) through a relay at a tiny RTT, in RTT units', async () => {
  const lines: string[] = []
  const rows = await runLatency({ rttMs: 2, runs: 1, warmup: 1, openRequests: 1, downloadBytes: 64 * 1024, trace: true, log: (line) => { lines.push(line) } })
  expect(rows.map(r => r.contender)).toEqual([...LATENCY_CONTENDERS])
  for (const row of rows) {
    expect(row.rttMs).toBe(2)
    if (row.contender === 'libp2p-http' && libp2pHTTPUnavailable() != null) {
      expect(row.firstRequest).toBeNaN()
      continue
    }
    // a request costs at least the relay's round trip, whatever the machine
    for (const figure of [row.openRequest, row.firstRequest, row.download1MiB]) expect(figure, row.contender).toBeGreaterThanOrEqual(1)
  }
  // each first request went through a relay, whose flights were logged
  expect(lines.filter(l => / run 1: first request \[relay :\d+\] →/.test(l))).toHaveLength(rows.filter(r => !Number.isNaN(r.firstRequest)).length)
  expect(latencyTable(rows)).toContain('| libp2phttp-stream |')
}, 120_000)
