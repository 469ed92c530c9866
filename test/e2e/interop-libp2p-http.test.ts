/**
 * Interop with the reference js implementation, `@libp2p/http` (v2), in both directions over real
 * js-libp2p nodes (TCP + noise + yamux on 127.0.0.1):
 *
 * - their client (`node.services.http.fetch`) -> our server (`host.serve`)
 * - our client (`host.fetch`) -> their server (`node.services.http.handle`)
 *
 * Both sides speak HTTP/1.1 over `/http/1.1` streams, one request per stream.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { http } from '@libp2p/http'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { base36 } from 'multiformats/bases/base36'
import { afterEach, describe, expect, it } from 'vitest'
import { remotePeer, serverPeer } from '../../src/index.js'
import { createPeer, stopPeers } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { HTTP } from '@libp2p/http'
import type { Libp2p, PeerId } from '@libp2p/interface'

type TheirNode = Libp2p<{ http: HTTP }>

/** A js-libp2p node running the `@libp2p/http` service (their client and server). */
async function createTheirNode (): Promise<TheirNode> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { http: http() }
  })
}

/**
 * Our node's first address plus `/http-path/<path>`, as the plain multiaddr string their `fetch` takes
 * (strings starting with `/`). Not a `multiaddr:` URI: their `toResource` hands those to
 * `@multiformats/uri-to-multiaddr`, which throws `Protocol multiaddr was unknown`.
 */
function theirTarget (ours: Peer, path: string): string {
  return `${ours.node.getMultiaddrs()[0].toString()}/http-path/${encodeURIComponent(path.replace(/^\//, ''))}`
}

// Non-ASCII in one, two, three and four UTF-8 bytes per character, so byte counts differ from
// `string.length` (UTF-16 code units).
const TEXT = 'héllo wörld — 你好 🌍 ∑'
const TEXT_BYTES = new TextEncoder().encode(TEXT)

let ours: Peer | undefined
let theirs: TheirNode | undefined

afterEach(async () => {
  await stopPeers(ours)
  await theirs?.stop()
  ours = undefined
  theirs = undefined
})

describe('their client (@libp2p/http) -> our server', () => {
  it('GET: status, body and the client peer id seen by our handler', async () => {
    ours = await createPeer()
    theirs = await createTheirNode()
    let seen: PeerId | undefined
    ours.host.serve((req, res) => {
      seen = remotePeer(req)
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end(`${req.method} ${req.url} from ${seen?.toString()}`)
    })

    const res = await theirs.services.http.fetch(theirTarget(ours, '/greet'))

    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await res.text()).toBe(`GET /greet from ${theirs.peerId.toString()}`)
    expect(seen?.equals(theirs.peerId)).toBe(true)
  })

  it('POST: a non-ASCII body is echoed back byte-exact', async () => {
    ours = await createPeer()
    theirs = await createTheirNode()
    let received: { method?: string, url?: string, contentLength?: string } = {}
    ours.host.serve(async (req, res) => {
      received = { method: req.method, url: req.url, contentLength: req.headers['content-length'] }
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      res.setHeader('content-type', 'application/octet-stream')
      res.end(Buffer.concat(chunks))
    })

    // The body is sent as bytes: @libp2p/http-fetch 4.0.4 sets `Content-Length` of a *string* body to
    // `string.length` (UTF-16 code units, not bytes), so a non-ASCII string body arrives truncated at
    // any conforming server. That is their bug, not ours; bytes get a correct Content-Length.
    const res = await theirs.services.http.fetch(theirTarget(ours, '/echo'), {
      method: 'POST',
      body: TEXT_BYTES
    })

    expect(res.status).toBe(200)
    expect(received).toEqual({ method: 'POST', url: '/echo', contentLength: String(TEXT_BYTES.byteLength) })
    const body = new Uint8Array(await res.arrayBuffer())
    expect(body).toEqual(TEXT_BYTES)
    expect(new TextDecoder().decode(body)).toBe(TEXT)
  })

  it('POST: a non-ASCII *string* body (their Content-Length counts UTF-16 units) is answered, not replaced by a 400 (issue 14)', async () => {
    ours = await createPeer()
    theirs = await createTheirNode()
    let seen: number | undefined
    ours.host.serve(async (req, res) => {
      let bytes = 0
      for await (const chunk of req) bytes += (chunk as Buffer).length
      seen = bytes
      res.end(`read ${bytes}`)
    })
    // their client declares TEXT.length and then writes TEXT_BYTES: the bytes past the declared length
    // follow a complete request on the stream
    const res = await theirs.services.http.fetch(theirTarget(ours, '/echo'), { method: 'POST', body: TEXT })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(`read ${TEXT.length}`)
    expect(seen).toBe(TEXT.length)
  })

  it('GET: a fetch-style handler sees a multi-segment path sent as one percent-encoded http-path', async () => {
    ours = await createPeer()
    theirs = await createTheirNode()
    ours.host.serve((req: Request) => new Response(`fetch-style ${new URL(req.url).pathname}`))

    // `/http-path/a%2Fb`: the path is percent-encoded into a single multiaddr component.
    const res = await theirs.services.http.fetch(theirTarget(ours, '/a/b'))

    expect(res.status).toBe(200)
    expect(await res.text()).toBe('fetch-style /a/b')
  })
})

