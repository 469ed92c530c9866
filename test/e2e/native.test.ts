/**
 * The native HTTP transport: real HTTPS listeners with a certificate made by the test, fetched by
 * another host, by undici and by curl; transport selection and redirects across both transports.
 */
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import tls from 'node:tls'
import { promisify } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { DialError, InsecureHTTPError, InvalidListenAddressError, ListenError, PeerAuthError, PeerAuthRequiredError, RedirectRefusedError, createHTTPHost, remotePeer, serverPeer, transportOf } from '../../src/index.js'
import { peerHostname } from '../../src/addr/addressing.js'
import { createPeer, stopPeers } from '../helpers/nodes.js'
import { testCertificate } from '../helpers/tls.js'
import type { ClientTLSOptions, HTTPHost } from '../../src/index.js'
import type { Peer } from '../helpers/nodes.js'
import type { TestCertificate } from '../helpers/tls.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'

const run = promisify(execFile)

let cert: TestCertificate
let server: Peer
let client: Peer

/** Answers with what it saw, so that both transports can be compared. */
async function echo (req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  if (req.url === '/redirect-relative') {
    res.writeHead(302, { location: 'elsewhere?x=1' }).end()
    return
  }
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({
    method: req.method,
    url: req.url,
    host: req.headers.host,
    body: Buffer.concat(chunks).toString(),
    peer: remotePeer(req)?.toString() ?? null,
    servername: (req.socket as TLSSocket).servername ?? null
  }))
}

/** The server's native address with the given host component replacing nothing else, without /p2p. */
function nativeAddr (peer: Peer, filter = '/ip4/127.0.0.1/'): Multiaddr {
  const found = peer.host.addrs().find(ma => ma.toString().startsWith(filter) && ma.toString().includes('/http'))
  if (found == null) throw new Error(`no native address starting with ${filter}`)
  return multiaddr(found.toString().replace(/\/p2p\/.*$/, ''))
}

function portOf (ma: Multiaddr): number {
  return Number(ma.getComponents().find(c => c.name === 'tcp')?.value)
}

beforeAll(async () => {
  cert = await testCertificate()
  server = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http', '/ip6/::1/tcp/0/tls/http', '/dns4/localhost/tcp/0/tls/http'], tls: cert })
  client = await createPeer({ clientTLS: { ca: cert.cert } })
  server.host.serve(echo)
})
afterAll(async () => { await stopPeers(server, client) })

