/**
 * The probe runs: a server process, a client, the figures printed. Timings are not checked.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const run = promisify(execFile)

it('probes a contender and prints its rate and CPU per operation', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/probe.ts', 'libp2phttp-stream', '--requests', '20', '--repeats', '1', '--negotiation', 'full'], { timeout: 60_000 })
  expect(stdout).toMatch(/^libp2phttp-stream small c=1, 20 per repeat$/m)
  expect(stdout).toMatch(/^ {2}\d+ req\/s {3}CPU per request: client \d+ µs, server \d+ µs$/m)
}, 90_000)

it('refuses an unknown contender', async () => {
  await expect(run(process.execPath, ['--import', 'tsx', 'bench/probe.ts', 'nope'], { timeout: 30_000 })).rejects.toMatchObject({ stderr: expect.stringMatching(/usage: npm run bench:probe/) })
}, 60_000)
