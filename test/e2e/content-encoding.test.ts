/**
 * Issue 14: `host.fetch` decodes `Content-Encoding` as WHATWG fetch does, which turned a 260 KB gzip bomb
 * into 256 MiB. `decompress: false` gives the bytes as sent; `maxBodySize` bounds what the body yields.
 * A real peer serves a real gzip bomb over a `/http/1.1` stream.
 */
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidLimitError, ResponseBodyTooLargeError, serverPeer } from '../../src/index.js'
import { BOMB_DECODED_SIZE, gzipBomb } from '../helpers/gzip-bomb.js'
import { settle, snapshot } from '../helpers/leaks.js'
import { bytesOf, createPeer, stopPeers, uriOf } from '../helpers/nodes.js'
import type { Snapshot } from '../helpers/leaks.js'
import type { Peer } from '../helpers/nodes.js'

let server: Peer
let client: Peer
let bounded: Peer
let bomb: Buffer
let before: Snapshot
const acceptEncodings: Array<string | undefined> = []

beforeAll(async () => {
  bomb = await gzipBomb()
  server = await createPeer()
  server.host.serve((req, res) => {
    acceptEncodings.push(req.headers['accept-encoding'])
    if (req.url === '/bomb') {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/octet-stream', 'content-length': bomb.length })
      res.end(bomb)
    } else if (req.url === '/moved') {
      res.writeHead(302, { location: '/bomb' }).end()
    } else {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('hello, decoded'))
    }
  })
  client = await createPeer()
  bounded = await createPeer({ client: { maxBodySize: 1024 * 1024 } })
  await client.node.dial(server.node.getMultiaddrs())
  await bounded.node.dial(server.node.getMultiaddrs())
  before = await snapshot([client.node, bounded.node, server.node])
})
afterAll(async () => { await stopPeers(client, bounded, server) })

describe('Content-Encoding', () => {
  it('is decoded by default, as fetch does', async () => {
    const res = await client.host.fetch(uriOf(server, '/hello'))
    expect(await res.text()).toBe('hello, decoded')
  })

  it("decompress: false gives the bytes as sent, Content-Encoding kept, the server's peer too", async () => {
    const res = await client.host.fetch(uriOf(server, '/bomb'), { decompress: false })
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(serverPeer(res)?.equals(server.node.peerId)).toBe(true)
    const bytes = await bytesOf(res)
    expect(bytes.byteLength).toBe(bomb.length)
    expect(Buffer.from(bytes).equals(bomb)).toBe(true)
  })

  it('decompress: false holds after a redirect too', async () => {
    const res = await client.host.fetch(uriOf(server, '/moved'), { decompress: false })
    expect(res.redirected).toBe(true)
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect((await bytesOf(res)).byteLength).toBe(bomb.length)
  })

  it('maxBodySize: the decoded body errors past the bound, and memory stays small', async () => {
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    const rss = process.memoryUsage().rss
    const res = await client.host.fetch(uriOf(server, '/bomb'), { maxBodySize: 1024 * 1024 })
    const err = await res.arrayBuffer().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ResponseBodyTooLargeError)
    expect(err).toMatchObject({ code: 'ERR_RESPONSE_BODY_TOO_LARGE', limit: 1024 * 1024 })
    // reading all 256 MiB into memory would have grown RSS by at least that much
    expect(process.memoryUsage().rss - rss).toBeLessThan(BOMB_DECODED_SIZE / 4)
  })

  it("the host's client.maxBodySize is the default; a fetch may raise it", async () => {
    const err = await (await bounded.host.fetch(uriOf(server, '/bomb'))).arrayBuffer().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ResponseBodyTooLargeError)
    const raw = await bounded.host.fetch(uriOf(server, '/bomb'), { decompress: false, maxBodySize: Infinity })
    expect((await bytesOf(raw)).byteLength).toBe(bomb.length)
  })

  it('an undecoded body is bounded as well', async () => {
    const err = await (await client.host.fetch(uriOf(server, '/bomb'), { decompress: false, maxBodySize: 1000 })).arrayBuffer().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ResponseBodyTooLargeError)
  })

  it('a maxBodySize that is not a number ≥ 0 is refused', async () => {
    await expect(client.host.fetch(uriOf(server, '/hello'), { maxBodySize: -1 })).rejects.toBeInstanceOf(InvalidLimitError)
  })

  it('leaves no stream or socket behind', async () => {
    const after = await settle([client.node, bounded.node, server.node], before)
    expect(after.streams).toBe(0)
  })
})
