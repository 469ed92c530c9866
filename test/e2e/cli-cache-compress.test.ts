/**
 * Issue 19 through real processes: `proxy --to --cache` in front of `serve --upstream`, and compression
 * across the peer hop (`serve --compress`, the consumer asking for a coding when its client did not).
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, get } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, runCLI, spawnCLI } from '../helpers/cli.js'
import { createPeer, stopPeers } from '../helpers/nodes.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { Peer } from '../helpers/nodes.js'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo, Server as NetServer, Socket } from 'node:net'

let dir: string
const key = (name: string): string => join(dir, name)
let consumerId: string
const procs: CLIProcess[] = []
const spawn = (args: string[]): CLIProcess => { const p = spawnCLI(args); procs.push(p); return p }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-i19-'))
  consumerId = (await runCLI(['id', '--key', key('consumer')])).out[0]
})
afterAll(async () => {
  await Promise.all(procs.map(async p => { await p.kill() }))
  await rm(dir, { recursive: true, force: true })
})

/** `serve` of `upstream` for the consumer (and `others`), `extra` flags added; resolves with its address. */
async function serve (upstream: string, name: string, extra: string[] = [], others: string[] = []): Promise<string> {
  const p = spawn(['serve', '--upstream', upstream, '--listen', '/ip4/127.0.0.1/tcp/0', '--allow', consumerId, ...others.flatMap(o => ['--allow', o]), '--key', key(name), ...extra])
  return /--to (\S+)/.exec(await p.line(/^on the consumer: /))?.[1] ?? ''
}

/** `proxy --to addr` with `extra` flags; resolves with its local URL and the process. */
async function proxy (addr: string, extra: string[] = []): Promise<{ url: string, proc: CLIProcess }> {
  const proc = spawn(['proxy', '--to', addr, '--port', '0', '--key', key('consumer'), ...extra])
  return { url: await proc.line(/^http:\/\/127\.0\.0\.1:\d+\/$/), proc }
}