describe('listening', () => {
  it('addrs(): the stream addresses, then the native ones with real ports and /p2p', () => {
    const addrs = server.host.addrs().map(String)
    const id = server.node.peerId.toString()
    expect(addrs[0]).toBe(server.node.getMultiaddrs()[0].toString())
    const native = addrs.filter(a => a.includes('/tls/http'))
    expect(native).toHaveLength(3)
    expect(native[0]).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/[1-9]\\d*/tls/http/p2p/${id}$`))
    expect(native[1]).toMatch(new RegExp(`^/ip6/::1/tcp/[1-9]\\d*/tls/http/p2p/${id}$`))
    expect(native[2]).toMatch(new RegExp(`^/dns4/localhost/tcp/[1-9]\\d*/tls/http/p2p/${id}$`))
  })

  it('a TLS listener without a certificate is refused, naming the option', async () => {
    const err = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidListenAddressError)
    expect((err as Error).message).toMatch(/tls: \{ key, cert \}/)
  })

  it('malformed listen addresses name the component', async () => {
    await expect(createHTTPHost({ listen: ['/ip4/127.0.0.1/udp/0/quic-v1/http'], tls: cert })).rejects.toThrow(/unexpected \/udp\/0/)
    await expect(createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http/http-path/x'], tls: cert })).rejects.toThrow(/http-path.*host\.handle/)
    await expect(createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0'], tls: cert })).rejects.toThrow(InvalidListenAddressError)
  })

  it('a port in use is a ListenError, and listeners opened before it are closed', async () => {
    const blocker = createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const err = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http', `/ip4/127.0.0.1/tcp/${port}/tls/http`], tls: cert }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ListenError)
      expect((err as ListenError).code).toBe('ERR_LISTEN_FAILED')
    } finally {
      blocker.close()
    }
  })

  it('plain /http is refused without insecureAllowHTTP, and served with it', async () => {
    const refused = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/http'] }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(InsecureHTTPError)
    expect((refused as Error).message).toMatch(/insecureAllowHTTP: true/)

    const plain = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/http'], insecureAllowHTTP: true })
    try {
      plain.serve((_req, res) => { res.end('plain') })
      const addr = plain.addrs()[0]
      expect(addr.toString()).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/http$/)
      // a client must opt in too
      await expect(client.host.fetch(addr)).rejects.toBeInstanceOf(InsecureHTTPError)
      const lax = await createHTTPHost({ insecureAllowHTTP: true })
      try {
        expect(await (await lax.fetch(addr)).text()).toBe('plain')
      } finally {
        await lax.close()
      }
    } finally {
      await plain.close()
    }
  })
})

describe('fetching over HTTPS', () => {
  it('multiaddr: URI with /http-path, over native HTTPS', async () => {
    const res = await client.host.fetch(`multiaddr:${nativeAddr(server).toString()}/http-path/a%2Fb%3Fq%3D1`, { method: 'POST', body: 'hi' })
    expect(res.status).toBe(200)
    const seen = await res.json()
    expect(seen).toMatchObject({ method: 'POST', url: '/a/b?q=1', body: 'hi', peer: null })
    expect(seen.host).toBe(`127.0.0.1:${portOf(nativeAddr(server))}`)
    expect(transportOf(res)).toEqual({ transport: 'native', reason: expect.stringMatching(/rule 2/) })
    expect(serverPeer(res)).toBeUndefined()
  })

  it('the same handler answers identically over the stream and the native transport', async () => {
    const init = { method: 'PUT', body: 'same body', headers: { 'content-type': 'text/plain' } }
    const overStream = await client.host.fetch({ peer: server.node.getMultiaddrs()[0], path: '/same?x=1' }, init)
    const overNative = await client.host.fetch(`multiaddr:${nativeAddr(server).toString()}/http-path/same%3Fx%3D1`, init)
    expect(transportOf(overStream)?.transport).toBe('stream')
    expect(transportOf(overNative)?.transport).toBe('native')
    const a = await overStream.json()
    const b = await overNative.json()
    // what differs is who is calling and over what, nothing about the exchange itself
    expect({ ...a, host: '', peer: '', servername: '' }).toEqual({ ...b, host: '', peer: '', servername: '' })
    expect(a.peer).toBe(client.node.peerId.toString())
    expect(overStream.headers.get('content-type')).toBe(overNative.headers.get('content-type'))
  })

  it('IPv6 loopback', async () => {
    const res = await client.host.fetch(nativeAddr(server, '/ip6/::1/'))
    expect((await res.json()).host).toBe(`[::1]:${portOf(nativeAddr(server, '/ip6/'))}`)
  })

  it('a /dns4 name that resolves locally', async () => {
    const res = await client.host.fetch(`multiaddr:${nativeAddr(server, '/dns4/localhost/').toString()}/http-path/dns`)
    expect((await res.json()).url).toBe('/dns')
  })

  it('/tls/sni/<name>: connects to the IP, sends the name as TLS server name and Host', async () => {
    const port = portOf(nativeAddr(server))
    const res = await client.host.fetch(`multiaddr:/ip4/127.0.0.1/tcp/${port}/tls/sni/example.test/http/http-path/sni`)
    const seen = await res.json()
    expect(seen.servername).toBe('example.test')
    expect(seen.host).toBe(`example.test:${port}`)
    // the SNI address re-points nothing: the plain name still goes to DNS (where .test does not exist)
    const plain = await client.host.fetch(`https://example.test:${port}/`, { signal: AbortSignal.timeout(5000) }).then(() => 'reached', (e: Error) => e)
    expect(plain).toBeInstanceOf(Error)
  })

  it('the deprecated /https alias works as /tls/http', async () => {
    const res = await client.host.fetch(`multiaddr:/ip4/127.0.0.1/tcp/${portOf(nativeAddr(server))}/https`)
    expect(res.status).toBe(200)
  })

  it('an untrusted certificate fails the request: no silent trust', async () => {
    const stranger = await createHTTPHost()
    try {
      const err = await stranger.fetch(nativeAddr(server)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DialError)
      expect((err as DialError).code).toBe('ERR_DIAL_FAILED')
      expect((err as Error).message).toMatch(/self[- ]signed|unable to verify|certificate/i)
    } finally {
      await stranger.close()
    }
    // turning verification off is possible, and explicit
    const careless = await createHTTPHost({ clientTLS: { rejectUnauthorized: false } })
    try {
      expect((await careless.fetch(nativeAddr(server))).status).toBe(200)
    } finally {
      await careless.close()
    }
  })

  it('curl reaches the listener', async () => {
    const port = portOf(nativeAddr(server))
    const { stdout } = await run('curl', ['-sS', '-k', '--max-time', '10', '-d', 'from curl', `https://127.0.0.1:${port}/curl`])
    expect(JSON.parse(stdout)).toMatchObject({ method: 'POST', url: '/curl', body: 'from curl' })
  })

  it('issue 21: listeners set TCP_NODELAY on the connections they accept (HTTP/1.1, h2 and plain /http), so a streamed response never waits for a delayed ACK', async () => {
    // node:http2's server leaves Nagle on (https.Server and http.Server turn it off): a streamed
    // HTTP/1.1 response took ~23 ms a request. Node has no getter for the option; it keeps it on the TCP
    // socket it accepted as the `kSetNoDelay` symbol (under the TLS socket as `_parent`).
    const noDelayOf = (req: IncomingMessage): unknown => {
      const socket = req.socket as TLSSocket & { _parent?: object }
      const tcp = (socket._parent ?? socket) as Record<symbol, unknown>
      const key = Object.getOwnPropertySymbols(tcp).find(k => k.description === 'kSetNoDelay')
      return key == null ? 'no kSetNoDelay on the socket (a Node internal: see this test)' : tcp[key]
    }
    const host = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http', '/ip4/127.0.0.1/tcp/0/http'], tls: cert, insecureAllowHTTP: true })
    const h2 = await createHTTPHost({ clientTLS: { ca: cert.cert }, http2: true })
    const h1 = await createHTTPHost({ clientTLS: { ca: cert.cert }, insecureAllowHTTP: true })
    try {
      host.serve((req, res) => { res.end(JSON.stringify({ version: req.httpVersion, noDelay: noDelayOf(req) })) })
      const [tls, plain] = host.addrs()
      expect(await (await h1.fetch(tls)).json()).toEqual({ version: '1.1', noDelay: true })
      expect(await (await h2.fetch(tls)).json()).toEqual({ version: '2.0', noDelay: true })
      expect(await (await h1.fetch(plain)).json()).toEqual({ version: '1.1', noDelay: true })
    } finally {
      await Promise.all([host.close(), h1.close(), h2.close()])
    }
  })

  it('issue 21: new native connections share one TLS secure context (tls.connect would build one per connection)', async () => {
    const host = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
    const fresh = await createHTTPHost({ clientTLS: { ca: cert.cert } })
    const ports = new Set<number>()
    host.serve((req, res) => { ports.add(req.socket.remotePort ?? 0); res.end('ok') })
    // node:tls builds a context per connection through its exports object, unless given one
    const built = vi.spyOn(tls, 'createSecureContext')
    try {
      // four at once: four connections (HTTP/1.1), each a TLS handshake with the client's `ca`
      const answers = await Promise.all(Array.from({ length: 4 }, async () => await (await fresh.fetch(host.addrs()[0])).text()))
      expect(answers).toEqual(['ok', 'ok', 'ok', 'ok'])
      expect(ports.size).toBe(4)
      expect(built).not.toHaveBeenCalled()
    } finally {
      built.mockRestore()
      await Promise.all([host.close(), fresh.close()])
    }
  })

  it('issue 21: a clientTLS that does not load fails each native request with a DialError naming it (was a bare TypeError: fetch failed)', async () => {
    const host = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
    const broken = await createHTTPHost({ clientTLS: { ca: cert.cert, cert: 'not a PEM', key: 'not a PEM' } })
    host.serve((_req, res) => { res.end('ok') })
    try {
      for (let i = 0; i < 2; i++) {
        await expect(broken.fetch(host.addrs()[0])).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED', message: expect.stringMatching(/clientTLS/) })
      }
    } finally {
      await Promise.all([host.close(), broken.close()])
    }
  })

  it('a host without libp2p serves and fetches natively', async () => {
    const alone = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert, clientTLS: { ca: cert.cert } })
    try {
      alone.serve((_req, res) => { res.end('alone') })
      expect(alone.peerId).toBeUndefined()
      expect(alone.addrs().map(String)[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/http$/)
      expect(await (await alone.fetch(alone.addrs()[0])).text()).toBe('alone')
    } finally {
      await alone.close()
    }
  })
})

