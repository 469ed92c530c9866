/**
 * Interop with Kubo v0.43.1 (`cmd/ipfs`, built from `test/interop/kubo/` and run as a daemon, see
 * `kubo-peer.ts`), loopback only: its trustless gateway over libp2p (`Experimental.GatewayOverLibp2p`,
 * go-libp2p's `p2p/http` on `/http/1.1` streams), and its p2p HTTP proxy (`Experimental.P2pHttpProxy`:
 * `/p2p/<peer>/http/…` on its gateway opens a `/http` stream, `/p2p/<peer>/x/<name>/http/…` an
 * `/x/<name>/http` one, and writes plain HTTP/1.1 on it) towards a `libp2phttp serve` process. One daemon
 * for the file; our side is a real js-libp2p node (TCP + noise + yamux) with `createHTTPHost`, and the
 * real commands. Last, our `gateway --stream-protocol /http` towards a Kubo `ipfs p2p listen
 * --allow-custom-protocol /http` provider (Kubo pipes each stream's bytes to a local TCP port).
 *
 * With `CI=true` the suite must run (no Go fails it); elsewhere it is skipped, with the reason printed,
 * when `go` is not on PATH.
 */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnCLI } from '../helpers/cli.js'
import { createPeer, stopPeers } from '../helpers/nodes.js'
import { matchesCid, readCar } from './car.js'
import { KUBO_VERSION, goMissing, kuboBinary, startKubo } from './kubo-peer.js'
import type { Kubo } from './kubo-peer.js'
import type { CLIProcess } from '../helpers/cli.js'
import type { Peer } from '../helpers/nodes.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const missing = await goMissing()
if (missing != null && process.env.CI !== 'true') {
  // eslint-disable-next-line no-console
  console.warn(`test/interop/kubo.test.ts skipped: ${missing} (with CI=true it fails instead)`)
}
const suite = missing != null && process.env.CI !== 'true' ? describe.skip : describe

const KiB = 1024
// random: a repeating pattern would make equal chunks, which a DAG (and its CAR) holds once
/** One raw block (under Kubo's 256 KiB chunks). */
const SMALL = randomBytes(100 * KiB)
/** Three raw leaves under a dag-pb root. */
const LARGE = randomBytes(600 * KiB)
const GATEWAY = '/ipfs/gateway'

let kubo: Kubo
let ours: Peer
let dir: string
let smallCid: CID
let largeCid: CID
/** A local HTTP service that answers with what it saw, the upstream of `serve`. */
let upstream: Server
let serve: CLIProcess
let gateways: CLIProcess[] = []
let servePeer: string

/** What the upstream saw of a request. */
interface Seen { url: string, method: string, headers: Record<string, string | string[] | undefined>, body: string }

function echo (req: IncomingMessage, res: ServerResponse): void {
  let body = ''
  req.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => {
    const seen: Seen = { url: req.url ?? '', method: req.method ?? '', headers: req.headers, body }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(seen))
  })
}

/** Add `bytes` to Kubo as a CIDv1 UnixFS file with raw leaves. */
async function add (name: string, bytes: Uint8Array): Promise<CID> {
  const path = join(dir, name)
  await writeFile(path, bytes)
  return CID.parse((await kubo.cli(['add', '-Q', '--cid-version', '1', '--raw-leaves', '--chunker', 'size-262144', path])).trim())
}

const kuboTarget = (): string => `multiaddr:${kubo.swarmAddr}/p2p/${kubo.peerId}`

