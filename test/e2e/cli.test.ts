/**
 * The libp2phttp command end to end: real processes on 127.0.0.1 (run from source), a real upstream in
 * this process, curl and Node's own HTTP client in front of the consumer's local port.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { curl, runCLI, spawnCLI } from '../helpers/cli.js'
import { transportOf } from '../../src/index.js'
import { createPeer, stopPeers, until } from '../helpers/nodes.js'
import { testCertificate } from '../helpers/tls.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { Peer } from '../helpers/nodes.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

let dir: string
let upstream: Server
let upstreamURL: string
let wss: WebSocketServer
const payload = randomBytes(3 * 1024 * 1024 + 17)
let releaseSSE: (() => void) | undefined
let releaseHold: (() => void) | undefined
let held = 0
let aborted = 0
const seen: IncomingMessage[] = []

let providerId: string
let consumerId: string
let provider: CLIProcess
let consumer: CLIProcess
let providerAddr: string
let localURL: string
let stranger: Peer | undefined

const key = (name: string): string => join(dir, name)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-cli-'))
  upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req)
    const url = req.url ?? '/'
    if (url.startsWith('/v1/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: first\n\n')
      releaseSSE = () => { res.end('data: last\n\n') }
    } else if (url.startsWith('/v1/slow')) {
      req.socket.once('close', () => { aborted++ })
      res.writeHead(200)
      res.write('working…')
    } else if (url.startsWith('/v1/hold')) {
      held++
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('started ')
      releaseHold = () => { res.end('and finished') }
    } else if (url.startsWith('/v1/bytes')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length })
      res.end(payload)
    } else if (url.startsWith('/v1/large')) {
      // 48 MiB, written as fast as the tunnel takes it
      const chunk = Buffer.alloc(1 << 20, 0x5a)
      res.writeHead(200, { 'content-length': 48 << 20 })
      let sent = 0
      const more = (): void => {
        while (sent < 48) {
          sent++
          if (!res.write(chunk)) { res.once('drain', more); return }
        }
        res.end()
      }
      more()
    } else if (url.startsWith('/v1/upload')) {
      let bytes = 0
      req.on('data', (c: Buffer) => { bytes += c.length })
      req.on('end', () => { res.end(JSON.stringify({ bytes, expect: req.headers.expect ?? null })) })
    } else if (url.startsWith('/v1/missing')) {
      res.writeHead(404).end('no such thing\n')
    } else {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ method: req.method, url, headers: req.headers }))
    }
  })
  wss = new WebSocketServer({ server: upstream })
  wss.on('connection', (ws, req) => {
    ws.send(`hello ${req.url ?? ''} ${req.headers['x-libp2p-peer-id'] as string}`)
    ws.on('message', (data, binary) => { ws.send(data, { binary }) })
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  upstreamURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`

  // identities first: the provider allows the consumer by its id
  const [p, c] = await Promise.all([runCLI(['id', '--key', key('provider')]), runCLI(['id', '--key', key('consumer')])])
  providerId = p.out[0]
  consumerId = c.out[0]
  provider = spawnCLI(['serve', '--upstream', upstreamURL, '--protocol', '/x/llm/1', '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, '--key', key('provider')])
  const paste = await provider.line(/^on the consumer: /)
  providerAddr = /--to (\S+)/.exec(paste)?.[1] ?? ''
  consumer = spawnCLI(['proxy', '--to', providerAddr, '--protocol', '/x/llm/1', '--port', '0', '--key', key('consumer')])
  localURL = await consumer.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
})

afterAll(async () => {
  await Promise.all([provider?.kill(), consumer?.kill()])
  await stopPeers(stranger)
  wss?.close()
  upstream?.closeAllConnections()
  await new Promise(resolve => upstream?.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

/** A GET through the consumer's local port with Node's client; resolves at the response headers. */
async function getLocal (path: string): Promise<IncomingMessage> {
  return await new Promise((resolve, reject) => { get(new URL(path, localURL), resolve).on('error', reject) })
}

/** Open a WebSocket, answer the upstream's greeting with 'ping', and return the two messages. */
async function echo (url: string): Promise<string[]> {
  const ws = new WebSocket(url)
  const messages: string[] = []
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject).on('message', (data: Buffer) => {
      messages.push(data.toString())
      if (messages.length === 1) ws.send('ping')
      else resolve()
    })
  })
  ws.close()
  return messages
}

