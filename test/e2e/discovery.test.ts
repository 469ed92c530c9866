/**
 * Discovering peers' protocol maps and fetching within a protocol, over real libp2p nodes, once per
 * transport. Servers are a real HTTPHost, and a raw HTTP-over-streams server that logs what it gets and
 * answers as each test says (an old node with only the legacy path, odd or oversized maps, no answer).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import {
  InvalidProtocolMapError,
  InvalidTargetError,
  ProtocolNotFoundError,
  WellKnownStatusError,
  WellKnownTimeoutError,
  WellKnownTooLargeError,
  invalidEntriesOf,
  originalUrl
} from '../../src/index.js'
import { createPeer, sleep, stopPeers, until } from '../helpers/nodes.js'
import { jsonAt, useRawServer } from '../helpers/raw-server.js'
import { transports, usePeersOver } from '../helpers/transports.js'
import type { Peer } from '../helpers/nodes.js'
import type { RawServer } from '../helpers/raw-server.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

const WELL_KNOWN = '/.well-known/libp2p/protocols'
const MAP = { '/echo/1': { path: '/e/' } }

describe.each(transports)('over $name', (transport) => {
  const { target } = transport
  let raw: RawServer
  useRawServer(transport.raw, (r) => { raw = r })
  let server: Peer
  let client: Peer
  usePeersOver(transport, (s, c) => {
    server = s
    client = c
    server.host.handle('/kv/1.0.0', (req: IncomingMessage, res: ServerResponse) => {
      res.end(JSON.stringify({ method: req.method, url: req.url, originalUrl: originalUrl(req) }))
    })
    server.host.handle('/store/1', (req: IncomingMessage, res: ServerResponse) => { res.end(`store ${req.url}`) }, { path: '/s/' })
  })

  beforeEach(() => {
    raw.requests.length = 0
    raw.respond = jsonAt(WELL_KNOWN, JSON.stringify(MAP))
    client.host.forgetProtocols(target(raw))
    client.host.forgetProtocols(target(server))
  })

  describe('host.protocols', () => {
    it('reads a host\'s map: its mounts and the default ping', async () => {
      expect(await client.host.protocols(target(server))).toEqual({
        '/http-ping/1': { path: '/http-ping/1/' },
        '/kv/1.0.0': { path: '/kv/1.0.0/' },
        '/store/1': { path: '/s/' }
      })
    })

    it('asks once, then answers from the cache, whichever way the peer is named', async () => {
      const namesPeer = transport.keyOf(raw) === raw.node.peerId.toString()
      for (const name of [target(raw), target(raw), ...namesPeer ? [raw.node.peerId, { peer: raw.node.peerId.toString() }] : []]) {
        expect(await client.host.protocols(name)).toEqual(MAP)
      }
      expect(raw.requests).toEqual([`GET ${WELL_KNOWN}`])
    })

    it('refresh: true asks again and replaces the cached map', async () => {
      await client.host.protocols(target(raw))
      raw.respond = jsonAt(WELL_KNOWN, JSON.stringify({ '/new/1': { path: '/n/' } }))
      expect(await client.host.protocols(target(raw), { refresh: true })).toEqual({ '/new/1': { path: '/n/' } })
      expect(await client.host.protocols(target(raw))).toEqual({ '/new/1': { path: '/n/' } })
      expect(raw.requests).toHaveLength(2)
    })

    it('concurrent calls for one peer share one request', async () => {
      let release!: () => void
      const released = new Promise<void>(resolve => { release = resolve })
      const answer = jsonAt(WELL_KNOWN, JSON.stringify(MAP))
      raw.respond = async (req, res) => { await released; answer(req, res) }
      const calls = Array.from({ length: 8 }, async () => await client.host.protocols(target(raw)))
      await until(() => raw.requests.length > 0, 5000, 'the first request')
      release()
      const maps = await Promise.all(calls)
      expect(maps.every(map => map === maps[0])).toBe(true)
      expect(raw.requests).toHaveLength(1)
    })

    it('accepts the spec\'s {"protocols": …} wrapper', async () => {
      raw.respond = jsonAt(WELL_KNOWN, JSON.stringify({ protocols: MAP }))
      expect(await client.host.protocols(target(raw))).toEqual(MAP)
    })

    it('falls back to the legacy /.well-known/libp2p when the current path is 404', async () => {
      raw.respond = jsonAt('/.well-known/libp2p', JSON.stringify(MAP))
      expect(await client.host.protocols(target(raw))).toEqual(MAP)
      expect(raw.requests).toEqual([`GET ${WELL_KNOWN}`, 'GET /.well-known/libp2p'])
    })

    it('asks with Accept: application/json', async () => {
      let accept: string | undefined
      raw.respond = (req, res) => { accept = req.headers.accept; jsonAt(WELL_KNOWN, '{}')(req, res) }
      await client.host.protocols(target(raw))
      expect(accept).toBe('application/json')
    })

    it('a status other than 200 is a typed error carrying it (404 after the legacy path too)', async () => {
      raw.respond = (_req, res) => { res.statusCode = 500; res.end('boom') }
      const failed = await client.host.protocols(target(raw)).catch((err: unknown) => err)
      expect(failed).toBeInstanceOf(WellKnownStatusError)
      expect(failed).toMatchObject({ code: 'ERR_WELL_KNOWN_STATUS', status: 500, target: transport.keyOf(raw) })
      raw.respond = (_req, res) => { res.statusCode = 404; res.end() }
      await expect(client.host.protocols(target(raw))).rejects.toMatchObject({ code: 'ERR_WELL_KNOWN_STATUS', status: 404 })
      expect(raw.requests).toEqual([`GET ${WELL_KNOWN}`, `GET ${WELL_KNOWN}`, 'GET /.well-known/libp2p'])
    })

    it('a map over 8 KiB is refused, whether its length is declared or not', async () => {
      const big = JSON.stringify({ '/a': { path: `/${'x'.repeat(9000)}/` } })
      raw.respond = jsonAt(WELL_KNOWN, big)
      await expect(client.host.protocols(target(raw))).rejects.toBeInstanceOf(WellKnownTooLargeError)
      // chunked, without Content-Length: the limit is found while reading
      let written = 0
      raw.respond = (_req, res) => {
        const chunk = Buffer.alloc(1024, 0x20)
        const more = (): void => {
          while (written < 1024 * 1024 && res.write(chunk)) written += chunk.byteLength
          if (written < 1024 * 1024) res.once('drain', more)
          else res.end()
        }
        res.on('close', () => { res.off('drain', more) })
        more()
      }
      await expect(client.host.protocols(target(raw))).rejects.toMatchObject({ code: 'ERR_WELL_KNOWN_TOO_LARGE', limit: 8192 })
      // the client stopped reading: the server could not write the whole megabyte
      expect(written).toBeLessThan(1024 * 1024)
    })

    it('malformed JSON and a map that is not an object are typed errors', async () => {
      for (const body of ['{"/a":{"path":"/a/"},}', '[1]']) {
        raw.respond = jsonAt(WELL_KNOWN, body)
        await expect(client.host.protocols(target(raw)), body).rejects.toBeInstanceOf(InvalidProtocolMapError)
      }
    })

    it('entries whose path is not an absolute string are left out and reported; the others kept', async () => {
      raw.respond = jsonAt(WELL_KNOWN, '{"/a":{"path":"a/"},"/b":{"path":7},"/c":{"path":"/c/"}}')
      const map = await client.host.protocols(target(raw), { refresh: true })
      expect(map).toEqual({ '/c': { path: '/c/' } })
      expect(invalidEntriesOf(map).map(e => e.protocol)).toEqual(['/a', '/b'])
    })

    it('gives up after the timeout with a typed error, and the request is abandoned', async () => {
      let gone = false
      raw.respond = (req) => { req.socket.once('close', () => { gone = true }) }
      const failed = await client.host.protocols(target(raw), { timeout: 200 }).catch((err: unknown) => err)
      expect(failed).toBeInstanceOf(WellKnownTimeoutError)
      expect(failed).toMatchObject({ code: 'ERR_WELL_KNOWN_TIMEOUT', timeout: 200 })
      await until(() => gone, 5000, 'the server to see the request abandoned')
    })

    it('a per-call AbortSignal stops the wait with its reason', async () => {
      raw.respond = () => {}
      const controller = new AbortController()
      const pending = client.host.protocols(target(raw), { signal: controller.signal })
      await until(() => raw.requests.length > 0, 5000, 'the request')
      controller.abort(new Error('changed my mind'))
      await expect(pending).rejects.toThrow('changed my mind')
    })

    it('the discovery timeout is a host option too', async () => {
      const impatient = await createPeer({ ...await transport.client(), discovery: { timeout: 100 } })
      try {
        raw.respond = () => {}
        await expect(impatient.host.protocols(target(raw))).rejects.toBeInstanceOf(WellKnownTimeoutError)
      } finally {
        await stopPeers(impatient)
      }
    })

    it('cached maps expire after cacheTTL', async () => {
      const shortLived = await createPeer({ ...await transport.client(), discovery: { cacheTTL: 1 } })
      const uncached = await createPeer({ ...await transport.client(), discovery: { cacheTTL: 0 } })
      try {
        await shortLived.host.protocols(target(raw))
        await sleep(10)
        await shortLived.host.protocols(target(raw))
        expect(raw.requests).toHaveLength(2)
        await uncached.host.protocols(target(raw))
        await uncached.host.protocols(target(raw))
        expect(raw.requests).toHaveLength(4)
      } finally {
        await stopPeers(shortLived, uncached)
      }
    })

    it('setProtocols records a map learnt out of band; forgetProtocols drops it', async () => {
      client.host.setProtocols(target(raw), { '/told/1': { path: '/t/' } })
      expect(await client.host.protocols(target(raw))).toEqual({ '/told/1': { path: '/t/' } })
      expect(raw.requests).toEqual([])
      client.host.forgetProtocols(target(raw))
      expect(await client.host.protocols(target(raw))).toEqual(MAP)
      expect(raw.requests).toHaveLength(1)
      expect(() => { client.host.setProtocols(target(raw), { '/bad': { path: 'rel' } }) }).toThrow(InvalidProtocolMapError)
    })
  })

  describe('fetching within a protocol', () => {
    it('host.fetch(target, { protocol, path }) requests the path under the peer\'s prefix, query kept', async () => {
      const res = await client.host.fetch(target(server), { protocol: '/kv/1.0.0', path: '/keys/a?x=1&y=%C3%A9' })
      expect(await res.json()).toEqual({ method: 'GET', url: '/keys/a?x=1&y=%C3%A9', originalUrl: '/kv/1.0.0/keys/a?x=1&y=%C3%A9' })
      const stored = await client.host.fetch(target(server), { protocol: '/store/1', path: '/k', method: 'PUT', body: 'v' })
      expect(await stored.text()).toBe('store /k')
    })

    it('without a path, the protocol\'s path as listed', async () => {
      const res = await client.host.fetch(target(server), { protocol: '/kv/1.0.0', method: 'POST', body: 'x' })
      expect(await res.json()).toEqual({ method: 'POST', url: '/', originalUrl: '/kv/1.0.0/' })
    })

    it('host.client(peer, protocol) is a namespaced client; its map lookup is cached', async () => {
      const echo = client.host.client(target(raw), '/echo/1')
      raw.respond = (req, res) => {
        if (req.url === WELL_KNOWN) { jsonAt(WELL_KNOWN, JSON.stringify(MAP))(req, res); return }
        res.end(`echo ${req.url}`)
      }
      expect(echo.protocol).toBe('/echo/1')
      expect(await (await echo.fetch('/a?q=1')).text()).toBe('echo /e/a?q=1')
      expect(await (await echo.fetch('b')).text()).toBe('echo /e/b')
      expect(await (await echo.fetch()).text()).toBe('echo /e/')
      const url = new URL(await echo.url('/c?d'))
      expect(`${url.pathname}${url.search}`).toBe('/e/c?d')
      expect(raw.requests).toEqual([`GET ${WELL_KNOWN}`, 'GET /e/a?q=1', 'GET /e/b', 'GET /e/'])
    })

    it('a protocol the peer does not list is a typed error naming both', async () => {
      const failed = await client.host.fetch(target(server), { protocol: '/nope/1', path: '/' }).catch((err: unknown) => err)
      expect(failed).toBeInstanceOf(ProtocolNotFoundError)
      expect(failed).toMatchObject({ code: 'ERR_PROTOCOL_NOT_FOUND', protocol: '/nope/1', target: transport.keyOf(server) })
    })

    it('path without protocol is refused', async () => {
      await expect(client.host.fetch(target(server), { path: '/x' })).rejects.toBeInstanceOf(InvalidTargetError)
    })
  })
})
