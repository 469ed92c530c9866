/**
 * Protocols mounted at path prefixes and the well-known protocol map, served over real libp2p nodes
 * to our own client, once per transport.
 */
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import { promisify } from 'node:util'
import express from 'express'
import { Hono } from 'hono'
import { WebSocket, request as undiciRequest } from 'undici'
import { beforeEach, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { InvalidHandlerError, InvalidMountError, MountConflictError, createHTTPHost, originalUrl } from '../../src/index.js'
import { describeTarget } from '../../src/client/target.js'
import { withPath } from '../../src/client/target-path.js'
import { caught } from '../helpers/caught.js'
import { createPeer, stopPeers } from '../helpers/nodes.js'
import { testCertificate } from '../helpers/tls.js'
import { transports, usePeersOver } from '../helpers/transports.js'
import type { FetchInit, FetchTarget, HTTPHost } from '../../src/index.js'
import type { Peer } from '../helpers/nodes.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** A Node handler that reports what it was given. */
function reporter (name: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ name, url: req.url, originalUrl: originalUrl(req) }))
  }
}

/** Unmount everything but the default ping, and serve a root handler. */
function reset (host: HTTPHost): void {
  for (const protocol of ['/kv/1.0.0', '/kv-admin/1.0.0', '/blobs/1', '/hono/1', '/express/1', '/ws/1', '/ünï/1', '/ipfs/gateway']) {
    host.unhandle(protocol)
  }
  host.serve(reporter('root'))
}