describe('transport selection against real peers', () => {
  it('an HTTP address with /p2p needs peer-id auth: refused clearly by a host without a key, and by a server that does not run it', async () => {
    const withPeer = server.host.addrs().find(ma => ma.toString().includes('/tls/http'))
    const keyless = await createHTTPHost({ clientTLS: { ca: cert.cert } })
    try {
      const err = await keyless.fetch(withPeer as Multiaddr).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(PeerAuthRequiredError)
      expect((err as PeerAuthRequiredError).code).toBe('ERR_PEER_AUTH_REQUIRED')
    } finally {
      await keyless.close()
    }
    // the client's node has a key: it tries, and this server does not ask for Peer ID Authentication
    const err = await client.host.fetch(withPeer as Multiaddr).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PeerAuthError)
  })

  it('[stream, http]: the first address is a libp2p one, so a stream', async () => {
    const res = await client.host.fetch([server.node.getMultiaddrs()[0], nativeAddr(server)])
    expect(transportOf(res)?.transport).toBe('stream')
    expect((await res.json()).peer).toBe(client.node.peerId.toString())
  })

  it('an AbortSignal bounds the dial that learns the peer of an address without /p2p', async () => {
    // a TCP listener that never answers the libp2p handshake: the dial would hang until its own timeout
    const tarpit = createServer(() => {})
    await new Promise<void>(resolve => tarpit.listen(0, '127.0.0.1', resolve))
    try {
      // without the signal this waits for connectTimeout (30 s), far past the test's own timeout
      const err = await client.host.fetch(`multiaddr:/ip4/127.0.0.1/tcp/${(tarpit.address() as { port: number }).port}`, { signal: AbortSignal.timeout(300) }).catch((e: unknown) => e)
      expect((err as Error).name).toBe('TimeoutError')
    } finally {
      tarpit.close()
    }
  })

  it('a stream with the reason on a failed request', async () => {
    const down = await createPeer()
    const addr = down.node.getMultiaddrs()[0]
    await stopPeers(down)
    const err = await client.host.fetch(addr, { signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e)
    expect((err as { transport?: unknown }).transport).toMatchObject({ transport: 'stream' })
  })
})

