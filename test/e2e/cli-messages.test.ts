/**
 * Messages that name the right thing (issue 15, item 5): every failure the command can predict is one
 * line on stderr naming the flag and the fix, exit 2 for a bad command line (with "see … --help", not
 * the whole usage) and the documented codes otherwise; no stack traces, no library option names. Real
 * processes of the command.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { createServer as createTCPServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCLI, spawnCLI } from '../helpers/cli.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { Server } from 'node:http'
import type { AddressInfo, Server as TCPServer, Socket } from 'node:net'

const PEER = '12D3KooWE3bfpUxxV7vusvSvg3W8RpJgcZLiqfaXRr4dq1BYLMzd'
/** Names of library options and internals that a user of the command cannot set. */
const LIBRARY_NAMES = /insecureAllowHTTP|allowHosts|allowOrigins|faultTolerance|transportManager|maxBodySize|headersTimeout|NO_FATAL/

let dir: string
let env: NodeJS.ProcessEnv
/** A port something already listens on. */
let busy: TCPServer
let busyPort: number
/** Accepts connections and never says a word: a peer that does not answer. */
let silent: TCPServer
let silentPort: number
const held: Socket[] = []
/** An HTTP server with a body of 1000 bytes. */
let web: Server
let webURL: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-messages-'))
  env = { LIBP2PHTTP_KEY: join(dir, 'key') }
  busy = createTCPServer(socket => { socket.destroy() })
  await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
  busyPort = (busy.address() as AddressInfo).port
  silent = createTCPServer(socket => { held.push(socket); socket.on('error', () => {}) })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  silentPort = (silent.address() as AddressInfo).port
  web = createServer((_req, res) => { res.end(Buffer.alloc(1000, 0x61)) })
  await new Promise<void>(resolve => web.listen(0, '127.0.0.1', resolve))
  webURL = `http://127.0.0.1:${(web.address() as AddressInfo).port}/`
  // the key exists before the table runs, so no "created a new identity" line is among its output
  await runCLI(['id'], env)
})

afterAll(async () => {
  for (const s of held) s.destroy()
  await Promise.all([busy, silent, web].map(async s => await new Promise(resolve => s?.close(resolve))))
  if (dir != null) await rm(dir, { recursive: true, force: true })
})

