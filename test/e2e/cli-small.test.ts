/**
 * Small things people expect of the command (issue 15, item 6): `--version` (from a checkout and from
 * the built file), `gateway` printing its own peer id, `proxy --to` without `--protocol` warning at
 * start-up when the provider cannot be reached, `--json` meaning every line is JSON, and `serve
 * --config` suggesting a port per service. Real processes of the command.
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { createServer as createTCPServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCLI, spawnCLI } from '../helpers/cli.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const run = promisify(execFile)
const PEER = '12D3KooWE3bfpUxxV7vusvSvg3W8RpJgcZLiqfaXRr4dq1BYLMzd'

let dir: string
let upstream: Server
let upstreamURL: string
/** A port nothing listens on. */
let closedPort: number

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-small-'))
  upstream = createServer((_req, res) => { res.end('hello') })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  upstreamURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  const probe = createTCPServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  closedPort = (probe.address() as AddressInfo).port
  await new Promise(resolve => probe.close(resolve))
})

afterAll(async () => {
  await new Promise(resolve => upstream?.close(resolve))
  if (dir != null) await rm(dir, { recursive: true, force: true })
})

describe('--version', () => {
  it('from a checkout (tsx): the version in package.json', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string }
    const { code, out } = await runCLI(['--version'])
    expect(code).toBe(0)
    expect(out.filter(l => l !== '')).toEqual([`libp2phttp ${version}`])
  })

  it('from the built command (dist/cli.js beside package.json)', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string }
    // the package as installed: package.json, dist/cli.js (bundled as tsup does: dependencies kept external), node_modules
    const pkg = join(dir, 'pkg')
    await mkdir(join(pkg, 'dist'), { recursive: true })
    await copyFile('package.json', join(pkg, 'package.json'))
    await symlink(resolve('node_modules'), join(pkg, 'node_modules'))
    await run(resolve('node_modules/.bin/esbuild'), ['src/cli/main.ts', '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external', `--outfile=${join(pkg, 'dist', 'cli.js')}`])
    const { stdout } = await run(process.execPath, [join(pkg, 'dist', 'cli.js'), '--version'], { cwd: tmpdir() })
    expect(stdout).toBe(`libp2phttp ${version}\n`)
  }, 60_000)
})

describe('start-up notices', () => {
  it('gateway prints its own peer id (the provider must --allow it), as proxy does', async () => {
    const key = join(dir, 'gateway-key')
    const id = (await runCLI(['id', '--key', key])).out[0]
    const gw = spawnCLI(['gateway', '--port', '0', '--key', key])
    try {
      expect(await gw.line(/^this peer: /, { stream: 'err' })).toBe(`this peer: ${id} (the provider must --allow it)`)
    } finally {
      await gw.kill()
    }
  })

  it('proxy --to without --protocol warns at start-up when the provider cannot be reached', async () => {
    const to = `/ip4/127.0.0.1/tcp/${closedPort}/p2p/${PEER}`
    const proxy = spawnCLI(['proxy', '--to', to, '--port', '0', '--key', join(dir, 'proxy-key')])
    try {
      await proxy.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      expect(await proxy.line(new RegExp(`^warn: cannot reach ${to.replace(/\//g, '\\/')} yet: `), { stream: 'err' })).toMatch(/ECONNREFUSED|could not dial/)
      // no claim that it is forwarding
      expect(proxy.err.filter(l => l.startsWith('forwarding to'))).toEqual([])
    } finally {
      await proxy.kill()
    }
  })
})