describe('the well-known protocol map, both ways', () => {
  it('their client reads our map, and reaches our ping through it', async () => {
    ours = await createPeer()
    theirs = await createTheirNode()
    ours.host.handle('/kv/1.0.0', (_req, res) => { res.end() })

    const map = await theirs.services.http.fetch(theirTarget(ours, '/.well-known/libp2p/protocols'), { headers: { accept: 'application/json' } })
    expect(await map.json()).toEqual({
      '/http-ping/1': { path: '/http-ping/1/' },
      '/kv/1.0.0': { path: '/kv/1.0.0/' }
    })
    // fetchProtocol looks the protocol up in our map, then requests its path
    const addr = ours.node.getMultiaddrs()[0]
    const payload = new Uint8Array(32).map((_, i) => i * 7)
    const res = await theirs.services.http.fetchProtocol(addr, '/http-ping/1', { method: 'POST', body: payload })
    expect(res.status).toBe(200)
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(payload)
  })

  it('we read their map and fetch within their protocol (they list paths without a trailing slash)', async () => {
    ours = await createPeer()
    theirs = await createTheirNode()
    const PROTOCOL = '/libp2phttp-interop/greet/1.0.0'
    theirs.services.http.handle(PROTOCOL, {
      path: '/greet',
      method: ['GET'],
      handler: async (req: Request) => new Response(`hello from ${new URL(req.url).pathname}`)
    })
    const addr = theirs.getMultiaddrs()[0]

    expect(await ours.host.protocols(addr)).toEqual({ [PROTOCOL]: { path: '/greet' } })
    const res = await ours.host.fetch(addr, { protocol: PROTOCOL })
    expect(await res.text()).toBe('hello from /greet')
  })
})