suite(`Kubo ${KUBO_VERSION} interop`, () => {
  beforeAll(async () => {
    if (missing != null) throw new Error(`CI=true and ${missing}: the Kubo interop suite must run on CI`)
    const binary = await kuboBinary()
    dir = await mkdtemp(join(tmpdir(), 'libp2phttp-kubo-test-'))
    kubo = await startKubo(binary, { GatewayOverLibp2p: true, Libp2pStreamMounting: true, P2pHttpProxy: true })
    smallCid = await add('small', SMALL)
    largeCid = await add('large', LARGE)
    ours = await createPeer()

    upstream = createServer(echo)
    await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
    const upstreamURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
    const other = (await createPeer()).node
    const config = join(dir, 'serve.json')
    await writeFile(config, JSON.stringify({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      services: [
        { upstream: upstreamURL, allow: [kubo.peerId] },
        { upstream: upstreamURL, protocol: '/x/echo', allow: [kubo.peerId] },
        { upstream: upstreamURL, protocol: '/x/closed', allow: [other.peerId.toString()] }
      ]
    }))
    await other.stop()
    serve = spawnCLI(['serve', '--config', config, '--key', join(dir, 'serve-key')])
    servePeer = (await serve.line(/^peer /, { timeout: 20_000 })).slice('peer '.length)
    const listen = (await serve.line(/^listen \/ip4\/127\.0\.0\.1\/tcp\//)).slice('listen '.length)
    await kubo.cli(['swarm', 'connect', listen.includes('/p2p/') ? listen : `${listen}/p2p/${servePeer}`])
  }, 15 * 60_000)

  afterAll(async () => {
    await serve?.kill()
    for (const g of gateways) await g.kill()
    if (upstream != null) await new Promise(resolve => upstream.close(resolve))
    await stopPeers(ours)
    await kubo?.close()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  describe('trustless gateway over libp2p (Experimental.GatewayOverLibp2p)', () => {
    it(`we find ${GATEWAY} in Kubo's well-known map`, async () => {
      const map = await ours.host.protocols(kuboTarget(), { refresh: true })
      expect(map[GATEWAY]).toEqual({ path: '/' })
    })

    it('a block (application/vnd.ipld.raw) is the bytes its CID names', async () => {
      const res = await ours.host.client(kuboTarget(), GATEWAY).fetch(`/ipfs/${smallCid.toString()}`, { headers: { accept: 'application/vnd.ipld.raw' } })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/vnd.ipld.raw')
      const bytes = new Uint8Array(await res.arrayBuffer())
      expect(smallCid.code).toBe(0x55) // raw
      expect(await matchesCid(smallCid, bytes)).toBe(true)
      expect(Buffer.from(bytes).equals(SMALL)).toBe(true)
    })

    it('a CAR (application/vnd.ipld.car): every block matches its CID, the leaves are the file', async () => {
      const res = await ours.host.client(kuboTarget(), GATEWAY).fetch(`/ipfs/${largeCid.toString()}`, { headers: { accept: 'application/vnd.ipld.car' } })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^application\/vnd\.ipld\.car\b/)
      const { header, blocks } = readCar(new Uint8Array(await res.arrayBuffer()))
      // dag-cbor {roots: [CID], version: 1}: the root is there as tag 42 (0x00 + the CID's bytes)
      expect(Buffer.from(header).includes(Buffer.from([0, ...largeCid.bytes]))).toBe(true)
      expect(blocks[0].cid.equals(largeCid)).toBe(true)
      expect(largeCid.code).toBe(0x70) // dag-pb
      for (const block of blocks) expect(await matchesCid(block.cid, block.bytes), block.cid.toString()).toBe(true)
      const leaves = blocks.filter(b => b.cid.code === 0x55)
      expect(leaves).toHaveLength(3)
      expect(Buffer.concat(leaves.map(b => b.bytes)).equals(LARGE)).toBe(true)
    })

    it('content Kubo does not have is a 404 (it never fetches over the gateway)', async () => {
      const absent = CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
      const res = await ours.host.client(kuboTarget(), GATEWAY).fetch(`/ipfs/${absent.toString()}`, { headers: { accept: 'application/vnd.ipld.raw' } })
      await res.arrayBuffer()
      expect(res.status).toBe(404)
    })
  })

  describe('Kubo\'s p2p HTTP proxy (Experimental.P2pHttpProxy) -> libp2phttp serve', () => {
    const viaKubo = async (path: string, init?: RequestInit): Promise<Response> => await fetch(`${kubo.gatewayURL}/p2p/${servePeer}${path}`, init)

    it('/p2p/<peer>/http/<path> (a /http stream) reaches the service at /', async () => {
      const res = await viaKubo('/http/echo/a?x=1')
      expect(res.status).toBe(200)
      const seen = await res.json() as Seen
      expect(seen.url).toBe('/echo/a?x=1')
      // serve names the peer (Kubo) to its upstream, and drops the X-Forwarded-For Kubo's ReverseProxy wrote
      expect(seen.headers['x-libp2p-peer-id']).toBe(kubo.peerId)
      expect(seen.headers['x-forwarded-for']).toBeUndefined()
      expect(seen.method).toBe('GET')
    })

    it('/p2p/<peer>/x/<name>/http/<path> (an /x/<name>/http stream) reaches the service of protocol /x/<name>', async () => {
      const res = await viaKubo('/x/echo/http/b/c?y=2', { method: 'POST', body: 'hello kubo' })
      expect(res.status).toBe(200)
      const seen = await res.json() as Seen
      expect(seen.url).toBe('/b/c?y=2')
      expect(seen.method).toBe('POST')
      expect(seen.body).toBe('hello kubo')
    })

    it('the allow-list applies on Kubo\'s stream protocols too: 403 for a service Kubo is not allowed', async () => {
      const res = await viaKubo('/x/closed/http/secret')
      await res.arrayBuffer()
      expect(res.status).toBe(403)
    })

    it('a name no service has is refused by the stream negotiation (Kubo answers 502)', async () => {
      const res = await viaKubo('/x/nothing/http/')
      await res.arrayBuffer()
      expect(res.status).toBe(502)
    })
  })

  describe('our gateway -> Kubo ipfs p2p listen --allow-custom-protocol /http', () => {
    let upstreamPort: number
    beforeAll(async () => {
      upstreamPort = (upstream.address() as AddressInfo).port
      await kubo.cli(['p2p', 'listen', '--allow-custom-protocol', '/http', `/ip4/127.0.0.1/tcp/${upstreamPort}`])
    })

    /** Our `gateway` command, dialling Kubo at start; resolves with its `http://127.0.0.1:N/p2p/` URL. */
    const startGateway = async (...flags: string[]): Promise<string> => {
      const g = spawnCLI(['gateway', '--port', '0', '--connect', `${kubo.swarmAddr}/p2p/${kubo.peerId}`, '--key', join(dir, `gateway-key-${gateways.length}`), ...flags])
      gateways.push(g)
      return await g.line(/^http:\/\/127\.0\.0\.1:\d+\/p2p\/$/, { timeout: 20_000 })
    }

    it('with --stream-protocol /http, /p2p/<kubo>/http/<path> reaches the service behind Kubo', async () => {
      const url = await startGateway('--stream-protocol', '/http')
      const get = await fetch(`${url}${kubo.peerId}/http/hello/a?x=1`)
      expect(get.status).toBe(200)
      expect((await get.json() as Seen).url).toBe('/hello/a?x=1')
      const post = await fetch(`${url}${kubo.peerId}/http/upload`, { method: 'POST', body: 'to kubo' })
      const seen = await post.json() as Seen
      expect(seen.method).toBe('POST')
      expect(seen.body).toBe('to kubo')
    })

    it('without it the request goes out on /http/1.1: Kubo\'s own gateway over libp2p answers (404), not the service', async () => {
      const url = await startGateway()
      const res = await fetch(`${url}${kubo.peerId}/http/hello`)
      const text = await res.text()
      expect(res.status).toBe(404)
      expect(text).not.toContain('/hello')
    })
  })
})