describe('--json: every line on stdout and stderr is JSON', () => {
  /** Each line of `p`'s output, parsed (a line that is not JSON fails the test, named). */
  const parsed = (name: string, p: CLIProcess): Array<Record<string, unknown>> =>
    [...p.out.map(l => ['stdout', l]), ...p.err.map(l => ['stderr', l])].filter(([, l]) => l !== '').map(([stream, l]) => {
      try {
        return JSON.parse(l) as Record<string, unknown>
      } catch {
        throw new Error(`${name} ${stream}: not JSON: ${l}`)
      }
    })

  it('serve, proxy and gateway: start-up, a request, a warning, shutdown', async () => {
    const consumerKey = join(dir, 'json-consumer')
    // --allow-any: a warning
    const serve = spawnCLI(['serve', '--json', '--upstream', upstreamURL, '--allow-any', '--listen', '/ip4/127.0.0.1/tcp/0', '--key', join(dir, 'json-provider')])
    let proxy: CLIProcess | undefined
    let gateway: CLIProcess | undefined
    try {
      const consumer = JSON.parse(await serve.line(/"consumer":/)) as { consumer: string }
      const to = /--to (\S+)/.exec(consumer.consumer)?.[1] ?? ''
      const providerId = (JSON.parse(await serve.line(/"peer":/)) as { peer: string }).peer
      // --bind 0.0.0.0: a warning
      proxy = spawnCLI(['proxy', '--json', '--to', to, '--port', '0', '--bind', '0.0.0.0', '--key', consumerKey])
      gateway = spawnCLI(['gateway', '--json', '--port', '0', '--connect', to, '--key', consumerKey])
      const url = (JSON.parse(await proxy.line(/"url":/)) as { url: string }).url.replace('0.0.0.0', '127.0.0.1')
      const base = (JSON.parse(await gateway.line(/"url":/)) as { url: string }).url
      expect(await (await fetch(url)).text()).toBe('hello')
      expect(await (await fetch(`${base}${providerId}/`)).text()).toBe('hello')
      await serve.line(/"msg":"request"/, { stream: 'err' })
      await proxy.line(/"msg":"request"/, { stream: 'err' })
      await gateway.line(/"msg":"request"/, { stream: 'err' })
      for (const p of [serve, proxy, gateway]) p.proc.kill('SIGTERM')
      expect(await Promise.all([serve.exited(), proxy.exited(), gateway.exited()])).toEqual([0, 0, 0])

      const lines = { serve: parsed('serve', serve), proxy: parsed('proxy', proxy), gateway: parsed('gateway', gateway) }
      for (const [name, list] of Object.entries(lines)) {
        const levels = list.map(l => l.level)
        expect(levels, name).toContain('info')
        expect(list.some(l => l.msg === 'request'), name).toBe(true)
        expect(list.some(l => l.msg === 'stopped'), name).toBe(true)
        for (const l of list) expect(typeof l.time, `${name}: ${JSON.stringify(l)}`).toBe('string')
      }
      expect(lines.serve.some(l => l.level === 'warn')).toBe(true)
      expect(lines.proxy.some(l => l.level === 'warn')).toBe(true)
      expect(lines.proxy.find(l => typeof l.peer === 'string' && String(l.msg).startsWith('this peer'))).toBeDefined()
      expect(lines.gateway.find(l => typeof l.peer === 'string' && String(l.msg).startsWith('this peer'))).toBeDefined()
    } finally {
      await Promise.all([serve.kill(), proxy?.kill(), gateway?.kill()])
    }
  }, 60_000)

  it('a failure with --json is a JSON line too, with its exit code', async () => {
    const { code, out, err } = await runCLI(['proxy', '--json', '--to', `/ip4/127.0.0.1/tcp/1/p2p/${PEER}`, '--port', '99999'])
    expect(code).toBe(2)
    expect(out.filter(l => l !== '')).toEqual([])
    const lines = err.filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 'error', command: 'proxy', code: 'ERR_USAGE', exit: 2 })
    expect(lines[0].msg).toMatch(/--port must be a port number/)
  })
})

describe('serve --config', () => {
  it('suggests a distinct --port per service in its consumer commands', async () => {
    const config = join(dir, 'two.json')
    await writeFile(config, JSON.stringify({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      services: [{ upstream: upstreamURL, protocol: '/x/a', allowAny: true }, { upstream: upstreamURL, protocol: '/x/b', allowAny: true }, { upstream: upstreamURL, allowAny: true }]
    }))
    const serve = spawnCLI(['serve', '--config', config, '--key', join(dir, 'config-provider')])
    try {
      await serve.line(/^on the consumer: .* --protocol \/x\/b /)
      await serve.line(/^on the consumer: libp2phttp proxy --to \S+ --port \d+$/)
      const ports = serve.out.filter(l => l.startsWith('on the consumer: ')).map(l => /--port (\d+)$/.exec(l)?.[1])
      expect(ports).toEqual(['8000', '8001', '8002'])
    } finally {
      await serve.kill()
    }
  })
})