describe('our client -> their server (@libp2p/http)', () => {
  const PROTOCOL = '/libp2phttp-interop/echo/1.0.0'

  /**
   * Registers a GET+POST route on their node at `/echo`. GET answers with the path, Host header and a
   * non-ASCII text; POST reports what it was told about the body (method, Content-Length and
   * Content-Type) without reading it, see the skipped echo case below for why.
   */
  function serveTheirs (node: TheirNode): void {
    node.services.http.handle(PROTOCOL, {
      path: '/echo',
      method: ['GET', 'POST'],
      handler: async (req: Request): Promise<Response> => {
        const url = new URL(req.url)
        const head = `${req.method} ${url.pathname} host=${url.host}`
        if (req.method === 'POST') {
          return new Response(`${head} length=${req.headers.get('content-length')} type=${req.headers.get('content-type')}`)
        }
        return new Response(`${head} ${TEXT}`, { headers: { 'content-type': 'text/plain; charset=utf-8' } })
      }
    })
  }

  /** Their node's `/echo` route as a `multiaddr:` URI for our client. */
  function echoURI (node: TheirNode): string {
    return `multiaddr:${node.getMultiaddrs()[0].toString()}/http-path/echo`
  }

  it('GET: status, non-ASCII body byte-exact and the server peer id', async () => {
    ours = await createPeer()
    theirs = await createTheirNode()
    serveTheirs(theirs)

    const res = await ours.host.fetch(echoURI(theirs))

    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    // Their server saw the path we asked for and our Host header: the peer id as a base36 CIDv1.
    const host = theirs.peerId.toCID().toString(base36)
    // Their response has no Content-Length: its body ends when they close the stream.
    const body = new Uint8Array(await res.arrayBuffer())
    expect(body).toEqual(new TextEncoder().encode(`GET /echo host=${host} ${TEXT}`))
    expect(serverPeer(res)?.equals(theirs.peerId)).toBe(true)
  })

  it('POST: method, byte-accurate Content-Length and Content-Type of a non-ASCII body', async () => {
    ours = await createPeer()
    theirs = await createTheirNode()
    serveTheirs(theirs)

    const res = await ours.host.fetch(echoURI(theirs), {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: TEXT
    })

    expect(res.status).toBe(200)
    const host = theirs.peerId.toCID().toString(base36)
    expect(await res.text()).toBe(`POST /echo host=${host} length=${TEXT_BYTES.byteLength} type=text/plain; charset=utf-8`)
    expect(serverPeer(res)?.equals(theirs.peerId)).toBe(true)
  })

  // UPSTREAM BUG, not ours: a request body cannot reach a @libp2p/http 2.0.6 route handler when it
  // shares a stream message with the request headers. `readHeaders` in @libp2p/http-utils feeds each
  // message to an HTTP parser whose headers-complete callback does not stop it, so the parser also
  // consumes the body; `read === buf.byteLength` and nothing is pushed back to the stream. The handler's
  // body (`takeBytes(stream, content-length)`) then waits for bytes that already went by. undici (ours,
  // and their own `services.http.dispatcher()`, which hangs the same way against their own server)
  // always writes the headers and the first body chunk in one corked write, i.e. one yamux message.
  // Their own `fetch` only works because it sends headers and body as two `stream.send` calls.
  // Enable this case once upstream hands the parsed-past bytes back to the stream.
  it.skip('POST: a non-ASCII body is echoed back byte-exact (blocked by @libp2p/http 2.0.6)', async () => {
    ours = await createPeer()
    theirs = await createTheirNode()
    theirs.services.http.handle(`${PROTOCOL}/raw`, {
      path: '/raw-echo',
      method: ['POST'],
      handler: async (req: Request) => new Response(await req.arrayBuffer())
    })

    const res = await ours.host.fetch(`multiaddr:${theirs.getMultiaddrs()[0].toString()}/http-path/raw-echo`, {
      method: 'POST',
      body: TEXT,
      signal: AbortSignal.timeout(5_000)
    })

    expect(res.status).toBe(200)
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(TEXT_BYTES)
  })

  it('GET by PeerId once connected: their well-known protocol map', async () => {
    ours = await createPeer()
    theirs = await createTheirNode()
    serveTheirs(theirs)
    await ours.node.dial(theirs.getMultiaddrs()[0])

    // Their registrar also serves `/.well-known/libp2p/protocols`, listing the protocol registered above.
    const res = await ours.host.fetch({ peer: theirs.peerId, path: '/.well-known/libp2p/protocols' })

    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ [PROTOCOL]: { path: '/echo' } })
    expect(serverPeer(res)?.equals(theirs.peerId)).toBe(true)
  })
})
