/**
 * The browser host's router (src/web/router.ts), run on Node's WHATWG Request/Response: the well-known
 * map, mounts with the Node router's rules, ping, the root handler, handler failures.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { InvalidHandlerError, MountConflictError } from '../../src/errors.js'
import { remotePeer, setRemotePeer } from '../../src/identity.js'
import { WebRouter } from '../../src/web/router.js'
import { originalUrl } from '../../src/server/original-url.js'

const PEER = peerIdFromString('12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo')

async function get (router: WebRouter, path: string, init: RequestInit = {}): Promise<Response> {
  return await router.dispatch(new Request(`http://peer${path}`, init))
}

describe('WebRouter', () => {
  it('serves the well-known map of its mounts (ping included), with CORS, and refuses other methods and non-JSON', async () => {
    const router = new WebRouter()
    router.handle('/kv/1', () => new Response('kv'))
    const res = await get(router, '/.well-known/libp2p/protocols', { headers: { accept: 'application/json' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(await res.json()).toEqual({ '/http-ping/1': { path: '/http-ping/1/' }, '/kv/1': { path: '/kv/1/' } })
    expect((await get(router, '/.well-known/libp2p')).status).toBe(200)
    expect((await get(router, '/.well-known/libp2p/protocols', { method: 'POST', body: 'x' })).status).toBe(405)
    expect((await get(router, '/.well-known/libp2p/protocols', { headers: { accept: 'text/html' } })).status).toBe(406)
    router.unhandle('/kv/1')
    expect(await (await get(router, '/.well-known/libp2p/protocols')).json()).toEqual({ '/http-ping/1': { path: '/http-ping/1/' } })
    expect(await (await get(new WebRouter({ ping: false }), '/.well-known/libp2p/protocols')).json()).toEqual({})
  })

  it('gives a mount the target under its prefix, keeping the caller and the original URL; redirects the bare prefix (308)', async () => {
    const router = new WebRouter()
    let seen: Request | undefined
    router.handle('/kv/1', (request) => { seen = request; return new Response('ok') })
    const request = new Request('http://peer/kv/1/keys/a?x=1', { method: 'POST', body: 'v' })
    setRemotePeer(request, PEER)
    expect((await router.dispatch(request)).status).toBe(200)
    expect(new URL(seen!.url).pathname + new URL(seen!.url).search).toBe('/keys/a?x=1')
    expect(seen!.method).toBe('POST')
    expect(await seen!.text()).toBe('v')
    expect(remotePeer(seen!)?.equals(PEER)).toBe(true)
    expect(originalUrl(seen!)).toBe('http://peer/kv/1/keys/a?x=1')
    const bare = await get(router, '/kv/1?q=2')
    expect(bare.status).toBe(308)
    expect(bare.headers.get('location')).toBe('/kv/1/?q=2')
  })

  it('answers 404 without a root handler, and the root handler sees the target as it came', async () => {
    const router = new WebRouter()
    expect((await get(router, '/nothing')).status).toBe(404)
    router.serve({ fetch: (request: Request) => new Response(new URL(request.url).pathname) })
    expect(await (await get(router, '/a/b')).text()).toBe('/a/b')
  })

  it('echoes a 32-byte ping and refuses other sizes and methods as Node does', async () => {
    const router = new WebRouter()
    const bytes = new Uint8Array(32).fill(7)
    const echo = await get(router, '/http-ping/1/', { method: 'POST', body: bytes })
    expect(echo.status).toBe(200)
    expect(new Uint8Array(await echo.arrayBuffer())).toEqual(bytes)
    expect((await get(router, '/http-ping/1/', { method: 'POST', body: new Uint8Array(33) })).status).toBe(400)
    expect((await get(router, '/http-ping/1/', { method: 'POST', body: new Uint8Array(31) })).status).toBe(400)
    const wrongMethod = await get(router, '/http-ping/1/')
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers.get('allow')).toBe('POST')
  })

  it('a handler that throws or returns no Response gives 500 and reaches onError', async () => {
    const errors: unknown[] = []
    const router = new WebRouter({ onError: (err) => { errors.push(err) } })
    router.handle('/boom/1', () => { throw new Error('boom') })
    router.handle('/bad/1', (() => 'not a response') as unknown as () => Response)
    expect((await get(router, '/boom/1/')).status).toBe(500)
    expect((await get(router, '/bad/1/')).status).toBe(500)
    expect(errors).toHaveLength(2)
    expect(errors[1]).toBeInstanceOf(InvalidHandlerError)
  })

  it('refuses handlers of Node shapes and conflicting mounts', () => {
    const router = new WebRouter()
    expect(() => { router.serve({ listen: () => {} } as never) }).toThrow(InvalidHandlerError)
    router.handle('/a/1', () => new Response())
    expect(() => { router.handle('/a/1', () => new Response()) }).toThrow(MountConflictError)
  })
})
