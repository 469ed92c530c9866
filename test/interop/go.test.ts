/**
 * Interop with the reference go implementation: go-libp2p v0.52.0's `p2p/http` (`libp2phttp.Host`) and
 * `p2p/http/auth`, built from `test/interop/go/` and run as a child process (see `go-peer.ts`). One go
 * process for the whole file, reused by every case; our side is real js-libp2p nodes (TCP + noise +
 * yamux) with `createHTTPHost`, and an HTTPS listener with the test certificate (which go trusts).
 *
 * With `CI=true` the suite must run (no Go fails it); elsewhere it is skipped, with the reason printed,
 * when `go` is not on PATH.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { invalidEntriesOf, originalUrl, remotePeer, serverPeer, transportOf } from '../../src/index.js'
import { createPeer, stopPeers } from '../helpers/nodes.js'
import { testCertificate } from '../helpers/tls.js'
import { interopSuite, pattern, sha256 } from './child-peer.js'
import { createAuthenticatingPeer } from './our-auth-peer.js'
import { goMissing, goPeerBinary, startGoPeer } from './go-peer.js'
import type { GoAnswer, GoPeer } from './go-peer.js'
import type { Peer } from '../helpers/nodes.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Server } from 'node:https'
import type { AddressInfo } from 'node:net'

const missing = await goMissing()
const suite = interopSuite('test/interop/go.test.ts', missing)

const KiB = 1024
const MiB = 1024 * KiB
const SIZES = [0, KiB, 8 * MiB]

const PATTERN_SHA = new Map(SIZES.map(n => [n, sha256(pattern(n))]))

/** An `/http-path` component for `path` (one segment, everything escaped, as `withHTTPPath` writes it). */
const httpPath = (path: string): string => `/http-path/${encodeURIComponent(path.replace(/^\//, ''))}`

interface Echo {
  method: string
  requestURI: string
  path: string
  rawQuery: string
  host: string
  headers: Record<string, string>
  contentLength: number
  transferEncoding: string[] | null
  bodyLen: number
  bodySha256: string
  peer: string
  tls: boolean
}

/** What our test server saw of a request, mirroring go's `/echo`. */
interface OurEcho { method: string, url: string, headers: Record<string, string | string[] | undefined>, bodyLen: number, bodySha256: string, peer?: string, ended: boolean }

let go: GoPeer
let ours: Peer
/** A peer of ours whose HTTPS listener requires Peer ID Authentication. */
let oursAuth: Peer
let dir: string
let caPath: string
let caCert: string
let sseRelease: (() => void) | undefined
let sseWaiting: Promise<void> | undefined

/** Our routes, the same as the go peer's: /echo, /bytes, /sse + /release, else 404. */
function ourRoutes (req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x')
  if (url.pathname.startsWith('/echo')) {
    const hash = createHash('sha256')
    let bodyLen = 0
    req.on('data', (chunk: Buffer) => { hash.update(chunk); bodyLen += chunk.byteLength })
    req.on('end', () => {
      const echo: OurEcho = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyLen, bodySha256: hash.digest('hex'), peer: remotePeer(req)?.toString(), ended: true }
      // answered only after the request's end, in two writes a tick apart: the answer leaves after
      // a half-closing client (go's habit) has finished sending
      setImmediate(() => {
        res.setHeader('content-type', 'application/json')
        const text = JSON.stringify(echo)
        res.write(text.slice(0, 10))
        setImmediate(() => res.end(text.slice(10)))
      })
    })
    return
  }
  // /bytes?n=N[&chunked=1], or /bytes/N[/chunked] for go's HTTPS client, which sends a `?` in
  // /http-path as %3F (see the /http-path section)
  const bytes = /^\/bytes(?:\/(\d+)(\/chunked)?)?$/.exec(url.pathname)
  if (bytes != null) {
    const n = Number(bytes[1] ?? url.searchParams.get('n'))
    if (bytes[2] == null && url.searchParams.get('chunked') == null) res.setHeader('content-length', n)
    res.end(pattern(n))
    return
  }
  if (url.pathname === '/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: one\n\n')
    const timer = setTimeout(() => { sseRelease?.() }, 10_000)
    sseWaiting = new Promise<void>(resolve => { sseRelease = resolve })
    void sseWaiting.then(() => {
      clearTimeout(timer)
      res.end(res.destroyed ? undefined : 'data: two\n\ndata: three\n\n')
    })
    return
  }
  if (url.pathname === '/release') {
    sseRelease?.()
    res.end('released')
    return
  }
  res.statusCode = 404
  res.end(`not found: ${url.pathname}`)
}