describe('redirects', () => {
  let other: Peer
  beforeAll(async () => {
    other = await createPeer({ clientTLS: { ca: cert.cert } })
  })
  afterAll(async () => { await stopPeers(other) })

  it('a chain stream → native → stream is followed', async () => {
    const backURI = `multiaddr:${other.node.getMultiaddrs()[0].toString()}/http-path/end%3Fdone%3D1`
    const mid = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
    try {
      let midHits = 0
      mid.serve((_req, res) => {
        midHits++
        res.writeHead(302, { location: backURI }).end()
      })
      const midURI = `multiaddr:${mid.addrs()[0].toString()}/http-path/middle`
      other.host.serve((req, res) => {
        if (req.url === '/start') {
          res.writeHead(307, { location: midURI }).end()
        } else {
          res.end(`end of chain at ${req.url ?? ''} from ${remotePeer(req)?.toString() ?? ''}`)
        }
      })
      const res = await client.host.fetch(`multiaddr:${other.node.getMultiaddrs()[0].toString()}/http-path/start`)
      expect(res.redirected).toBe(true)
      expect(await res.text()).toBe(`end of chain at /end?done=1 from ${client.node.peerId.toString()}`)
      expect(transportOf(res)?.transport).toBe('stream')
      expect(serverPeer(res)?.equals(other.node.peerId)).toBe(true)
      expect(midHits).toBe(1)
    } finally {
      await mid.close()
    }
  })

  it("redirect: 'manual' gives a relative Location back as an absolute multiaddr: URI", async () => {
    const overStream = await client.host.fetch({ peer: server.node.getMultiaddrs()[0], path: '/redirect-relative' }, { redirect: 'manual' })
    expect(overStream.status).toBe(302)
    expect(overStream.headers.get('location')).toBe(`multiaddr:${server.node.getMultiaddrs()[0].toString()}/http-path/elsewhere%3Fx%3D1`)
    const overNative = await client.host.fetch(`multiaddr:${nativeAddr(server).toString()}/http-path/redirect-relative`, { redirect: 'manual' })
    expect(overNative.headers.get('location')).toBe(`multiaddr:${nativeAddr(server).toString()}/http-path/elsewhere%3Fx%3D1`)
    // and that URI can be fetched as is
    const followed = await client.host.fetch(overNative.headers.get('location') ?? '')
    expect((await followed.json()).url).toBe('/elsewhere?x=1')
  })

  it('a redirect cannot downgrade to plain http:, unless the caller opted in', async () => {
    let leaked = 0
    const plain = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/http'], insecureAllowHTTP: true })
    plain.serve((_req, res) => { leaked++; res.end('plain') })
    const port = portOf(plain.addrs()[0])
    const web = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
    web.serve((_req, res) => { res.writeHead(307, { location: `http://127.0.0.1:${port}/leak` }).end() })
    const lax = await createHTTPHost({ insecureAllowHTTP: true, clientTLS: { ca: cert.cert } })
    try {
      // a GET: a POST is refused before that, as any 307 of a POST to another origin
      const err = await client.host.fetch(web.addrs()[0], { headers: { authorization: 'Bearer secret' } }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(InsecureHTTPError)
      expect(leaked).toBe(0)
      // the caller asking for that origin itself is fine
      expect(await (await client.host.fetch(`http://127.0.0.1:${port}/`)).text()).toBe('plain')
      expect(await (await lax.fetch(web.addrs()[0])).text()).toBe('plain')
    } finally {
      await Promise.all([plain.close(), web.close(), lax.close()])
    }
  })

  it('a web server cannot replay a POST into a libp2p stream; GETs may cross', async () => {
    let posted = 0
    other.host.serve((req, res) => {
      if (req.method === 'POST') posted++
      res.end(`${req.method ?? ''} from ${remotePeer(req)?.toString() ?? ''}`)
    })
    const streamURI = `multiaddr:${other.node.getMultiaddrs()[0].toString()}/http-path/transfer`
    const web = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
    web.serve((_req, res) => { res.writeHead(307, { location: streamURI }).end() })
    try {
      const err = await client.host.fetch(web.addrs()[0], { method: 'POST', body: 'transfer everything' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RedirectRefusedError)
      expect(posted).toBe(0)
      const res = await client.host.fetch(web.addrs()[0])
      expect(await res.text()).toBe(`GET from ${client.node.peerId.toString()}`)
      expect(transportOf(res)).toEqual({ transport: 'stream', reason: expect.stringMatching(/followed a redirect/) })
    } finally {
      await web.close()
    }
  })

  it('a failure after a redirect names the transport of that hop', async () => {
    const down = await createPeer()
    const goneURI = `multiaddr:${down.node.getMultiaddrs()[0].toString()}/http-path/x`
    await stopPeers(down)
    const web = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
    web.serve((_req, res) => { res.writeHead(302, { location: goneURI }).end() })
    try {
      const err = await client.host.fetch(web.addrs()[0]).catch((e: unknown) => e)
      expect((err as { code?: string }).code).toBe('ERR_DIAL_FAILED')
      expect((err as { transport?: unknown }).transport).toMatchObject({ transport: 'stream', reason: expect.stringMatching(/followed a redirect/) })
    } finally {
      await web.close()
    }
  })

  it('a Location that cannot be routed fails with the reason', async () => {
    other.host.serve((_req, res) => { res.writeHead(302, { location: 'multiaddr:/ip4/127.0.0.1/tcp/1/http-path/x' }).end() })
    const err = await client.host.fetch(other.node.getMultiaddrs()[0]).catch((e: unknown) => e)
    expect((err as Error).message).toMatch(/must name its peer/)
  })
})

describe('which responses name their server', () => {
  // issue 14: a plain HTTPS server reached as https://<base36 peer id>:port/ was reported as that peer
  it('https://<base36 peer id>/ without Peer ID Authentication names no peer', async () => {
    const web = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
    web.serve((_req, res) => { res.end('not who you think') })
    // the name resolves to the web server (a DNS record an attacker controls would do the same); the
    // certificate is accepted whatever its name, as from a CA that issued one for it
    const lookup = (_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
      if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }])
      else callback(null, '127.0.0.1', 4)
    }
    const lax = await createHTTPHost({ clientTLS: { ca: cert.cert, checkServerIdentity: () => undefined, lookup } as ClientTLSOptions })
    try {
      const url = `https://${peerHostname(server.node.peerId)}:${portOf(web.addrs()[0])}/`
      const res = await lax.fetch(url)
      expect(await res.text()).toBe('not who you think')
      expect(serverPeer(res)).toBeUndefined()
      expect(transportOf(res)?.transport).toBe('native')
    } finally {
      await Promise.all([web.close(), lax.close()])
    }
  })
})

