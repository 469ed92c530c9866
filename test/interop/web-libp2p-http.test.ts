/**
 * The Web path (`src/web/http1/`) with the reference js implementation, `@libp2p/http` 2.0.6 as
 * published (under Node 22, a child process: see `libp2p-http-peer.ts`): our Web client against their
 * server, their two clients against our Web server. Skipped where the pinned Node 22 cannot run, unless
 * `CI=true`.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { base36 } from 'multiformats/bases/base36'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { serverPeer } from '../../src/index.js'
import { withHTTPPath } from '../../src/addr/addressing.js'
import { createHTTPHost as createWebHost } from '../../src/web/host.js'
import { createNode, until } from '../helpers/nodes.js'
import { openHTTPStreams } from '../helpers/raw-stream.js'
import { interopSuite, pattern, sha256 } from './child-peer.js'
import { serveWebRoutes } from './web-routes.js'
import { LIBP2P_HTTP_VERSION, libp2pHTTPMissing, startLibp2pHTTPPeer } from './libp2p-http-peer.js'
import type { JSAnswer, JSPeer } from './libp2p-http-peer.js'
import type { BrowserHTTPHost } from '../../src/web/host.js'
import type { Libp2p } from '@libp2p/interface'

const missing = libp2pHTTPMissing()
const suite = interopSuite('test/interop/web-libp2p-http.test.ts', missing)

let js: JSPeer
let node: Libp2p
/** Our Web client: the browser entry's host on a node of its own (`node` serves the Web routes). */
let clientNode: Libp2p
let web: BrowserHTTPHost

suite(`the Web path with @libp2p/http ${LIBP2P_HTTP_VERSION}`, () => {
  beforeAll(async () => {
    if (missing != null) throw new Error(`CI=true and ${missing}: the @libp2p/http interop suite must run on CI`)
    js = await startLibp2pHTTPPeer()
    node = await createNode()
    await serveWebRoutes(node)
    clientNode = await createNode()
    web = await createWebHost({ libp2p: clientNode })
  }, 6 * 60_000)

  afterAll(async () => {
    await js?.close()
    await web?.close({ timeout: 100 })
    await clientNode?.stop()
    await node?.stop()
  })

  const theirs = (): string => `http://${peerIdFromString(js.peerId).toCID().toString(base36)}`

  async function ourFetch (path: string, init: RequestInit = {}): Promise<Response> {
    // the host's own stream opener and negotiation (optimistic), as a page uses them
    return await web.fetch(`multiaddr:${withHTTPPath(multiaddr(js.streamAddrs[0]), path).toString()}`, { ...init, signal: AbortSignal.timeout(20_000) })
  }

  for (const size of [0, 1024, 4 * 1024 * 1024]) {
    it(`our Web client -> their server: GET of ${size} B`, async () => {
      const res = await ourFetch('/bytes', { headers: { 'x-size': String(size) } })
      expect(res.status).toBe(200)
      const body = new Uint8Array(await res.arrayBuffer())
      expect([body.byteLength, sha256(body)]).toEqual([size, sha256(pattern(size))])
      expect(serverPeer(res)?.toString()).toBe(js.peerId)
    })
  }

  it('our Web client -> their server: POSTs reach their handler whole (the head in a frame of its own), Host is the base36 peer id', async () => {
    for (const size of [1, 1000, 256 * 1024]) {
      const res = await ourFetch('/echo', { method: 'POST', body: pattern(size) as Uint8Array<ArrayBuffer> })
      const echo = await res.json() as { method: string, bodyLen: number, bodySha256: string, host: string }
      expect([echo.method, echo.bodyLen, echo.bodySha256]).toEqual(['POST', size, sha256(pattern(size))])
      expect(`http://${echo.host}`).toBe(theirs())
    }
    await until(() => openHTTPStreams(clientNode) === 0, 5000, 'our streams to close')
  })

  for (const op of ['fetch', 'dispatcher'] as const) {
    const ourAddr = (): string => node.getMultiaddrs()[0].toString()
    const request = async (path: string, init: { method?: string, bodySize?: number } = {}): Promise<JSAnswer> =>
      op === 'fetch'
        ? await js.request({ op, target: `${ourAddr()}/http-path/${encodeURIComponent(path.replace(/^\//, ''))}`, ...init })
        : await js.request({ op, target: ourAddr(), path, ...init })

    it(`their ${op} -> our Web server: GET of 4 MiB, POST with the caller's peer id, a 404`, async () => {
      const got = await request('/bytes/4194304')
      expect(got.error).toBeUndefined()
      expect([got.status, got.bodyLen, got.bodySha256]).toEqual([200, 4194304, sha256(pattern(4194304))])
      const posted = await request('/echo', { method: 'POST', bodySize: 100_000 })
      expect(posted.error).toBeUndefined()
      const echo = JSON.parse(posted.body ?? '') as { bodyLen: number, bodySha256: string, peer: string }
      expect([echo.bodyLen, echo.bodySha256, echo.peer]).toEqual([100_000, sha256(pattern(100_000)), js.peerId])
      expect((await request('/nope')).status).toBe(404)
    })
  }
})
