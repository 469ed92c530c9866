/**
 * The platform's fetch with Peer ID Authentication (`createNativeFetch`) against our Node host's native
 * HTTPS listener: Node's global `fetch` (Node's own undici, given the test CA through a dispatcher), real
 * TLS. Node's fetch does not enforce CORS, so the CORS answers a browser needs (`auth.server.allowOrigins`)
 * are checked on the wire as well.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidAuthOptionsError, PeerAuthError, PeerAuthUnsupportedError, PeerMismatchError, authenticationOf, createHTTPHost, remotePeer, serverPeer } from '../../src/index.js'
import { createNativeFetch } from '../../src/web/native-fetch.js'
import { createPeer, stopPeers } from '../helpers/nodes.js'
import { testCertificate } from '../helpers/tls.js'
import type { Peer } from '../helpers/nodes.js'
import type { TestCertificate } from '../helpers/tls.js'
import type { PrivateKey } from '@libp2p/interface'

const PAGE = 'https://app.example'
let cert: TestCertificate
let server: Peer
let plain: Peer
let agent: Agent
let key: PrivateKey
const served: Array<{ method: string, how: string | undefined, peer: string | undefined, body: string }> = []

/** Node's global fetch, trusting the test certificate. */
const platformFetch: typeof globalThis.fetch = async (input, init) => await globalThis.fetch(input, { ...init, dispatcher: agent } as RequestInit)

function urlOf (peer: Peer, path = '/'): string {
  const addr = peer.host.addrs().map(String).find(a => a.startsWith('/ip4/127.0.0.1/') && a.includes('/tls/http'))
  const port = /\/tcp\/(\d+)\//.exec(addr ?? '')?.[1]
  return `https://127.0.0.1:${port ?? ''}${path}`
}

beforeAll(async () => {
  cert = await testCertificate()
  agent = new Agent({ connect: { ca: cert.cert } })
  key = await generateKeyPair('Ed25519')
  server = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert, auth: { server: { hostnames: ['127.0.0.1'], allowOrigins: [PAGE] } } })
  server.host.serve(async (request: Request) => {
    const body = await request.text()
    served.push({ method: request.method, how: authenticationOf(request), peer: remotePeer(request)?.toString(), body })
    return new Response(`hello ${remotePeer(request)?.toString() ?? 'nobody'}`)
  })
  plain = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
  plain.host.serve((_request: Request) => new Response('no auth here'))
})
afterAll(async () => {
  await stopPeers(server, plain)
  await agent?.close()
})

describe('createNativeFetch with a private key', () => {
  it('authenticates both ways; a second request uses the token', async () => {
    served.length = 0
    const fetch = createNativeFetch({ privateKey: key, fetch: platformFetch })
    const me = peerIdFromPrivateKey(key).toString()
    const first = await fetch(urlOf(server, '/a'), { peer: server.node.peerId })
    expect(first.status).toBe(200)
    expect(await first.text()).toBe(`hello ${me}`)
    expect(serverPeer(first)?.equals(server.node.peerId)).toBe(true)
    const second = await fetch(urlOf(server, '/b'))
    expect(await second.text()).toBe(`hello ${me}`)
    expect(serverPeer(second)?.equals(server.node.peerId)).toBe(true)
    expect(served.map(s => s.how)).toEqual(['peer-id-auth', 'peer-id-auth-token'])
  })

  it('a POST: the body goes only once the server is proven, and reaches the handler once', async () => {
    served.length = 0
    const fetch = createNativeFetch({ privateKey: key, fetch: platformFetch })
    const res = await fetch(urlOf(server, '/post'), { method: 'POST', body: 'the body', peer: server.node.peerId })
    expect(res.status).toBe(200)
    expect(served).toEqual([{ method: 'POST', how: expect.any(String), peer: peerIdFromPrivateKey(key).toString(), body: 'the body' }])
  })

  it('a server proving another peer id: PeerMismatchError, the request never served', async () => {
    served.length = 0
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const fetch = createNativeFetch({ privateKey: key, fetch: platformFetch })
    const err = await fetch(urlOf(server, '/'), { method: 'POST', body: 'x', peer: other }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PeerMismatchError)
    expect(served).toEqual([])
  })

  it('a server without Peer ID Authentication: PeerAuthUnsupportedError', async () => {
    const fetch = createNativeFetch({ privateKey: key, fetch: platformFetch })
    const err = await fetch(urlOf(plain, '/')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PeerAuthUnsupportedError)
    expect((err as PeerAuthUnsupportedError).code).toBe('ERR_PEER_AUTH_UNSUPPORTED')
  })

  it('a redirect to another origin: the answer from there is not passed off as the proven peer\'s', async () => {
    const redirector = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert, auth: { server: { hostnames: ['127.0.0.1'] } } })
    try {
      redirector.host.serve((_request: Request) => new Response(null, { status: 302, headers: { location: urlOf(plain, '/') } }))
      const fetch = createNativeFetch({ privateKey: key, fetch: platformFetch })
      const got = await fetch(urlOf(redirector, '/'), { peer: redirector.node.peerId }).then(
        async (res) => ({ text: await res.text(), server: serverPeer(res)?.toString() }),
        (err: unknown) => err
      )
      // 'no auth here' came from `plain`, which proved nothing: it must not be attributed to `redirector`
      expect(got).toBeInstanceOf(PeerAuthError)
    } finally {
      await stopPeers(redirector)
    }
  })

  it('without a key: the platform fetch as it is', async () => {
    const res = await createNativeFetch({ fetch: platformFetch })(urlOf(plain, '/'))
    expect(await res.text()).toBe('no auth here')
    expect(serverPeer(res)).toBeUndefined()
  })
})

describe('auth.server.allowOrigins: what a browser needs from the server', () => {
  it('a preflight from an allowed origin is answered 204 with the method and headers allowed', async () => {
    const res = await platformFetch(urlOf(server, '/a'), { method: 'OPTIONS', headers: { origin: PAGE, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(PAGE)
    expect(res.headers.get('access-control-allow-methods')).toBe('POST')
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type')
    expect(res.headers.get('vary')).toBe('Origin')
  })

  it('the challenge (401) and the authenticated answer carry Allow-Origin and expose the auth headers', async () => {
    const challenge = await platformFetch(urlOf(server, '/a'), { headers: { origin: PAGE } })
    expect(challenge.status).toBe(401)
    expect(challenge.headers.get('access-control-allow-origin')).toBe(PAGE)
    expect(challenge.headers.get('access-control-expose-headers')).toMatch(/WWW-Authenticate.*Authentication-Info/)
    const pageFetch: typeof globalThis.fetch = async (input, init) => {
      const headers = new Headers(init?.headers)
      headers.set('origin', PAGE)
      return await platformFetch(input, { ...init, headers })
    }
    const res = await createNativeFetch({ privateKey: key, fetch: pageFetch })(urlOf(server, '/a'))
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe(PAGE)
    expect(res.headers.get('access-control-expose-headers')).toMatch(/Authentication-Info/)
  })

  it('another origin gets no CORS answer: its preflight meets the guard (401), nothing allows it', async () => {
    const res = await platformFetch(urlOf(server, '/a'), { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
    expect(res.status).toBe(401)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it.each(['*', 'https://app.example/path', 'app.example', 'null'])('refuses %s as an origin', async (origin) => {
    const err = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert, auth: { privateKey: key, server: { hostnames: ['127.0.0.1'], allowOrigins: [origin] } } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidAuthOptionsError)
    expect((err as InvalidAuthOptionsError).option).toBe('auth.server.allowOrigins[0]')
  })
})