describe('a 307/308 does not replay an unsafe method to another peer or origin', () => {
  let sender: Peer
  let target: Peer
  let web: HTTPHost
  let otherWeb: HTTPHost
  /** `METHOD path body` of every request `target` and `otherWeb` received. */
  const received: string[] = []
  async function record (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    received.push(`${req.method ?? ''} ${req.url ?? ''} ${Buffer.concat(chunks).toString()}`)
    res.end(`${req.method ?? ''} from ${remotePeer(req)?.toString() ?? 'nobody'}`)
  }
  beforeAll(async () => {
    sender = await createPeer()
    target = await createPeer()
    target.host.serve(record)
    web = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
    otherWeb = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
    otherWeb.serve(record)
  })
  afterAll(async () => {
    await stopPeers(sender, target)
    await Promise.all([web.close(), otherWeb.close()])
  })

  /** `sender` answers every request with `status` and `location`. */
  function senderRedirects (status: number, location: string): void {
    sender.host.serve((req, res) => {
      if (req.url === '/here') {
        void record(req, res)
        return
      }
      res.writeHead(status, { location }).end()
    })
  }

  it('stream → another peer: refused for POST (307 and 308), the body never sent', async () => {
    received.length = 0
    for (const status of [307, 308]) {
      senderRedirects(status, `multiaddr:${target.node.getMultiaddrs()[0].toString()}/http-path/transfer`)
      const err = await client.host.fetch(sender.node.getMultiaddrs()[0], { method: 'POST', body: 'transfer everything' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RedirectRefusedError)
      expect((err as RedirectRefusedError).code).toBe('ERR_REDIRECT_REFUSED')
    }
    // DELETE is unsafe too
    const err = await client.host.fetch(sender.node.getMultiaddrs()[0], { method: 'DELETE' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RedirectRefusedError)
    expect(received).toEqual([])
  })

  it('native → another origin: refused for POST', async () => {
    received.length = 0
    web.serve((_req, res) => { res.writeHead(307, { location: `multiaddr:${otherWeb.addrs()[0].toString()}/http-path/transfer` }).end() })
    const err = await client.host.fetch(web.addrs()[0], { method: 'POST', body: 'transfer everything' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RedirectRefusedError)
    expect(received).toEqual([])
  })

  it('native → stream: refused for PUT', async () => {
    received.length = 0
    web.serve((_req, res) => { res.writeHead(308, { location: `multiaddr:${target.node.getMultiaddrs()[0].toString()}/http-path/transfer` }).end() })
    const err = await client.host.fetch(web.addrs()[0], { method: 'PUT', body: 'x' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RedirectRefusedError)
    expect(received).toEqual([])
  })

  it('the same origin keeps the POST and its body', async () => {
    received.length = 0
    senderRedirects(307, '/here')
    const res = await client.host.fetch(sender.node.getMultiaddrs()[0], { method: 'POST', body: 'stay' })
    expect(await res.text()).toBe(`POST from ${client.node.peerId.toString()}`)
    expect(received).toEqual(['POST /here stay'])
  })

  it('303, and 301/302 of a POST, become a GET elsewhere: followed', async () => {
    for (const status of [301, 302, 303]) {
      received.length = 0
      senderRedirects(status, `multiaddr:${target.node.getMultiaddrs()[0].toString()}/http-path/moved`)
      const res = await client.host.fetch(sender.node.getMultiaddrs()[0], { method: 'POST', body: 'form' })
      expect(await res.text()).toBe(`GET from ${client.node.peerId.toString()}`)
      expect(received).toEqual(['GET /moved '])
    }
  })

  it("redirect: 'manual' hands the 307 to the caller", async () => {
    senderRedirects(307, `multiaddr:${target.node.getMultiaddrs()[0].toString()}/http-path/transfer`)
    const res = await client.host.fetch(sender.node.getMultiaddrs()[0], { method: 'POST', body: 'x', redirect: 'manual' })
    expect(res.status).toBe(307)
  })
})

describe('closing', () => {
  it('close() ends keep-alive connections promptly', async () => {
    const host: HTTPHost = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert, clientTLS: { ca: cert.cert } })
    host.serve((_req, res) => { res.end('ok') })
    const fetcher = await createHTTPHost({ clientTLS: { ca: cert.cert } })
    await (await fetcher.fetch(host.addrs()[0])).text()
    // the idle keep-alive connection must not hold close() until the 60 s timeout (the test's own
    // timeout would fail first)
    await host.close({ timeout: 60_000 })
    await fetcher.close()
  })
})