/** An address of ours with its `/p2p` (js-libp2p prints it). */
const ourStreamAddr = (): string => ours.node.getMultiaddrs()[0].toString()
/** Our HTTPS listener (`/ip4/127.0.0.1/tcp/N/tls/http`), without `/p2p`. */
const ourHTTPSAddr = (): string => ours.host.addrs().map(String).find(a => a.includes('/tls/http'))!.replace(/\/p2p\/.*$/, '')
const goStreamAddr = (): string => `${go.streamAddrs[0]}/p2p/${go.peerId}`
/** go's HTTPS listener as it prints it (`/ip4/127.0.0.1/tcp/N/https`). */
const goHTTPSAddr = (): string => go.httpAddrs.find(a => !a.includes('/tcp/443/'))!

function expectOk (a: GoAnswer): GoAnswer {
  expect(a.error, `go: ${a.error ?? ''}\n${go.stderr()}`).toBeUndefined()
  return a
}
const ourEchoOf = (a: GoAnswer): OurEcho => JSON.parse(expectOk(a).body ?? '') as OurEcho

suite('go-libp2p v0.52.0 (p2p/http) interop', () => {
  beforeAll(async () => {
    if (missing != null) throw new Error(`CI=true and ${missing}: the go interop suite must run on CI`)
    const binary = await goPeerBinary()
    dir = await mkdtemp(join(tmpdir(), 'libp2phttp-go-'))
    const cert = await testCertificate()
    caPath = join(dir, 'cert.pem')
    await writeFile(caPath, cert.cert)
    caCert = cert.cert
    await writeFile(join(dir, 'key.pem'), cert.key)
    go = await startGoPeer(binary, { cert: caPath, key: join(dir, 'key.pem'), ca: caPath, try443: true })
    ours = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert, clientTLS: { ca: cert.cert } })
    ours.host.serve(ourRoutes)
    oursAuth = await createAuthenticatingPeer(cert)
    ours.host.handle('/kv/1', (req, res) => { res.end(JSON.stringify({ url: req.url, original: originalUrl(req), peer: remotePeer(req)?.toString() })) })
  }, 11 * 60_000)

  afterAll(async () => {
    await go?.close()
    await stopPeers(ours, oursAuth)
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  describe('/http/1.1 streams: go client -> our server', () => {
    const target = (path: string): string => `multiaddr:${ourStreamAddr()}${httpPath(path)}`

    for (const size of SIZES) {
      for (const chunked of [false, true]) {
        it(`GET of ${size} B (${chunked ? 'chunked' : 'Content-Length'})`, async () => {
          const a = expectOk(await go.request({ op: 'fetch', url: target(`/bytes?n=${size}${chunked ? '&chunked=1' : ''}`) }))
          expect(a.status).toBe(200)
          expect(a.bodyLen).toBe(size)
          expect(a.bodySha256).toBe(PATTERN_SHA.get(size))
          expect(a.serverPeer).toBe(ours.node.peerId.toString())
        })

        it(`POST of ${size} B (${chunked ? 'chunked' : 'Content-Length'}), the stream half-closed after the request`, async () => {
          const echo = ourEchoOf(await go.request({ op: 'fetch', method: 'POST', url: target('/echo'), bodySize: size, chunked }))
          expect(echo.method).toBe('POST')
          expect(echo.bodyLen).toBe(size)
          expect(echo.bodySha256).toBe(PATTERN_SHA.get(size))
          expect(echo.peer).toBe(go.peerId)
          if (chunked && size > 0) expect(echo.headers['transfer-encoding']).toBe('chunked')
          else expect(echo.headers['content-length'] ?? '0').toBe(String(size))
        })
      }
    }

    it('a streamed response (server-sent events) is read incrementally', async () => {
      const a = expectOk(await go.request({ op: 'fetch', url: target('/sse'), thenGet: target('/release') }))
      expect(a.headers?.['content-type']).toBe('text/event-stream')
      expect(a.firstChunk).toBe('data: one\n\n')
      expect(a.body).toBe('data: one\n\ndata: two\n\ndata: three\n\n')
    })

    it('a 404', async () => {
      const a = expectOk(await go.request({ op: 'fetch', url: target('/nothing-here') }))
      expect(a.status).toBe(404)
      expect(a.body).toBe('not found: /nothing-here')
    })

    it('a query string reaches the handler', async () => {
      const echo = ourEchoOf(await go.request({ op: 'fetch', url: target('/echo?a=1&b=two') }))
      expect(echo.url).toBe('/echo?a=1&b=two')
    })
  })

  describe('/http/1.1 streams: our client -> go server', () => {
    const target = (path: string): string => `multiaddr:${goStreamAddr()}${httpPath(path)}`

    for (const size of SIZES) {
      for (const chunked of [false, true]) {
        it(`GET of ${size} B (${chunked ? 'chunked' : 'Content-Length'})`, async () => {
          const res = await ours.host.fetch(target(`/bytes?n=${size}${chunked ? '&chunked=1' : ''}`))
          expect(res.status).toBe(200)
          expect(res.headers.get('content-length')).toBe(chunked ? null : String(size))
          const body = new Uint8Array(await res.arrayBuffer())
          expect(body.byteLength).toBe(size)
          expect(sha256(body)).toBe(PATTERN_SHA.get(size))
          expect(serverPeer(res)?.toString()).toBe(go.peerId)
        })

        it(`POST of ${size} B (${chunked ? 'chunked' : 'Content-Length'})`, async () => {
          const bytes = pattern(size)
          const body = chunked
            ? new ReadableStream<Uint8Array>({ start (c) { if (size > 0) c.enqueue(bytes); c.close() } })
            : bytes
          const res = await ours.host.fetch(target('/echo'), { method: 'POST', body, duplex: 'half' })
          const echo = await res.json() as Echo
          expect(res.status).toBe(200)
          expect(echo.bodyLen).toBe(size)
          expect(echo.bodySha256).toBe(PATTERN_SHA.get(size))
          expect(echo.peer).toBe(ours.node.peerId.toString())
          // undici sends an empty stream body as `Content-Length: 0`
          if (chunked && size > 0) expect(echo.transferEncoding).toEqual(['chunked'])
          else expect(echo.contentLength).toBe(size)
        })
      }
    }

    it('a streamed response (server-sent events) is read incrementally', async () => {
      const res = await ours.host.fetch(target('/sse'))
      expect(res.headers.get('content-type')).toBe('text/event-stream')
      const reader = res.body!.getReader()
      const first = await reader.read()
      expect(new TextDecoder().decode(first.value)).toBe('data: one\n\n')
      expect(await (await ours.host.fetch(target('/release'))).text()).toBe('released')
      let rest = ''
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
      expect(rest).toBe('data: two\n\ndata: three\n\n')
    })

    it('a 404', async () => {
      const res = await ours.host.fetch(target('/nothing-here'))
      expect(res.status).toBe(404)
      expect(await res.text()).toBe('not found: /nothing-here\n')
    })

    it('a query string reaches the handler', async () => {
      const echo = await (await ours.host.fetch(target('/echo?a=1&b=two'))).json() as Echo
      expect(echo.requestURI).toBe('/echo?a=1&b=two')
      expect(echo.rawQuery).toBe('a=1&b=two')
    })
  })

  describe('native HTTPS: go client (libp2phttp.Host) -> our /tls/http listener', () => {
    const target = (path: string): string => `multiaddr:${ourHTTPSAddr()}${httpPath(path)}`

    it('GET of 8 MiB, with the test CA trusted', async () => {
      const a = expectOk(await go.request({ op: 'fetch', url: target(`/bytes/${8 * MiB}`) }))
      expect(a.status).toBe(200)
      expect(a.bodySha256).toBe(PATTERN_SHA.get(8 * MiB))
    })

    it('POST of 8 MiB, chunked', async () => {
      const echo = ourEchoOf(await go.request({ op: 'fetch', method: 'POST', url: target('/echo'), bodySize: 8 * MiB, chunked: true }))
      expect(echo.bodySha256).toBe(PATTERN_SHA.get(8 * MiB))
      expect(echo.headers['transfer-encoding']).toBe('chunked')
      expect(echo.peer).toBeUndefined()
    })

    it('a streamed response (server-sent events) is read incrementally', async () => {
      const a = expectOk(await go.request({ op: 'fetch', url: target('/sse'), thenGet: target('/release') }))
      expect(a.firstChunk).toBe('data: one\n\n')
      expect(a.body).toBe('data: one\n\ndata: two\n\ndata: three\n\n')
    })

    it('a 404', async () => {
      expect(expectOk(await go.request({ op: 'fetch', url: target('/nothing-here') })).status).toBe(404)
    })

    it('an https URL (no multiaddr)', async () => {
      const port = /\/tcp\/(\d+)\//.exec(ourHTTPSAddr())![1]
      const echo = ourEchoOf(await go.request({ op: 'fetch', url: `https://localhost:${port}/echo?a=1` }))
      expect(echo.url).toBe('/echo?a=1')
      expect(echo.headers.host).toBe(`localhost:${port}`)
    })
  })

  describe('native HTTPS: our client -> go\'s HTTPS listener', () => {
    // go prints its listener as `/ip4/…/tcp/N/https`, the deprecated alias of `/tls/http`
    const target = (path: string): string => `multiaddr:${goHTTPSAddr()}${httpPath(path)}`

    it('go prints /https, which we read as /tls/http', () => {
      expect(goHTTPSAddr()).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/https$/)
    })

    it('GET of 8 MiB (chunked), with the test CA trusted', async () => {
      const res = await ours.host.fetch(target(`/bytes?n=${8 * MiB}&chunked=1`))
      expect(res.status).toBe(200)
      expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(PATTERN_SHA.get(8 * MiB))
    })

    it('POST of 8 MiB (Content-Length), to a /tls/http multiaddr with /http-path', async () => {
      const url = `multiaddr:${goHTTPSAddr().replace(/\/https$/, '/tls/http')}${httpPath('/echo')}`
      const res = await ours.host.fetch(url, { method: 'POST', body: pattern(8 * MiB) })
      const echo = await res.json() as Echo
      expect(echo.bodySha256).toBe(PATTERN_SHA.get(8 * MiB))
      expect(echo.contentLength).toBe(8 * MiB)
      expect(echo.tls).toBe(true)
    })

    it('a streamed response (server-sent events) is read incrementally', async () => {
      const res = await ours.host.fetch(target('/sse'))
      const reader = res.body!.getReader()
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: one\n\n')
      await (await ours.host.fetch(target('/release'))).text()
      let rest = ''
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
      expect(rest).toBe('data: two\n\ndata: three\n\n')
    })

    it('a 404', async () => {
      expect((await ours.host.fetch(target('/nothing-here'))).status).toBe(404)
    })

    it('a query string in /http-path reaches the handler as a query', async () => {
      const echo = await (await ours.host.fetch(target('/echo?a=1&b=two'))).json() as Echo
      expect(echo.requestURI).toBe('/echo?a=1&b=two')
    })

    it('go\'s HTTPS listener runs no Peer ID Authentication: a target naming go with its stream address too falls back to the stream', async () => {
      const fresh = await createPeer({ clientTLS: { ca: caCert } })
      try {
        const named = (path: string): Multiaddr[] => [multiaddr(`${goHTTPSAddr()}/p2p/${go.peerId}${httpPath(path)}`), multiaddr(goStreamAddr())]
        const res = await fresh.host.fetch(named('/echo'), { method: 'POST', body: 'over the stream', signal: AbortSignal.timeout(10_000) })
        expect(transportOf(res)).toEqual({ transport: 'stream', reason: expect.stringMatching(/rule 6.*without a libp2p-PeerID challenge.*using a stream instead/) })
        expect(serverPeer(res)?.toString()).toBe(go.peerId)
        const echo = await res.json() as Echo
        expect(echo).toMatchObject({ method: 'POST', tls: false, peer: fresh.node.peerId.toString(), bodyLen: 'over the stream'.length })
        // only its HTTPS address: nothing to fall back to
        const err = await fresh.host.fetch(named('/echo').slice(0, 1), { signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e)
        expect(err).toMatchObject({ code: 'ERR_PEER_AUTH_UNSUPPORTED', status: 200 })
      } finally {
        await stopPeers(fresh)
      }
    })

    it('a /dns4/localhost address (TLS server name localhost)', async () => {
      const port = /\/tcp\/(\d+)\//.exec(goHTTPSAddr())![1]
      const echo = await (await ours.host.fetch(`multiaddr:/dns4/localhost/tcp/${port}/tls/http${httpPath('/echo')}`)).json() as Echo
      expect(echo.host).toBe(`localhost:${port}`)
    })
  })

  describe('/.well-known/libp2p/protocols', () => {
    const OUR_MAP = { '/http-ping/1': { path: '/http-ping/1/' }, '/kv/1': { path: '/kv/1/' } }
    const GO_MAP = {
      '/kv/1': { path: '/kv-go/' },
      '/http-ping/1': { path: '/http-ping/1/' },
      '/auth/1': { path: '/auth/' },
      '/auth-host/1': { path: '/auth-host/' }
    }
    // go, like us, uses an open libp2p connection over an HTTP address unless told otherwise
    const ourHTTPS = (): { peer: string, addrs: string[], preferHTTP: boolean } => ({ peer: ours.node.peerId.toString(), addrs: [ourHTTPSAddr()], preferHTTP: true })
    const ourStream = (): { peer: string, addrs: string[], preferHTTP: boolean } => ({ peer: ours.node.peerId.toString(), addrs: [ourStreamAddr().replace(/\/p2p\/.*$/, '')], preferHTTP: false })

    for (const [transport, server] of [['streams', ourStream], ['native HTTPS', ourHTTPS]] as const) {
      it(`go reads our map (${transport})`, async () => {
        const a = expectOk(await go.request({ op: 'wellknown', ...server() }))
        expect(a.map).toEqual(OUR_MAP)
      })

      it(`go's NamespacedClient reaches our mount (${transport})`, async () => {
        const a = expectOk(await go.request({ op: 'client', protocol: '/kv/1', path: '/keys/a?x=1', ...server() }))
        const seen = JSON.parse(a.body ?? '') as { url: string, original: string, peer?: string }
        expect(seen.url).toBe('/keys/a?x=1')
        expect(seen.original).toBe('/kv/1/keys/a?x=1')
        expect(seen.peer).toBe(transport === 'streams' ? go.peerId : undefined)
      })
    }

    const goTargets = { streams: (): string => `multiaddr:${goStreamAddr()}`, 'native HTTPS': (): string => `multiaddr:${goHTTPSAddr()}` }
    for (const [transport, target] of Object.entries(goTargets)) {
      it(`we read go's map (${transport})`, async () => {
        expect(await ours.host.protocols(target(), { refresh: true })).toEqual(GO_MAP)
      })

      it(`host.client(peer, protocol) reaches go's SetHTTPHandlerAtPath (${transport})`, async () => {
        const res = await ours.host.client(target(), '/kv/1').fetch('/keys/a?x=1')
        const echo = await res.json() as Echo
        expect(echo.requestURI).toBe('/kv-go/keys/a?x=1')
        expect(echo.path).toBe('/keys/a')
        expect(echo.rawQuery).toBe('x=1')
      })
    }
  })

  describe('/http-ping/1', () => {
    it('go pings us (streams)', async () => {
      expectOk(await go.request({ op: 'ping', peer: ours.node.peerId.toString(), addrs: [ourStreamAddr().replace(/\/p2p\/.*$/, '')] }))
    })

    it('go pings us (native HTTPS)', async () => {
      expectOk(await go.request({ op: 'ping', peer: ours.node.peerId.toString(), addrs: [ourHTTPSAddr()], preferHTTP: true }))
    })

    it('we ping go (streams)', async () => {
      expect(await ours.host.ping(`multiaddr:${goStreamAddr()}`)).toBeGreaterThanOrEqual(0)
    })

    it('we ping go (native HTTPS)', async () => {
      expect(await ours.host.ping(`multiaddr:${goHTTPSAddr()}`)).toBeGreaterThanOrEqual(0)
    })
  })

  describe('Peer ID Authentication', () => {
    const otherPeer = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const portOf = (addr: string): string => /\/tcp\/(\d+)\//.exec(addr)![1]

    describe('go\'s ClientPeerIDAuth -> our server', () => {
      const target = (path: string, peer = oursAuth.node.peerId.toString()): string => {
        const port = portOf(oursAuth.host.addrs().map(String).find(a => a.includes('/tls/http'))!)
        return `multiaddr:/dns4/localhost/tcp/${port}/tls/http/p2p/${peer}${httpPath(path)}`
      }

      it('authenticates both ways, then reuses its token', async () => {
        const first = expectOk(await go.request({ op: 'fetch', url: target('/whoami') }))
        expect(first.status).toBe(200)
        expect(first.serverPeer).toBe(oursAuth.node.peerId.toString())
        expect(first.hadToken ?? false).toBe(false)
        expect(first.body).toBe(`hello ${go.peerId} GET "" peer-id-auth`)

        const second = expectOk(await go.request({ op: 'fetch', url: target('/whoami') }))
        expect(second.hadToken).toBe(true)
        expect(second.body).toBe(`hello ${go.peerId} GET "" peer-id-auth-token`)
      })

      it('a POST body arrives once the server is authenticated', async () => {
        const a = expectOk(await go.request({ op: 'fetch', method: 'POST', url: target('/whoami'), body: 'payload' }))
        expect(a.body).toMatch(new RegExp(`^hello ${go.peerId} POST "payload" `))
      })

      it('a target naming another peer is refused by go', async () => {
        const a = await go.request({ op: 'fetch', url: target('/whoami', await otherPeer()) })
        expect(a.error).toMatch(/authenticated server ID does not match expected server ID/)
      })
    })

    describe('our client -> go\'s ServerPeerIDAuth', () => {
      const goPort = (): string => portOf(goHTTPSAddr())
      const target = (path: string, peer = go.peerId, port = goPort()): string => `multiaddr:/dns4/localhost/tcp/${port}/tls/http/p2p/${peer}${httpPath(path)}`
      const hitsOf = (body: string): number => Number(/hits=(\d+)$/.exec(body)![1])

      it('authenticates both ways (Host checked by ValidHostnameFn), then reuses its token', async () => {
        const first = await ours.host.fetch(target('/auth-host/'))
        const firstBody = await first.text()
        expect(first.status).toBe(200)
        expect(serverPeer(first)?.toString()).toBe(go.peerId)
        expect(firstBody).toMatch(new RegExp(`^hello ${ours.node.peerId.toString()} GET ""`))

        const second = await ours.host.fetch(target('/auth-host/'))
        const secondBody = await second.text()
        expect(second.status).toBe(200)
        expect(serverPeer(second)?.toString()).toBe(go.peerId)
        // one request more at go's endpoint: the token, no new handshake
        expect(hitsOf(secondBody)).toBe(hitsOf(firstBody) + 1)
      })

      it('a POST body reaches go\'s handler', async () => {
        const res = await ours.host.fetch(target('/auth-host/'), { method: 'POST', body: 'payload' })
        expect(await res.text()).toMatch(new RegExp(`^hello ${ours.node.peerId.toString()} POST "payload"`))
      })

      it('a target naming another peer is refused by us (ERR_PEER_MISMATCH)', async () => {
        const err = await ours.host.fetch(target('/auth-host/', await otherPeer())).catch((e: unknown) => e)
        expect(err).toMatchObject({ code: 'ERR_PEER_MISMATCH', expected: expect.any(String), actual: go.peerId })
      })

      it('go\'s default check (Host must equal the TLS server name) refuses a Host with a port: 400 on any port but 443', async () => {
        // a client without tokens: ours holds one for this Host from the tests above, and a token is
        // presented without a handshake (go's client does the same)
        const fresh = await createPeer({ clientTLS: { ca: (await testCertificate()).cert } })
        try {
          const err = await fresh.host.fetch(target('/auth/')).catch((e: unknown) => e)
          expect(err).toMatchObject({ code: 'ERR_PEER_AUTH_UNSUPPORTED', status: 400, message: expect.stringMatching(/answered 400 without a libp2p-PeerID challenge/) })
        } finally {
          await stopPeers(fresh)
        }
      })

      it('go\'s default check on port 443 (Host without a port)', async (ctx) => {
        if (!go.listen443) ctx.skip('127.0.0.1:443 could not be bound by the go peer')
        const res = await ours.host.fetch(target('/auth/', go.peerId, '443'))
        expect(res.status).toBe(200)
        expect(serverPeer(res)?.toString()).toBe(go.peerId)
        expect(await res.text()).toMatch(new RegExp(`^hello ${ours.node.peerId.toString()} GET ""`))
      })
    })
  })

  describe('/http-path edge cases where go differs (the spec followed; decisions.md "Interoperability")', () => {
    // What go and we send as the request target for the same `/http-path` value (as written in the
    // multiaddr), seen by the other side's server. `go` over streams and over HTTPS, then ours (the
    // same on both transports). A number is the status our server answered (go's request line was broken, or its target had dot segments).
    const CASES: Array<{ value: string, goStreams: string | number, goHTTPS: string | number, ours: string }> = [
      // `+` is a literal plus in RFC 3986 percent-encoding; go reads the value with QueryUnescape (a space),
      // and over streams writes that space into the request line
      { value: 'echo%2Fa+b', goStreams: 400, goHTTPS: '/echo/a%20b', ours: '/echo/a+b' },
      { value: 'echo%2Fa%2Bb', goStreams: '/echo/a+b', goHTTPS: '/echo/a+b', ours: '/echo/a+b' },
      // a value starting with `/`: one leading slash, not two, on both sides
      { value: '%2Fecho%2Fuser', goStreams: '/echo/user', goHTTPS: '/echo/user', ours: '/echo/user' },
      // dot segments: go sends them as they are, and our server refuses such a target (400, issue 14);
      // we resolve them (RFC 3986 §5.2.4) before sending, so the request is the one the address means
      { value: 'echo%2F..%2Fecho%2Fx', goStreams: 400, goHTTPS: 400, ours: '/echo/x' },
      // `?`: a query on streams for both; go's HTTPS client escapes it into the path
      { value: 'echo%3Fa%3D1', goStreams: '/echo?a=1', goHTTPS: '/echo%3Fa=1', ours: '/echo?a=1' },
      // a space: go writes it raw on streams (a broken request line); escaped otherwise
      { value: 'echo%2Fa%20b%3Fq%3Dx%20y', goStreams: 400, goHTTPS: '/echo/a%20b%3Fq=x%20y', ours: '/echo/a%20b?q=x%20y' }
    ]
    const seen = (a: GoAnswer): string | number => a.status === 200 ? (JSON.parse(a.body ?? '') as OurEcho).url : a.status ?? a.error ?? '?'

    for (const c of CASES) {
      it(`/http-path/${c.value}`, async () => {
        const goStreams = await go.request({ op: 'fetch', url: `multiaddr:${ourStreamAddr()}/http-path/${c.value}` })
        const goHTTPS = await go.request({ op: 'fetch', url: `multiaddr:${ourHTTPSAddr()}/http-path/${c.value}` })
        const oursStreams = await (await ours.host.fetch(`multiaddr:${goStreamAddr()}/http-path/${c.value}`)).json() as Echo
        const oursHTTPS = await (await ours.host.fetch(`multiaddr:${goHTTPSAddr()}/http-path/${c.value}`)).json() as Echo
        expect({ goStreams: seen(goStreams), goHTTPS: seen(goHTTPS), oursStreams: oursStreams.requestURI, oursHTTPS: oursHTTPS.requestURI })
          .toEqual({ goStreams: c.goStreams, goHTTPS: c.goHTTPS, oursStreams: c.ours, oursHTTPS: c.ours })
      })
    }
  })

  describe('a well-known map with a bad entry', () => {
    let server: Server | undefined
    afterAll(async () => { await new Promise(resolve => server?.close(resolve) ?? resolve(undefined)) })

    it('go keeps every entry unchecked; we keep the good ones and report the bad ones', async () => {
      const cert = await testCertificate()
      const map = '{"/good/1":{"path":"/good/"},"/relative/1":{"path":"relative/"},"/nopath/1":{}}'
      server = createServer(cert, (_req, res) => { res.setHeader('content-type', 'application/json'); res.end(map) })
      await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve))
      const addr = `/ip4/127.0.0.1/tcp/${(server.address() as AddressInfo).port}/tls/http`

      const theirs = expectOk(await go.request({ op: 'wellknown', addrs: [addr], preferHTTP: true }))
      expect(theirs.map).toEqual({ '/good/1': { path: '/good/' }, '/relative/1': { path: 'relative/' }, '/nopath/1': { path: '' } })

      const mine = await ours.host.protocols(`multiaddr:${addr}`)
      expect(mine).toEqual({ '/good/1': { path: '/good/' } })
      expect(invalidEntriesOf(mine)).toEqual([
        { protocol: '/relative/1', reason: 'the path "relative/" of "/relative/1" is not absolute' },
        { protocol: '/nopath/1', reason: 'the entry of "/nopath/1" has no string "path"' }
      ])
    })
  })
})
