/**
 * The bench harness works: every contender's server process starts, every scenario runs at tiny sizes,
 * and the ratios are computed. Timings are not checked — benchmarks are not tests.
 */
import { expect, it } from 'vitest'
import { CONTENDERS } from '../../bench/contenders.js'
import { libp2pHTTPUnavailable } from '../../bench/libp2p-http.js'
import { SCENARIOS, runBench } from '../../bench/run.js'

it('the smoke profile runs every contender through every scenario', async () => {
  const results = await runBench({ profile: 'smoke' })
  // libp2p-http runs under the pinned Node 22, for linux-x64 only
  for (const contender of CONTENDERS.filter(c => c !== 'libp2p-http' || libp2pHTTPUnavailable() == null)) {
    for (const scenario of Object.keys(SCENARIOS)) {
      // the h2 row is the native transport's h2 vs h1 comparison
      if (scenario === 'small GET c=32 over h2 (req/s)' && contender !== 'libp2phttp-native') continue
      const summary = results.results[contender]?.[scenario as keyof typeof SCENARIOS]
      expect(summary?.median, `${contender}: ${scenario}`).toBeGreaterThan(0)
    }
  }
  expect(results.ratios.map(r => r.name)).toContain('stream small GET c=1 (req/s) / raw stream')
  expect(results.ratios.map(r => r.name)).toContain('native small GET c=32: h2 / HTTP/1.1')
  expect(results.ratios.every(r => Number.isFinite(r.value))).toBe(true)
}, 120_000)