async function textOf (res: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of res) body += (chunk as Buffer).toString()
  return body
}

describe('libp2phttp id', () => {
  it('creates the key with mode 0600 and shows the same id twice', async () => {
    const first = await runCLI(['id', '--key', key('fresh/key')])
    expect(first.code).toBe(0)
    expect(first.out[0]).toMatch(/^12D3KooW\w+$/)
    expect(first.err.join('\n')).toMatch(/created a new identity/)
    expect((await stat(key('fresh/key'))).mode & 0o777).toBe(0o600)
    const second = await runCLI(['id'], { LIBP2PHTTP_KEY: key('fresh/key') })
    expect(second.out[0]).toBe(first.out[0])
    expect(second.err.join('\n')).not.toMatch(/created/)
  })
})

describe('serve + proxy', () => {
  it('prints the provider\'s addresses and the consumer command', () => {
    expect(provider.out[0]).toBe(`peer ${providerId}`)
    expect(providerAddr).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${providerId}$`))
  })

  it('curl through the local port reaches the upstream with the consumer\'s peer id', async () => {
    const { code, out } = await curl(['-s', '-f', `${localURL}chat/completions?x=1`])
    expect(code).toBe(0)
    const got = JSON.parse(out)
    expect(got.url).toBe('/v1/chat/completions?x=1')
    expect(got.headers['x-libp2p-peer-id']).toBe(consumerId)
    expect(got.headers.via).toMatch(/^1\.1 libp2phttp-\w+, 1\.1 libp2phttp-\w+$/)
    expect(got.headers['x-forwarded-host']).toBe(new URL(localURL).host)
  })

  it('server-sent events arrive chunk by chunk through the tunnel', async () => {
    const res = await getLocal('events')
    expect(res.headers['content-type']).toBe('text/event-stream')
    const first = await new Promise<string>(resolve => res.once('data', (c: Buffer) => { resolve(c.toString()) }))
    // the upstream has not finished: this chunk crossed both hops before the end
    expect(first).toBe('data: first\n\n')
    releaseSSE?.()
    expect(await textOf(res)).toBe('data: last\n\n')
  })

  it('a client that disconnects aborts the upstream request', async () => {
    const res = await getLocal('slow')
    await new Promise(resolve => res.once('data', resolve))
    const before = aborted
    res.destroy()
    await until(() => aborted > before, 10_000, 'the upstream request to be aborted')
  })

  it('an upload with Expect: 100-continue goes through (it was 502: undici refuses Expect)', async () => {
    const file = join(dir, 'upload.bin')
    await writeFile(file, randomBytes(2 * 1024 * 1024))
    const { code, out } = await curl(['-f', '-H', 'Expect: 100-continue', '--data-binary', `@${file}`, `${localURL}upload`])
    expect(code).toBe(0)
    expect(JSON.parse(out)).toEqual({ bytes: 2 * 1024 * 1024, expect: null })
    // the provider is still there (its request log read req.socket after Node had let go of it: a crash)
    expect((await curl(['-f', `${localURL}after-upload`])).code).toBe(0)
  })

  it('a WebSocket through proxy --to and serve reaches the upstream and echoes', async () => {
    expect(await echo(`${localURL.replace('http:', 'ws:')}ws`)).toEqual([`hello /v1/ws ${consumerId}`, 'ping'])
  })

  it('a Host that is not this machine\'s gets 403 at the local port (DNS rebinding)', async () => {
    const { out } = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: rebound.example', `${localURL}chat/completions`])
    expect(out).toBe('403')
  })

  it('a peer not on the allow-list gets 403 with Proxy-Status', async () => {
    stranger = await createPeer()
    const res = await stranger.host.fetch(`multiaddr:${providerAddr}/http-path/x%2Fllm%2F1%2Fanything`)
    expect(res.status).toBe(403)
    expect(res.headers.get('proxy-status')).toMatch(/^libp2phttp-\w+; error=http_request_denied; details=".*not on the allow-list"/)
    await res.body?.cancel()
  })

  it('an upstream that is down: 502 with Proxy-Status, through both hops', async () => {
    const down = createServer()
    await new Promise<void>(resolve => down.listen(0, '127.0.0.1', resolve))
    const port = (down.address() as AddressInfo).port
    await new Promise(resolve => down.close(resolve))
    const dead = spawnCLI(['serve', '--upstream', `http://127.0.0.1:${port}`, '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, '--key', key('provider2')])
    try {
      const addr = /--to (\S+)/.exec(await dead.line(/^on the consumer: /))?.[1] ?? ''
      const local = spawnCLI(['proxy', '--to', addr, '--port', '0', '--key', key('consumer')])
      try {
        const url = await local.line(/^http:\/\//)
        const res = await fetch(url)
        expect(res.status).toBe(502)
        expect(res.headers.get('proxy-status')).toMatch(/error=connection_refused/)
      } finally {
        await local.kill()
      }
    } finally {
      await dead.kill()
    }
  })

  it('a provider that cannot be reached: 502 from the consumer, with Proxy-Status', async () => {
    const gone = spawnCLI(['proxy', '--to', `/ip4/127.0.0.1/tcp/1/p2p/${providerId}`, '--port', '0', '--key', key('consumer')])
    try {
      const url = await gone.line(/^http:\/\//)
      const res = await fetch(url)
      expect(res.status).toBe(502)
      expect(res.headers.get('proxy-status')).toMatch(/^libp2phttp-\w+; error=destination_unavailable/)
    } finally {
      await gone.kill()
    }
  })

  it('logs one line per request (peer, method, path, status, bytes, ms)', async () => {
    await until(() => provider.err.some(l => l.startsWith(`${consumerId} GET /x/llm/1/chat/completions?x=1 200 `)), 5000, 'the request log line')
    expect(provider.err.find(l => l.includes('/chat/completions'))).toMatch(/ 200 \d+B \d+ms$/)
  })
})

describe('serve --config', () => {
  it('two upstreams from one file, each with its own allow-list: the consumer gets 200 from one, 403 from the other', async () => {
    const second = createServer((_req, res) => { res.end('second upstream') })
    await new Promise<void>(resolve => second.listen(0, '127.0.0.1', resolve))
    await writeFile(key('serve.json'), JSON.stringify({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      key: 'provider3',
      services: [
        { upstream: upstreamURL, protocol: '/x/llm/1', allow: [consumerId] },
        { upstream: `http://127.0.0.1:${(second.address() as AddressInfo).port}`, protocol: '/x/app/1', allow: [providerId] }
      ]
    }))
    const multi = spawnCLI(['serve', '--config', key('serve.json')])
    const locals: CLIProcess[] = []
    try {
      const paste = await multi.line(/^on the consumer: .* --protocol \/x\/app\/1 /)
      expect(multi.out).toContain(`serving ${upstreamURL} as /x/llm/1 to ${consumerId}`)
      expect(multi.out.some(l => /^on the consumer: libp2phttp proxy --to \S+ --protocol \/x\/llm\/1 --port 8000$/.test(l))).toBe(true)
      const addr = /--to (\S+)/.exec(paste)?.[1] ?? ''
      const urls = await Promise.all(['/x/llm/1', '/x/app/1'].map(async (protocol) => {
        const local = spawnCLI(['proxy', '--to', addr, '--protocol', protocol, '--port', '0', '--key', key('consumer')])
        locals.push(local)
        return await local.line(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      }))
      const llm = await fetch(`${urls[0]}chat/completions`)
      expect(llm.status).toBe(200)
      expect((await llm.json() as { headers: Record<string, string> }).headers['x-libp2p-peer-id']).toBe(consumerId)
      const app = await fetch(urls[1])
      expect(app.status).toBe(403)
      expect(app.headers.get('proxy-status')).toMatch(/error=http_request_denied/)
      await app.body?.cancel()
    } finally {
      await Promise.all([multi.kill(), ...locals.map(async l => { await l.kill() })])
      second.closeAllConnections()
      await new Promise(resolve => second.close(resolve))
    }
  })

  it.each([
    ['an unknown key', { services: [{ upstream: 'http://127.0.0.1:1', protocol: '/x/a/1', allowAny: true }, { upstream: 'http://127.0.0.1:2', protocol: '/x/b/1', alow: ['x'] }] }, /unknown key services\[1\]\.alow/],
    ['a service without allow or allowAny', { services: [{ upstream: 'http://127.0.0.1:1', protocol: '/x/a/1' }] }, /services\[0\] needs allow \(peer ids\) or allowAny/],
    ['two services at /', { services: [{ upstream: 'http://127.0.0.1:1', allowAny: true }, { upstream: 'http://127.0.0.1:2', allowAny: true }] }, /at most one service may leave out protocol/]
  ])('%s: exit 2, naming it', async (_what, config, message) => {
    await writeFile(key('bad.json'), JSON.stringify(config))
    const { code, err } = await runCLI(['serve', '--config', key('bad.json'), '--key', key('provider3')])
    expect(code).toBe(2)
    expect(err.join('\n')).toMatch(message)
  })

  it('flags that the file replaces are refused with --config: exit 2', async () => {
    const { code, err } = await runCLI(['serve', '--config', key('bad.json'), '--allow-any', '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(code).toBe(2)
    expect(err.join('\n')).toMatch(/--config excludes --listen, --allow-any/)
  })
})

describe('serve over the native transport (/tls/http)', () => {
  it('an allowed peer proves its id with Peer ID Authentication over HTTPS; another gets 403', async () => {
    const { key: tlsKey, cert } = await testCertificate()
    await writeFile(key('tls.key'), tlsKey)
    await writeFile(key('tls.crt'), cert)
    const friend = await createPeer({ clientTLS: { ca: cert } })
    const other = await createPeer({ clientTLS: { ca: cert } })
    const native = spawnCLI(['serve', '--upstream', upstreamURL, '--protocol', '/x/llm/1', '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/tcp/0/tls/http',
      '--tls-key', key('tls.key'), '--tls-cert', key('tls.crt'), '--allow', friend.node.peerId.toString(), '--key', key('provider3')])
    try {
      await native.line(/^on the consumer: /)
      const https = native.out.find(l => /^listen \/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/http\/p2p\//.test(l))?.slice('listen '.length) ?? ''
      const target = `multiaddr:${https}/http-path/${encodeURIComponent('x/llm/1/over-tls')}`
      const ok = await friend.host.fetch(target)
      expect(transportOf(ok)?.transport).toBe('native')
      const got = await ok.json()
      expect(got.url).toBe('/v1/over-tls')
      expect(got.headers['x-libp2p-peer-id']).toBe(friend.node.peerId.toString())
      const refused = await other.host.fetch(target)
      expect(refused.status).toBe(403)
      await refused.body?.cancel()
    } finally {
      await native.kill()
      await stopPeers(friend, other)
    }
  })
})

describe('libp2phttp fetch', () => {
  const uri = (path: string): string => `multiaddr:${providerAddr}/http-path/${encodeURIComponent(`x/llm/1/${path}`)}`

  it('-o writes the exact bytes; exit 0', async () => {
    const { code } = await runCLI(['fetch', uri('bytes'), '-o', key('out.bin'), '--key', key('consumer')])
    expect(code).toBe(0)
    expect((await readFile(key('out.bin'))).equals(payload)).toBe(true)
  })

  it('a large download to a file arrives whole (regression: yamux let a 16 MiB window overrun a paused stream\'s 4 MiB read buffer)', async () => {
    const { code, err } = await runCLI(['fetch', uri('large'), '-o', key('large.bin'), '--key', key('consumer')], {}, 60_000)
    expect(err.join('\n')).toBe('')
    expect(code).toBe(0)
    expect((await stat(key('large.bin'))).size).toBe(48 << 20)
  })

  it('exit codes: 22 for a non-2xx status, 7 when the peer cannot be reached, 3 for a bad URL, 2 for a bad command line', async () => {
    const [missing, unreachable, bad, usage] = await Promise.all([
      runCLI(['fetch', uri('missing'), '-o', key('missing.txt'), '--key', key('consumer')]),
      runCLI(['fetch', `multiaddr:/ip4/127.0.0.1/tcp/1/p2p/${providerId}`, '-o', key('x')]),
      runCLI(['fetch', 'multiaddr:/not-a-multiaddr', '-o', key('y')]),
      runCLI(['fetch', '--bogus'])
    ])
    expect(missing.code).toBe(22)
    expect(await readFile(key('missing.txt'), 'utf8')).toBe('no such thing\n')
    expect(unreachable.code).toBe(7)
    expect(bad.code).toBe(3)
    expect(usage.code).toBe(2)
  })

  it('-o into a directory that does not exist: exit 23 (curl\'s write error), as the usage says', async () => {
    const { code, err } = await runCLI(['fetch', uri('bytes'), '-o', key('no/such/dir/out.bin'), '--key', key('consumer')])
    expect(code).toBe(23)
    expect(err.join('\n')).toMatch(/ENOENT/)
  })

  it('an ephemeral identity is refused by the allow-list: 403 → exit 22', async () => {
    const { code, err } = await runCLI(['fetch', uri('x'), '-o', key('z')], { HOME: dir })
    expect(code).toBe(22)
    expect(err.join('\n')).toMatch(/HTTP 403/)
  })
})

describe('libp2phttp gateway', () => {
  let gw: CLIProcess
  let base: string
  beforeAll(async () => {
    gw = spawnCLI(['gateway', '--port', '0', '--connect', providerAddr, '--key', key('consumer')])
    base = await gw.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/)
  })
  afterAll(async () => { await gw?.kill() })

  it.each([
    ['/p2p/<peer>/<path>', 'x/llm/1/g?a=1'],
    ['/p2p/<peer>/http/<path>', 'http/x/llm/1/g?a=1'],
    ['/p2p/<peer>/x/<name>/http/<path> (the well-known map)', 'x/llm/1/http/g?a=1']
  ])('%s', async (_form, path) => {
    const res = await fetch(`${base}${providerId}/${path}`)
    expect(res.status).toBe(200)
    const got = await res.json()
    expect(got.url).toBe('/v1/g?a=1')
    expect(got.headers['x-libp2p-peer-id']).toBe(consumerId)
  })

  it('a WebSocket through the gateway and serve reaches the upstream and echoes', async () => {
    expect(await echo(`${base.replace('http:', 'ws:')}${providerId}/x/llm/1/http/ws`)).toEqual([`hello /v1/ws ${consumerId}`, 'ping'])
  })

  it('a Host that is not this machine\'s gets 403 (DNS rebinding)', async () => {
    const { out } = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: rebound.example', `${base}${providerId}/x/llm/1/http/g`])
    expect(out).toBe('403')
  })

  it('a bad peer id: 400; not a /p2p path: 404; an unknown protocol: 502', async () => {
    expect((await fetch(`${base}not-a-peer/x`)).status).toBe(400)
    expect((await fetch(new URL('/elsewhere', base))).status).toBe(404)
    const unknown = await fetch(`${base}${providerId}/x/nope/http/`)
    expect(unknown.status).toBe(502)
    expect(unknown.headers.get('proxy-status')).toMatch(/error=destination_not_found/)
  })
})

describe('redial', () => {
  it('the consumer reports a dropped provider, redials with backoff, and serves again once it is back', async () => {
    let restarted: CLIProcess | undefined
    const first = spawnCLI(['serve', '--upstream', upstreamURL, '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, '--key', key('provider4')])
    try {
      const addr = /--to (\S+)/.exec(await first.line(/^on the consumer: /))?.[1] ?? ''
      const local = spawnCLI(['proxy', '--to', addr, '--port', '0', '--key', key('consumer')])
      try {
        const url = await local.line(/^http:\/\//)
        expect((await fetch(`${url}before`)).status).toBe(200)
        first.proc.kill('SIGTERM')
        await first.exited()
        await local.line(/^warn: connection to 12D3\w+ lost; redialling$/, { stream: 'err' })
        // the same identity on the same port, as after a restart
        const port = /\/tcp\/(\d+)\//.exec(addr)?.[1] ?? ''
        restarted = spawnCLI(['serve', '--upstream', upstreamURL, '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--allow', consumerId, '--key', key('provider4')])
        await restarted.line(/^on the consumer: /)
        await local.line(/^reconnected to 12D3\w+ \(attempt \d+\)$/, { stream: 'err', timeout: 30_000 })
        expect((await fetch(`${url}after`)).status).toBe(200)
      } finally {
        await local.kill()
      }
    } finally {
      await first.kill()
      await restarted?.kill()
    }
  })
})

describe('shutdown', () => {
  it('SIGTERM lets an in-flight request finish, then the provider exits 0', async () => {
    const res = await getLocal('hold')
    const first = await new Promise<string>(resolve => res.once('data', (c: Buffer) => { resolve(c.toString()) }))
    expect(first).toBe('started ')
    expect(held).toBe(1)
    provider.proc.kill('SIGTERM')
    await provider.line(/shutting down/, { stream: 'err' })
    releaseHold?.()
    expect(await textOf(res)).toBe('and finished')
    expect(await provider.exited()).toBe(0)
  })
})
