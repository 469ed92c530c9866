/**
 * The Web path (`src/web/http1/`) with go-libp2p's `p2p/http` (the peer of `go.test.ts`): our Web client
 * against go's server on `/http/1.1` streams, go's client against our Web server. Skipped without a Go
 * toolchain, unless `CI=true`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { serverPeer } from '../../src/index.js'
import { withHTTPPath } from '../../src/addr/addressing.js'
import { createHTTPHost as createWebHost } from '../../src/web/host.js'
import { createNode, sleep, until } from '../helpers/nodes.js'
import { openHTTPStreams } from '../helpers/raw-stream.js'
import { testCertificate } from '../helpers/tls.js'
import { interopSuite, pattern, sha256 } from './child-peer.js'
import { serveWebRoutes } from './web-routes.js'
import { GO_LIBP2P_VERSION, goMissing, goPeerBinary, startGoPeer } from './go-peer.js'
import type { GoAnswer, GoPeer } from './go-peer.js'
import type { BrowserHTTPHost } from '../../src/web/host.js'
import type { Libp2p } from '@libp2p/interface'

const missing = await goMissing()
const suite = interopSuite('test/interop/web-go.test.ts', missing)

let go: GoPeer
let node: Libp2p
/** Our Web client: the browser entry's host on a node of its own (`node` serves the Web routes). */
let clientNode: Libp2p
let web: BrowserHTTPHost
let dir: string

interface GoEcho { method: string, host: string, contentLength: number, transferEncoding: string[] | null, bodyLen: number, bodySha256: string, peer: string }

function expectOk (a: GoAnswer): GoAnswer {
  expect(a.error, `go: ${a.error ?? ''}\n${go.stderr()}`).toBeUndefined()
  return a
}

suite(`the Web path with go-libp2p ${GO_LIBP2P_VERSION}`, () => {
  beforeAll(async () => {
    if (missing != null) throw new Error(`CI=true and ${missing}: the go interop suite must run on CI`)
    const binary = await goPeerBinary()
    dir = await mkdtemp(join(tmpdir(), 'libp2phttp-web-go-'))
    const cert = await testCertificate()
    await writeFile(join(dir, 'cert.pem'), cert.cert)
    await writeFile(join(dir, 'key.pem'), cert.key)
    go = await startGoPeer(binary, { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'cert.pem') })
    node = await createNode()
    await serveWebRoutes(node)
    clientNode = await createNode()
    web = await createWebHost({ libp2p: clientNode })
  }, 11 * 60_000)

  afterAll(async () => {
    await go?.close()
    await web?.close({ timeout: 100 })
    await clientNode?.stop()
    await node?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  async function ourFetch (path: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Response> {
    // the host's own stream opener and negotiation (optimistic), as a page uses them
    return await web.fetch(`multiaddr:${withHTTPPath(multiaddr(`${go.streamAddrs[0]}/p2p/${go.peerId}`), path).toString()}`, { ...init, signal: AbortSignal.timeout(20_000) })
  }

  for (const chunked of [false, true]) {
    it(`our Web client -> go's server: GET of 4 MiB (${chunked ? 'chunked' : 'Content-Length'})`, async () => {
      const res = await ourFetch(`/bytes?n=${4 * 1024 * 1024}${chunked ? '&chunked=1' : ''}`)
      expect(res.status).toBe(200)
      const body = new Uint8Array(await res.arrayBuffer())
      expect([body.byteLength, sha256(body)]).toEqual([4 * 1024 * 1024, sha256(pattern(4 * 1024 * 1024))])
      expect(serverPeer(res)?.toString()).toBe(go.peerId)
    })
  }

  it('our Web client -> go\'s server: POSTs with Content-Length and chunked, our peer id seen', async () => {
    const sized = await (await ourFetch('/echo', { method: 'POST', body: pattern(100_000) as Uint8Array<ArrayBuffer> })).json() as GoEcho
    expect([sized.method, sized.contentLength, sized.bodyLen, sized.bodySha256, sized.peer]).toEqual(['POST', 100_000, 100_000, sha256(pattern(100_000)), clientNode.peerId.toString()])
    const streamed = new ReadableStream<Uint8Array>({
      async start (controller) {
        for (let i = 0; i < 4; i++) { await sleep(5); controller.enqueue(new Uint8Array(1000).fill(i)) }
        controller.close()
      }
    })
    const chunked = await (await ourFetch('/echo', { method: 'POST', body: streamed, duplex: 'half' })).json() as GoEcho
    expect([chunked.transferEncoding, chunked.bodyLen]).toEqual([['chunked'], 4000])
    await until(() => openHTTPStreams(clientNode) === 0, 5000, 'our streams to close')
  })

  it('go\'s client -> our Web server: GET, POST (Content-Length and chunked, the stream half-closed), a 404', async () => {
    const target = (path: string): string => `multiaddr:${node.getMultiaddrs()[0].toString()}/http-path/${encodeURIComponent(path.replace(/^\//, ''))}`
    const got = expectOk(await go.request({ op: 'fetch', url: target('/bytes/1048576') }))
    expect([got.status, got.bodyLen, got.bodySha256, got.serverPeer]).toEqual([200, 1048576, sha256(pattern(1048576)), node.peerId.toString()])
    for (const chunked of [false, true]) {
      const echo = JSON.parse(expectOk(await go.request({ op: 'fetch', method: 'POST', url: target('/echo'), bodySize: 50_000, chunked })).body ?? '') as { bodyLen: number, bodySha256: string, peer: string, te: string | null }
      expect([echo.bodyLen, echo.bodySha256, echo.peer, echo.te]).toEqual([50_000, sha256(pattern(50_000)), go.peerId, chunked ? 'chunked' : null])
    }
    expect(expectOk(await go.request({ op: 'fetch', url: target('/nope') })).status).toBe(404)
    await until(() => openHTTPStreams(node) === 0, 5000, 'our streams to close')
  })
})
