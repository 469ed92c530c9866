/**
 * The package as a user installs it (issue 15 item 7): `npm pack` (its `prepack` builds), then
 * `npm install -g <tarball> --prefix <tmp>` and `npm install <tarball>` in a new project, on this Node
 * (20 in CI), against the registry (`--prefer-offline`: the npm cache when it has the packages). No
 * EBADENGINE: the command's libp2p stack, whose p-retry 8 wants Node 22, is bundled into dist/cli.js.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const run = promisify(execFile)
let dir: string
let tarball: string
let upstream: Server

/** Run a command; resolves with its exit code and output (stderr included, where npm warns). */
async function sh (file: string, args: string[], cwd = dir): Promise<{ code: number, out: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, timeout: 90_000, maxBuffer: 16 << 20 })
    return { code: 0, out: `${stdout}${stderr}` }
  } catch (err) {
    const e = err as { code?: number, stdout?: string, stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-install-'))
  const packed = await sh('npm', ['pack', '--pack-destination', dir, '--silent'], process.cwd())
  expect(packed.code, packed.out).toBe(0)
  tarball = join(dir, (await readdir(dir)).find(f => f.endsWith('.tgz')) ?? '')
  upstream = createServer((req, res) => { res.end(`hello ${req.url ?? ''} from ${String(req.headers['x-libp2p-peer-id'])}\n`) })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
}, 120_000)

afterAll(async () => {
  upstream?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('installing the tarball (issue 15 item 7)', () => {
  it('npm install -g: no EBADENGINE, and the installed command serves and fetches', async () => {
    const installed = await sh('npm', ['install', '-g', tarball, '--prefix', join(dir, 'global'), '--prefer-offline', '--no-audit', '--no-fund'])
    expect(installed.code, installed.out).toBe(0)
    expect(installed.out).not.toContain('EBADENGINE')
    const bin = join(dir, 'global', 'bin', 'libp2phttp')
    expect((await sh(bin, ['--help'])).out).toContain('libp2phttp serve')
    const consumer = (await sh(bin, ['id', '--key', join(dir, 'c')])).out.trim().split('\n')[0]
    const { spawn } = await import('node:child_process')
    const serve = spawn(bin, ['serve', '--upstream', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumer, '--key', join(dir, 'p')], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const to = await new Promise<string>((resolve, reject) => {
        let out = ''
        serve.stdout.on('data', (c: Buffer) => { out += c.toString(); const m = /--to (\S+)/.exec(out); if (m != null) resolve(m[1]) })
        serve.once('exit', code => { reject(new Error(`serve exited ${String(code)}`)) })
      })
      const fetched = await sh(bin, ['fetch', '--key', join(dir, 'c'), `multiaddr:${to}/http-path/installed`])
      expect(fetched.code, fetched.out).toBe(0)
      expect(fetched.out).toContain(`hello /installed from ${consumer}`)
    } finally {
      serve.kill('SIGKILL')
    }
  }, 90_000)

  it('the package is ESM only: no CommonJS build or types in the tarball, one entry for import and require', async () => {
    const files = (await sh('tar', ['-tzf', tarball])).out.split('\n')
    expect(files).toContain('package/dist/index.js')
    expect(files).toContain('package/dist/index.d.ts')
    expect(files.filter(f => /\.c[jt]s$|\.d\.cts$/.test(f) && f.startsWith('package/dist/'))).toEqual([])
  })

  it('npm install in a project: no EBADENGINE; import works, and require() loads the same ESM module (Node require(esm)), refused with ERR_REQUIRE_ESM where require(esm) is off', async () => {
    const project = join(dir, 'project')
    await sh('mkdir', ['-p', project])
    await writeFile(join(project, 'package.json'), '{ "name": "user", "version": "1.0.0", "private": true }\n')
    const installed = await sh('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project)
    expect(installed.code, installed.out).toBe(0)
    expect(installed.out).not.toContain('EBADENGINE')
    const esm = await sh(process.execPath, ['--input-type=module', '-e', "import { createHTTPHost } from 'libp2phttp'; const h = await createHTTPHost(); console.log(typeof h.fetch); await h.close()"], project)
    expect(esm.out.trim()).toBe('function')
    // Node 20.19+ and 22.12+ load ES modules from require(): the one ESM build, not a second copy
    const cjs = await sh(process.execPath, ['-e', "const r = require('libp2phttp'); import('libp2phttp').then(m => console.log('same', typeof r.createHTTPHost, r.createHTTPHost === m.createHTTPHost))"], project)
    expect(cjs.code, cjs.out).toBe(0)
    expect(cjs.out).toContain('same function true')
    // what README states for a Node without require(esm) (20.18, or the flag turned off)
    const off = await sh(process.execPath, ['--no-experimental-require-module', '-e', "require('libp2phttp')"], project)
    expect(off.code).not.toBe(0)
    expect(off.out).toContain('ERR_REQUIRE_ESM')
    // the command's libp2p stack is in dist/cli.js, not installed for the library's users
    expect((await readdir(join(project, 'node_modules'))).includes('libp2p')).toBe(false)
  }, 90_000)
  it('a bundler building the project for browsers gets the browser build (export condition "browser"), with no Node import (issue 20)', async () => {
    const project = join(dir, 'project') // installed by the test before
    const { build } = await import('esbuild')
    const result = await build({
      stdin: { contents: "import { createHTTPHost, proxyTo } from 'libp2phttp'; console.log(createHTTPHost, proxyTo)", resolveDir: project, loader: 'js' },
      absWorkingDir: project,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent'
    })
    const code = result.outputFiles[0].text
    expect(code).toContain('ERR_NOT_IN_BROWSER') // the browser entry's Node-only stubs
    expect(code).not.toMatch(/from\s*["']node:|import\(\s*["']node:/)
  }, 30_000)
})