describe.each(transports)('over $name', (transport) => {
  const { target } = transport
  let server: Peer
  let client: Peer
  usePeersOver(transport, (s, c) => { server = s; client = c })
  const at = (path: string): FetchTarget => withPath(target(server), path)
  const get = async (path: string, init?: FetchInit): Promise<Response> => await client.host.fetch(at(path), init)
  const json = async (path: string): Promise<unknown> => await (await get(path)).json()

  beforeEach(() => { reset(server.host) })

  describe('mounting', () => {
    it('serves a protocol under its id with the prefix stripped and the original kept', async () => {
      server.host.handle('/kv/1.0.0', reporter('kv'))
      expect(await json('/kv/1.0.0/keys/a?x=1')).toEqual({ name: 'kv', url: '/keys/a?x=1', originalUrl: '/kv/1.0.0/keys/a?x=1' })
      expect(await json('/kv/1.0.0/')).toEqual({ name: 'kv', url: '/', originalUrl: '/kv/1.0.0/' })
    })

    it('the most specific prefix wins; the root handler answers the rest, untouched', async () => {
      server.host.handle('/kv/1.0.0', reporter('kv'))
      server.host.handle('/kv-admin/1.0.0', reporter('admin'), { path: '/kv/1.0.0/admin/' })
      expect(await json('/kv/1.0.0/admin/users')).toEqual({ name: 'admin', url: '/users', originalUrl: '/kv/1.0.0/admin/users' })
      expect(await json('/kv/1.0.0/administrator')).toEqual({ name: 'kv', url: '/administrator', originalUrl: '/kv/1.0.0/administrator' })
      expect(await json('/elsewhere?q')).toEqual({ name: 'root', url: '/elsewhere?q', originalUrl: '/elsewhere?q' })
    })

    it('a protocol can be mounted at the root instead of serve(); the two exclude each other', async () => {
      expect(caught(() => { server.host.handle('/ipfs/gateway', reporter('gateway'), { path: '/' }) })).toBeInstanceOf(MountConflictError)
      const fresh = await createPeer(await transport.server())
      try {
        fresh.host.handle('/ipfs/gateway', reporter('gateway'), { path: '/' })
        fresh.host.handle('/kv/1.0.0', reporter('kv'))
        const on = (path: string): FetchTarget => withPath(target(fresh), path)
        expect(await (await client.host.fetch(on('/ipfs/bafy'))).json()).toEqual({ name: 'gateway', url: '/ipfs/bafy', originalUrl: '/ipfs/bafy' })
        expect(await (await client.host.fetch(on('/kv/1.0.0/k'))).json()).toMatchObject({ name: 'kv', url: '/k' })
        expect(await (await client.host.fetch(on('/.well-known/libp2p/protocols'))).json()).toMatchObject({ '/ipfs/gateway': { path: '/' } })
        expect(caught(() => { fresh.host.serve(reporter('root')) })).toBeInstanceOf(MountConflictError)
      } finally {
        await stopPeers(fresh)
      }
    })

    it('the mount path without its trailing slash is redirected (308) to the slash form, query kept', async () => {
      server.host.handle('/kv/1.0.0', reporter('kv'))
      const res = await get('/kv/1.0.0?x=1', { redirect: 'manual' })
      expect(res.status).toBe(308)
      // the relative Location comes back absolute: a multiaddr: URI to the same addresses, or a URL
      const location = res.headers.get('location') ?? ''
      expect(describeTarget(location).path).toBe('/kv/1.0.0/?x=1')
      // followed, also for a POST with its body (308 keeps the method)
      expect(await json('/kv/1.0.0?x=1')).toEqual({ name: 'kv', url: '/?x=1', originalUrl: '/kv/1.0.0/?x=1' })
      server.host.unhandle('/kv/1.0.0')
      server.host.handle('/kv/1.0.0', async (req: Request) => new Response(`${req.method} ${await req.text()}`))
      expect(await (await get('/kv/1.0.0', { method: 'POST', body: 'payload' })).text()).toBe('POST payload')
    })

    it('unhandle removes exactly that protocol; the others and the well-known map remain', async () => {
      server.host.handle('/kv/1.0.0', reporter('kv'))
      server.host.handle('/blobs/1', reporter('blobs'), { path: '/b/' })
      expect(server.host.unhandle('/kv/1.0.0')).toBe(true)
      expect(server.host.unhandle('/kv/1.0.0')).toBe(false)
      expect(await json('/kv/1.0.0/keys')).toMatchObject({ name: 'root' })
      expect(await json('/b/x')).toMatchObject({ name: 'blobs', url: '/x' })
      expect(await json('/.well-known/libp2p/protocols')).toEqual({ '/http-ping/1': { path: '/http-ping/1/' }, '/blobs/1': { path: '/b/' } })
    })

    it('bad mounts are typed errors with stable codes, and leave the host as it was', async () => {
      server.host.handle('/kv/1.0.0', reporter('kv'))
      expect(caught(() => { server.host.handle('/kv/1.0.0', reporter('again'), { path: '/other/' }) })).toMatchObject({ code: 'ERR_MOUNT_CONFLICT', protocol: '/kv/1.0.0' })
      expect(caught(() => { server.host.handle('/blobs/1', reporter('b'), { path: '/kv/1.0.0' }) })).toMatchObject({ code: 'ERR_MOUNT_CONFLICT', path: '/kv/1.0.0/' })
      expect(caught(() => { server.host.handle('/blobs/1', reporter('b'), { path: 'relative/' }) })).toBeInstanceOf(InvalidMountError)
      expect(caught(() => { server.host.handle('', reporter('b')) })).toMatchObject({ code: 'ERR_INVALID_MOUNT' })
      expect(caught(() => { server.host.handle('/blobs/1', 42 as unknown as () => void) })).toBeInstanceOf(InvalidHandlerError)
      expect(await json('/.well-known/libp2p/protocols')).toEqual({ '/http-ping/1': { path: '/http-ping/1/' }, '/kv/1.0.0': { path: '/kv/1.0.0/' } })
      expect(await json('/kv/1.0.0/k')).toMatchObject({ name: 'kv' })
    })

    it('mounted frameworks route on the stripped path; fetch-style handlers reach the original through originalUrl()', async () => {
      const app = express()
      app.get('/items/:id', (req, res) => { res.json({ id: req.params.id, url: req.url, originalUrl: req.originalUrl }) })
      server.host.handle('/express/1', app)
      expect(await json('/express/1/items/7?v=2')).toEqual({ id: '7', url: '/items/7?v=2', originalUrl: '/express/1/items/7?v=2' })

      const hono = new Hono()
      hono.get('/hello/:name', (c) => c.json({ name: c.req.param('name'), url: c.req.url, originalUrl: originalUrl(c.req.raw) }))
      server.host.handle('/hono/1', hono)
      const seen = await json('/hono/1/hello/world?z') as { name: string, url: string, originalUrl: string }
      expect(seen.name).toBe('world')
      expect(new URL(seen.url).pathname + new URL(seen.url).search).toBe('/hello/world?z')
      expect(new URL(seen.originalUrl).pathname + new URL(seen.originalUrl).search).toBe('/hono/1/hello/world?z')
    })

    it('upgrades (WebSocket) reach an http.Server mounted at a prefix, with the stripped path', async () => {
      const httpServer = createServer((_req, res) => { res.end('plain') })
      const wss = new WebSocketServer({ server: httpServer, path: '/socket' })
      wss.on('connection', (ws, req) => { ws.send(`welcome to ${req.url} of ${originalUrl(req)}`) })
      server.host.handle('/ws/1', httpServer)
      try {
        const url = (await client.host.url(at('/ws/1/socket'))).replace(/^http/, 'ws')
        const ws = new WebSocket(url, { dispatcher: client.host.dispatcher })
        const message = await new Promise<string>((resolve, reject) => {
          ws.onmessage = (event) => { resolve(String(event.data)) }
          ws.onerror = () => { reject(new Error('websocket failed')) }
        })
        expect(message).toBe('welcome to /socket of /ws/1/socket')
        const closed = new Promise<void>(resolve => { ws.onclose = () => { resolve() } })
        ws.close(1000)
        await closed
      } finally {
        wss.close()
      }
    })
  })

  describe('the well-known protocol map', () => {
    const WELL_KNOWN = '/.well-known/libp2p/protocols'

    it('GET: the flat map of handle() mounts (not the root handler), JSON with a byte-exact Content-Length', async () => {
      server.host.handle('/kv/1.0.0', reporter('kv'))
      server.host.handle('/ünï/1', reporter('u'), { path: '/u/' })
      const res = await get(WELL_KNOWN)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/json')
      const bytes = new Uint8Array(await res.arrayBuffer())
      expect(Number(res.headers.get('content-length'))).toBe(bytes.byteLength)
      expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual({
        '/http-ping/1': { path: '/http-ping/1/' },
        '/kv/1.0.0': { path: '/kv/1.0.0/' },
        '/ünï/1': { path: '/u/' }
      })
    })

    it('is served ahead of the root handler, also at the legacy path, and follows mounts as they change', async () => {
      expect(await json('/.well-known/libp2p')).toEqual({ '/http-ping/1': { path: '/http-ping/1/' } })
      server.host.handle('/kv/1.0.0', reporter('kv'))
      expect(await json('/.well-known/libp2p')).toEqual({ '/http-ping/1': { path: '/http-ping/1/' }, '/kv/1.0.0': { path: '/kv/1.0.0/' } })
      expect(await json(WELL_KNOWN)).toEqual({ '/http-ping/1': { path: '/http-ping/1/' }, '/kv/1.0.0': { path: '/kv/1.0.0/' } })
      server.host.unhandle('/kv/1.0.0')
      expect(await json(WELL_KNOWN)).toEqual({ '/http-ping/1': { path: '/http-ping/1/' } })
    })

    it('HEAD: the same headers, no body', async () => {
      const head = await get(WELL_KNOWN, { method: 'HEAD' })
      const getRes = await get(WELL_KNOWN)
      const body = new Uint8Array(await getRes.arrayBuffer())
      expect(head.status).toBe(200)
      expect(head.headers.get('content-type')).toBe('application/json')
      expect(head.headers.get('content-length')).toBe(String(body.byteLength))
      expect((await head.arrayBuffer()).byteLength).toBe(0)
    })

    it('other methods, OPTIONS included: 405 with Allow: GET, HEAD', async () => {
      for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
        const res = await get(WELL_KNOWN, { method, headers: { origin: 'https://example.com', 'access-control-request-method': 'GET' } })
        expect(res.status, method).toBe(405)
        expect(res.headers.get('allow')).toBe('GET, HEAD')
        expect(res.headers.get('access-control-allow-origin')).toBe('*')
      }
    })

    it('406 when Accept refuses JSON; absent, application/json, application/* and */* are fine', async () => {
      for (const [accept, status] of [['text/html', 406], ['application/json;q=0, */*', 406], ['*/*;q=0', 406], ['application/json', 200], ['application/*', 200], ['*/*', 200], ['text/html, application/json;q=0.5', 200]] as const) {
        const res = await get(WELL_KNOWN, { headers: { accept } })
        expect(res.status, accept).toBe(status)
        await res.body?.cancel()
      }
      // undici's fetch always sends an Accept; its request() sends none
      const url = await client.host.url(at(WELL_KNOWN))
      const { statusCode, body } = await undiciRequest(url, { dispatcher: client.host.dispatcher })
      expect(statusCode).toBe(200)
      expect(await body.json()).toHaveProperty(['/http-ping/1'])
    })

    it('CORS headers on this resource only', async () => {
      server.host.handle('/kv/1.0.0', reporter('kv'))
      expect((await get(WELL_KNOWN)).headers.get('access-control-allow-origin')).toBe('*')
      expect((await get('/kv/1.0.0/x')).headers.get('access-control-allow-origin')).toBeNull()
      expect((await get('/x')).headers.get('access-control-allow-origin')).toBeNull()
    })
  })
})