describe('proxy --to --cache: the tutorial\'s netcat trick', () => {
  let once: NetServer
  let answered = 0
  beforeAll(async () => {
    // nc -l: one connection, one answer, then nothing listens any more
    once = createNetServer((socket: Socket) => {
      let head = ''
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1')
        if (!head.includes('\r\n\r\n') || answered > 0) return
        answered++
        const body = 'answered once\n'
        socket.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
        once.close()
      })
    })
    await new Promise<void>(resolve => once.listen(0, '127.0.0.1', resolve))
  })

  it('the second request gets the cached answer though the upstream is gone; without --cache it is a 502', async () => {
    const addr = await serve(`http://127.0.0.1:${(once.address() as AddressInfo).port}`, 'provider-once')
    const cached = await proxy(addr, ['--cache', '--cache-size', '1MiB'])
    const plain = await proxy(addr)
    const first = await curl(['-i', cached.url])
    expect(first.out).toMatch(/^HTTP\/1\.1 200/)
    expect(first.out).toMatch(/answered once/)
    expect(answered).toBe(1)
    const second = await curl(['-i', cached.url])
    expect(second.out).toMatch(/^HTTP\/1\.1 200/)
    expect(second.out).toMatch(/\r\nage: \d+\r\n/i)
    expect(second.out).toMatch(/\r\ncache-status: libp2phttp-\w+; hit\r\n/i)
    expect(second.out).toMatch(/answered once\n$/)
    // the same request without the cache reaches the upstream, which is gone
    const uncached = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', plain.url])
    expect(uncached.out).toBe('502')
    // the log says which was which
    await cached.proc.line(/ GET \/ 200 .* cache=hit$/, { stream: 'err' })
    expect(cached.proc.err.find(l => / GET \/ 200 /.test(l))).toMatch(/cache=miss$/)
  })

  it('--cache-size takes units and is refused without --cache; --cache is refused with --forward', async () => {
    const bad = await runCLI(['proxy', '--to', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGRUVh6YkwZLDFHVnj5SQ3WBHvLCYJafrZCRNQgbkhJp5', '--cache', '--cache-size', '64MB', '--key', key('consumer')])
    expect(bad.code).toBe(2)
    expect(bad.err.join('\n')).toMatch(/--cache-size must be a size in bytes, or with K, M, G .* not 64MB/)
    const alone = await runCLI(['proxy', '--to', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGRUVh6YkwZLDFHVnj5SQ3WBHvLCYJafrZCRNQgbkhJp5', '--cache-size', '64MiB', '--key', key('consumer')])
    expect(alone.err.join('\n')).toMatch(/--cache-size is for --cache/)
    const forward = await runCLI(['proxy', '--forward', '--to', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGRUVh6YkwZLDFHVnj5SQ3WBHvLCYJafrZCRNQgbkhJp5', '--cache', '--key', key('consumer')])
    expect(forward.err.join('\n')).toMatch(/--cache is for proxy --to without --forward/)
  })
})

describe('compression across the peer hop: serve --compress, proxy --to asking', () => {
  let upstream: Server
  let probe: Peer
  let local: string
  let addr: string
  const json = JSON.stringify(Array.from({ length: 4000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b', 'c'] })))
  const acceptEncodings: Array<string | undefined> = []
  let sendNext: (() => void) | undefined
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      acceptEncodings.push(req.headers['accept-encoding'])
      const url = req.url ?? '/'
      if (url === '/json' || url === '/cached') {
        const etag = url === '/json' ? '"j1"' : '"c1"'
        // weak comparison, as RFC 9110 §13.1.2 has it for If-None-Match
        if ((req.headers['if-none-match'] ?? '').split(',').some(t => t.trim().replace(/^W\//, '') === etag)) {
          res.writeHead(304, { etag }).end()
          return
        }
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), etag, ...(url === '/cached' ? { 'cache-control': 'max-age=60' } : {}) })
        res.end(json)
      } else if (url === '/events') {
        // the next event is written only once the test has read the previous one through both coders
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        let n = 0
        const next = (): void => {
          n++
          if (n > 3) { res.end(); return }
          res.write(`id: ${n}\ndata: ${'event '.repeat(40)}${n}\n\n`)
        }
        sendNext = next
        next()
      } else if (url === '/png') {
        if (req.headers['if-none-match'] === '"p1"') {
          res.writeHead(304, { etag: '"p1"' }).end()
          return
        }
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': 4096, etag: '"p1"' })
        res.end(Buffer.alloc(4096, 7))
      } else if (url === '/small') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 })
        res.end('small')
      } else if (url === '/gzipped') {
        const body = gzipSync(json)
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length })
        res.end(body)
      } else if (url === '/no-transform') {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-transform' })
        res.end(json)
      } else {
        res.writeHead(404).end()
      }
    })
    await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
    probe = await createPeer()
    addr = await serve(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, 'provider-z', ['--compress'], [probe.node.peerId.toString()])
    local = (await proxy(addr)).url
    cachedProxy = await proxy(addr, ['--cache'])
  })
  let cachedProxy: { url: string, proc: CLIProcess }
  afterAll(async () => {
    await stopPeers(probe)
    upstream?.closeAllConnections()
    await new Promise(resolve => upstream?.close(resolve))
  })

  /** What the provider sends over the peer hop for `path` to a caller accepting `acceptEncoding`. */
  async function wire (path: string, acceptEncoding: string, init: { method?: string, headers?: Record<string, string> } = {}): Promise<{ status: number, headers: Headers, bytes: number }> {
    const res = await probe.host.fetch(`multiaddr:${addr}/http-path/${path.slice(1)}`, { method: init.method, headers: { 'accept-encoding': acceptEncoding, ...init.headers }, decompress: false })
    return { status: res.status, headers: res.headers, bytes: (await res.arrayBuffer()).byteLength }
  }

  /** The header fields of `head` (curl's `-D -` output) that say what the body is, lowercased, in order. */
  const representation = (head: string): string[] => head.split('\r\n').slice(1)
    .filter(l => /^(content-type|content-length|content-encoding|etag|vary|transfer-encoding):/i.test(l)).map(l => l.toLowerCase())

  it('a HEAD gets the header fields of the coded GET it stands for (RFC 9110 §9.3.2), no body', async () => {
    const get = await wire('/json', 'gzip')
    const head = await wire('/json', 'gzip', { method: 'HEAD' })
    expect(head.bytes).toBe(0)
    expect(head.headers.get('content-encoding')).toBe('gzip')
    expect(head.headers.get('content-length')).toBeNull()
    expect(head.headers.get('etag')).toBe('W/"j1"')
    expect(head.headers.get('vary')).toMatch(/accept-encoding/i)
    for (const name of ['content-type', 'content-encoding', 'content-length', 'etag', 'vary']) expect(head.headers.get(name), name).toBe(get.headers.get(name))
    // where the GET is left plain, so is the HEAD, with the upstream's length
    const small = await wire('/small', 'gzip', { method: 'HEAD' })
    expect(small.headers.get('content-encoding')).toBeNull()
    expect(small.headers.get('content-length')).toBe('5')
  })

  it('a HEAD through the consumer: the plain representation\'s fields as the decoded GET has them (no Content-Length), cached apart from GET', async () => {
    const get = await curl(['-s', '-D', '-', '-o', '/dev/null', local + 'json'])
    const head = await curl(['-s', '-I', local + 'json'])
    expect(head.out).toMatch(/^HTTP\/1\.1 200/)
    expect(head.out).not.toMatch(/\r\ncontent-encoding:/i)
    expect(head.out).not.toMatch(/\r\ncontent-length:/i)
    expect(head.out).toMatch(/\r\netag: W\/"j1"\r\n/i)
    expect(representation(head.out).filter(l => !l.startsWith('transfer-encoding'))).toEqual(representation(get.out).filter(l => !l.startsWith('transfer-encoding')))
    // through the cache: GET, then HEAD twice (undici stores HEAD apart); the hit reads as the miss
    const cached = cachedProxy.url + 'cached'
    const body = await curl(['-s', cached])
    expect(body.out).toBe(json)
    const first = await curl(['-s', '-I', cached])
    const second = await curl(['-s', '-I', cached])
    expect(second.out).toMatch(/\r\ncache-status: libp2phttp-\w+; hit\r\n/i)
    for (const h of [first, second]) {
      expect(h.out).not.toMatch(/\r\ncontent-(?:encoding|length):/i)
      expect(h.out).toMatch(/\r\netag: W\/"c1"\r\n/i)
      expect(h.out).toMatch(/\r\nvary: accept-encoding\r\n/i)
    }
    expect(representation(second.out)).toEqual(representation(first.out))
  })

  it('a 304 has its ETag weakened only where the 200 would have been coded', async () => {
    // an image is never coded: its 304 keeps the strong tag a cache holds (and If-Range needs)
    const png = await wire('/png', 'gzip, br', { headers: { 'if-none-match': '"p1"' } })
    expect(png.status).toBe(304)
    expect(png.headers.get('etag')).toBe('"p1"')
    // a cache revalidating our coded 200 names its weak tag: it gets it back
    const coded = await wire('/json', 'gzip', { headers: { 'if-none-match': 'W/"j1"' } })
    expect(coded.status).toBe(304)
    expect(coded.headers.get('etag')).toBe('W/"j1"')
    // one holding the plain 200 names the strong tag: it keeps it
    const plain = await wire('/json', 'gzip', { headers: { 'if-none-match': '"j1"' } })
    expect(plain.status).toBe(304)
    expect(plain.headers.get('etag')).toBe('"j1"')
  })

  it('the provider compresses JSON for the wire: Content-Length gone, ETag weak, Vary: Accept-Encoding', async () => {
    const gz = await wire('/json', 'gzip')
    expect(gz.headers.get('content-encoding')).toBe('gzip')
    expect(gz.headers.get('content-length')).toBeNull()
    expect(gz.headers.get('etag')).toBe('W/"j1"')
    expect(gz.headers.get('vary')).toMatch(/accept-encoding/i)
    expect(gz.bytes).toBeLessThan(Buffer.byteLength(json) / 4)
    const br = await wire('/json', 'gzip;q=0.5, br')
    expect(br.headers.get('content-encoding')).toBe('br')
    // a caller that asks for no coding gets the upstream's bytes and headers, Vary all the same
    const plain = await wire('/json', 'identity')
    expect(plain.headers.get('content-encoding')).toBeNull()
    expect(plain.headers.get('content-length')).toBe(String(Buffer.byteLength(json)))
    expect(plain.headers.get('etag')).toBe('"j1"')
    expect(plain.headers.get('vary')).toMatch(/accept-encoding/i)
  })

  it('already-compressed types, small bodies, coded answers and no-transform are left alone', async () => {
    for (const path of ['/png', '/small', '/no-transform']) {
      expect((await wire(path, 'gzip, br')).headers.get('content-encoding'), path).toBeNull()
    }
    const gzipped = await wire('/gzipped', 'br')
    expect(gzipped.headers.get('content-encoding')).toBe('gzip')
    expect(gzipped.bytes).toBe(gzipSync(json).length)
  })

  it('a local client that asked for no coding gets the body as the upstream sent it, decoded by the consumer', async () => {
    acceptEncodings.length = 0
    const res = await curl(['-D', '-', local + 'json'])
    const [head, body] = res.out.split('\r\n\r\n')
    expect(body).toBe(json)
    expect(head).not.toMatch(/content-encoding/i)
    expect(head).toMatch(/\r\netag: W\/"j1"/i)
    expect(head).toMatch(/\r\nvary: accept-encoding/i)
    // the consumer asked the provider, which passed it on to the upstream
    expect(acceptEncodings[0]).toMatch(/gzip, br$/)
    // an upstream's own coding is decoded too
    expect((await curl([local + 'gzipped'])).out).toBe(json)
  })

  it('a local client that asked for a coding gets it untouched', async () => {
    const res = await curl(['-D', '-', '-o', '/dev/null', '-H', 'accept-encoding: gzip', local + 'json'])
    expect(res.out).toMatch(/\r\ncontent-encoding: gzip\r\n/i)
    const decoded = await curl(['--compressed', local + 'json'])
    expect(createHash('sha256').update(decoded.out).digest('hex')).toBe(createHash('sha256').update(json).digest('hex'))
  })

  it('server-sent events are flushed per chunk through both coders: each arrives before the next is sent', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => { get(local + 'events', resolve).on('error', reject) })
    expect(res.headers['content-type']).toBe('text/event-stream')
    expect(res.headers['content-encoding']).toBeUndefined()
    const events: string[] = []
    let text = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`held back: got ${JSON.stringify(events)}`)) }, 10_000)
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        const parts = text.split('\n\n')
        text = parts.pop() ?? ''
        for (const part of parts) {
          events.push(part)
          // the upstream writes the next event only now: a coder that held this one back would hang here
          sendNext?.()
        }
      })
      res.on('end', () => { clearTimeout(timer); resolve() })
      res.on('error', reject)
    })
    expect(events.map(e => /^id: (\d+)/.exec(e)?.[1])).toEqual(['1', '2', '3'])
  })

  it('the provider flushes per chunk on the wire too (a caller decoding br itself)', async () => {
    const res = await probe.host.fetch(`multiaddr:${addr}/http-path/events`, { headers: { 'accept-encoding': 'br' } })
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let got = ''
    let seen = 0
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`held back after ${seen} events`)) }, 10_000) })
    while (seen < 3) {
      const { value, done } = await Promise.race([reader.read(), deadline])
      if (done) break
      got += decoder.decode(value, { stream: true })
      const count = got.split('\n\n').length - 1
      for (; seen < count; seen++) sendNext?.()
    }
    clearTimeout(timer)
    await reader.cancel()
    expect(got).toMatch(/id: 1\n[^]*id: 2\n[^]*id: 3\n/)
  })
})