/** [case, argv, exit code, the one stderr line] */
const CASES: Array<[string, () => string[], number, RegExp | (() => RegExp)]> = [
  ['--port 99999', () => ['proxy', '--to', `/ip4/127.0.0.1/tcp/1/p2p/${PEER}`, '--port', '99999'], 2, /^libp2phttp proxy: --port must be a port number from 0 to 65535 .*not 99999 \(see libp2phttp proxy --help\)$/],
  ['gateway --port 99999', () => ['gateway', '--port', '99999'], 2, /^libp2phttp gateway: --port must be a port number .*\(see libp2phttp gateway --help\)$/],
  ['a --grace no timer can hold', () => ['serve', '--upstream', 'http://127.0.0.1:1', '--allow-any', '--grace', '100000000000000000000'], 2, /^libp2phttp serve: --grace must be at most 2147483647, not 100000000000000000000 \(see libp2phttp serve --help\)$/],
  ['a --headers-timeout Node refuses', () => ['gateway', '--headers-timeout', '100000000000000000000'], 2, /^libp2phttp gateway: --headers-timeout must be at most 2147483647, not 1.*--help\)$/],
  ['fetch -m past a timer\'s reach', () => ['fetch', '-m', '100000000000000000000', 'http://127.0.0.1:1/'], 2, /^libp2phttp fetch: --max-time must be at most 2147483, not 1.*--help\)$/],
  ['gateway --connect garbage', () => ['gateway', '--connect', 'garbage'], 2, /^libp2phttp gateway: --connect garbage: not a multiaddr .*\(see libp2phttp gateway --help\)$/],
  ['proxy --to without a peer id', () => ['proxy', '--to', '/ip4/127.0.0.1/tcp/4001'], 2, /^libp2phttp proxy: --to \/ip4\/127\.0\.0\.1\/tcp\/4001: add the provider's peer id: …\/p2p\/<peer id>.*--help\)$/],
  ['an unknown option', () => ['serve', '--bogus'], 2, /^libp2phttp serve: unknown option --bogus \(see libp2phttp serve --help\)$/],
  ['a missing value', () => ['proxy', '--port'], 2, /^libp2phttp proxy: --port needs a value \(see libp2phttp proxy --help\)$/],
  ['an unknown command', () => ['serv'], 2, /^libp2phttp: unknown command serv: the commands are id, serve, proxy, fetch, gateway, relay \(see libp2phttp --help\)$/],
  ['a busy --listen port', () => ['serve', '--upstream', 'http://127.0.0.1:1', '--allow-any', '--listen', `/ip4/127.0.0.1/tcp/${busyPort}`], 1, () => new RegExp(`^libp2phttp serve: --listen /ip4/127\\.0\\.0\\.1/tcp/${busyPort}: the port is already in use by another program; choose another port \\(tcp/0 picks a free one\\) \\(ERR_LISTEN_FAILED\\)$`)],
  ['a busy --port', () => ['proxy', '--to', `/ip4/127.0.0.1/tcp/1/p2p/${PEER}`, '--port', String(busyPort)], 1, () => new RegExp(`^libp2phttp proxy: --port ${busyPort}: 127\\.0\\.0\\.1:${busyPort} is already in use by another program; choose another --port \\(0 picks a free one\\) \\(ERR_LISTEN_FAILED\\)$`)],
  ['a plain-HTTP --listen', () => ['serve', '--upstream', 'http://127.0.0.1:1', '--allow-any', '--listen', '/ip4/127.0.0.1/tcp/0/http'], 2, /^libp2phttp serve: --listen \/ip4\/127\.0\.0\.1\/tcp\/0\/http: plain HTTP listeners are not offered .*use …\/tls\/http with a certificate \(see libp2phttp serve --help\)$/],
  ['fetch of a plain-HTTP multiaddr', () => ['fetch', '/ip4/127.0.0.1/tcp/80/http'], 3, /^libp2phttp fetch: a plain-HTTP multiaddr \(…\/http\) is refused .*use …\/tls\/http, .* or an http:\/\/ URL \(ERR_INSECURE_HTTP\)$/],
  ['fetch -m 1 of a peer that does not answer', () => ['fetch', '-m', '1', `/ip4/127.0.0.1/tcp/${silentPort}/p2p/${PEER}`], 28, /^libp2phttp fetch: no complete answer within --max-time 1 s \(exit 28\); give it more time with a larger -m$/],
  ['fetch --max-filesize', () => ['fetch', '--max-filesize', '10', webURL], 63, /^libp2phttp fetch: the body is larger than --max-filesize 10 bytes; the rest was not written \(ERR_RESPONSE_BODY_TOO_LARGE\)$/]
]

describe('a predictable failure is one line naming the flag and the fix', () => {
  it.each(CASES)('%s', async (_name, argv, exit, line) => {
    const { code, out, err } = await runCLI(argv(), env)
    const lines = err.filter(l => l !== '')
    expect(code, err.join('\n')).toBe(exit)
    expect(lines, err.join('\n')).toHaveLength(1)
    expect(lines[0]).toMatch(typeof line === 'function' ? line() : line)
    expect(lines[0]).not.toMatch(LIBRARY_NAMES)
    // the usage stays one --help away
    expect(out.filter(l => l !== '')).toEqual([])
  })
})

describe('refusals of the local ports name the flags', () => {
  let proxy: CLIProcess
  let gateway: CLIProcess
  let proxyURL: string
  let gatewayURL: string

  beforeAll(async () => {
    proxy = spawnCLI(['proxy', '--to', `/ip4/127.0.0.1/tcp/${silentPort}/p2p/${PEER}`, '--port', '0'], env)
    gateway = spawnCLI(['gateway', '--port', '0'], env)
    proxyURL = await proxy.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    gatewayURL = await gateway.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/)
  })

  afterAll(async () => {
    await Promise.all([proxy?.kill(), gateway?.kill()])
  })

  it.each([['proxy --to', () => proxyURL], ['gateway', () => `${gatewayURL}${PEER}/`]])('%s: a foreign Host names --allow-host, a foreign Origin --allow-origin', async (_name, url) => {
    const { request } = await import('undici')
    const host = await request(url(), { headers: { host: 'evil.example' } })
    const hostText = await host.body.text()
    expect(host.statusCode).toBe(403)
    expect(`${String(host.headers['proxy-status'])} ${hostText}`).toMatch(/allow it with --allow-host/)
    const origin = await request(url(), { method: 'POST', headers: { origin: 'https://evil.example' } })
    const originText = await origin.body.text()
    expect(origin.statusCode).toBe(403)
    expect(`${String(origin.headers['proxy-status'])} ${originText}`).toMatch(/allow it with --allow-origin/)
    expect(`${hostText} ${originText}`).not.toMatch(LIBRARY_NAMES)
  })
})