describe('the well-known map to curl, over the native transport', () => {
  it('a raw HTTPS request gets the JSON map with exact headers', async () => {
    const host = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: await testCertificate() })
    try {
      host.handle('/kv/1.0.0', reporter('kv'))
      const port = host.addrs()[0].getComponents().find(c => c.name === 'tcp')?.value ?? ''
      // HTTP/1.1, and HTTP/2 (what curl negotiates by default since the listeners offer h2)
      for (const [flag, status] of [['--http1.1', /^HTTP\/1\.1 200 OK/], ['--http2', /^HTTP\/2 200/]] as const) {
        const { stdout } = await promisify(execFile)('curl', ['-sS', '-k', '-i', flag, '--max-time', '10', '-H', 'Accept: application/json', `https://127.0.0.1:${port}/.well-known/libp2p/protocols`])
        const [head, body] = stdout.split('\r\n\r\n')
        expect(head).toMatch(status)
        expect(head).toMatch(/\r\ncontent-type: application\/json/i)
        expect(head).toMatch(new RegExp(`\\r\\ncontent-length: ${Buffer.byteLength(body)}\\r?(\\n|$)`, 'i'))
        expect(JSON.parse(body)).toEqual({ '/http-ping/1': { path: '/http-ping/1/' }, '/kv/1.0.0': { path: '/kv/1.0.0/' } })
      }
    } finally {
      await host.close()
    }
  })
})
