/**
 * Issue 19: the rules of compression across the peer hop (`compression.ts`), one case per rule, and a
 * decompression bomb at a consumer that asked for a coding, bounded by `maxDecodedSize`, through real peers.
 */
import { createServer, get } from 'node:http'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forwardToPeer } from '../../src/index.js'
import { WIRE_ENCODINGS, decodeForClient, encodeForCaller, isCompressibleType, weakETag } from '../../src/proxy/compression.js'
import { gzipBomb } from '../helpers/gzip-bomb.js'
import { usePeers } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const json = ['Content-Type', 'application/json', 'Content-Length', '5000', 'ETag', '"a"', 'Accept-Ranges', 'bytes']
const header = (raw: string[], name: string): string | undefined => {
  const i = raw.findIndex((v, n) => n % 2 === 0 && v.toLowerCase() === name)
  return i < 0 ? undefined : raw[i + 1]
}

describe('encodeForCaller: what the provider codes', () => {
  const cases: Array<{ name: string, accept?: string, method?: string, status?: number, raw: string[], coding?: string }> = [
    { name: 'JSON to a caller accepting gzip: gzip', accept: 'gzip', raw: json, coding: 'gzip' },
    { name: 'the caller\'s q-values choose', accept: 'gzip;q=0.4, br;q=0.8', raw: json, coding: 'br' },
    { name: 'ties go to ours (gzip before br: its flush per chunk is cheaper)', accept: 'br, gzip', raw: json, coding: 'gzip' },
    { name: 'no Accept-Encoding: plain', raw: json },
    { name: 'identity only: plain', accept: 'identity', raw: json },
    { name: 'an unknown coding only: plain', accept: 'compress', raw: json },
    { name: 'an image: plain', accept: 'gzip', raw: ['Content-Type', 'image/png', 'Content-Length', '5000'] },
    { name: 'a zip: plain', accept: 'gzip', raw: ['Content-Type', 'application/zip'] },
    { name: 'no Content-Type: plain', accept: 'gzip', raw: ['Content-Length', '5000'] },
    { name: 'a body under 1 KiB: plain', accept: 'gzip', raw: ['Content-Type', 'text/plain', 'Content-Length', '1023'] },
    { name: 'a streamed body (no length): coded', accept: 'gzip', raw: ['Content-Type', 'text/event-stream'], coding: 'gzip' },
    { name: 'already coded: plain', accept: 'gzip', raw: ['Content-Type', 'text/plain', 'Content-Encoding', 'br'] },
    { name: 'no-transform: plain', accept: 'gzip', raw: ['Content-Type', 'text/plain', 'Cache-Control', 'public, no-transform'] },
    { name: '204: plain', accept: 'gzip', status: 204, raw: ['Content-Type', 'text/plain'] },
    { name: '206: plain', accept: 'gzip', status: 206, raw: [...json, 'Content-Range', 'bytes 0-4999/9000'] },
    { name: 'a +json suffix: coded', accept: 'gzip', raw: ['Content-Type', 'application/problem+json; charset=utf-8'], coding: 'gzip' }
  ]
  for (const c of cases) {
    it(c.name, () => {
      const out = encodeForCaller(c.accept, c.method ?? 'GET', c.status ?? 200, c.raw)
      expect(header(out.headers, 'content-encoding') ?? undefined).toBe(c.coding ?? header(c.raw, 'content-encoding'))
      expect('body' in out).toBe(c.coding != null)
    })
  }

  it('a coded answer: no Content-Length or Accept-Ranges, a weak ETag, Vary: Accept-Encoding added to the existing Vary', () => {
    const out = encodeForCaller('gzip', 'GET', 200, [...json, 'Vary', 'Origin', 'Content-Digest', 'sha-256=:x:'])
    expect(header(out.headers, 'content-length')).toBeUndefined()
    expect(header(out.headers, 'accept-ranges')).toBeUndefined()
    expect(header(out.headers, 'content-digest')).toBeUndefined()
    expect(header(out.headers, 'etag')).toBe('W/"a"')
    expect(out.headers.filter((_v, i) => i % 2 === 0 && out.headers[i].toLowerCase() === 'vary').length).toBe(2)
    expect(out.headers.join('|')).toMatch(/Vary\|Accept-Encoding/)
  })

  it('a compressible answer left plain for this caller still says Vary: Accept-Encoding; an image does not', () => {
    expect(header(encodeForCaller(undefined, 'GET', 200, json).headers, 'vary')).toBe('Accept-Encoding')
    expect(header(encodeForCaller('gzip', 'GET', 200, ['Content-Type', 'image/png']).headers, 'vary')).toBeUndefined()
  })

  it('HEAD: the headers the coded GET would have (RFC 9110 §9.3.2), no body to code', () => {
    const head = encodeForCaller('gzip', 'HEAD', 200, json)
    const get = encodeForCaller('gzip', 'GET', 200, json)
    expect('body' in head).toBe(false)
    expect(head.headers).toEqual(get.headers)
    expect(header(head.headers, 'content-encoding')).toBe('gzip')
    expect(header(head.headers, 'content-length')).toBeUndefined()
    expect(header(head.headers, 'etag')).toBe('W/"a"')
    // where the GET is left plain, so is the HEAD
    const small = ['Content-Type', 'text/plain', 'Content-Length', '5']
    expect(encodeForCaller('gzip', 'HEAD', 200, small).headers).toEqual(encodeForCaller('gzip', 'GET', 200, small).headers)
    expect(encodeForCaller('identity', 'HEAD', 200, json).headers).toEqual(encodeForCaller('identity', 'GET', 200, json).headers)
  })

  it('a 304 has its ETag weakened only where the 200 for this request would have been coded', () => {
    const etag = (accept: string | undefined, raw: string[], ifNoneMatch?: string): string | undefined => header(encodeForCaller(accept, 'GET', 304, raw, ifNoneMatch).headers, 'etag')
    // the 304 names a compressible type: the rules decide as for the 200
    expect(etag('gzip', ['ETag', '"a"', 'Content-Type', 'application/json'])).toBe('W/"a"')
    expect(etag('gzip', ['ETag', '"a"', 'Content-Type', 'image/png'])).toBe('"a"')
    expect(etag('gzip', ['ETag', '"a"', 'Content-Type', 'text/plain', 'Content-Length', '5'])).toBe('"a"')
    expect(etag('identity', ['ETag', '"a"', 'Content-Type', 'text/plain'])).toBe('"a"')
    expect(etag('gzip', ['ETag', '"a"', 'Content-Type', 'text/plain', 'Cache-Control', 'no-transform'])).toBe('"a"')
    // no type: only a caller revalidating our coded 200 (its If-None-Match names W/"a") gets W/"a"
    expect(etag('gzip', ['ETag', '"a"'], 'W/"a"')).toBe('W/"a"')
    expect(etag('gzip', ['ETag', '"a"'], '"b", W/"a"')).toBe('W/"a"')
    expect(etag('gzip', ['ETag', '"a"'], '"a"')).toBe('"a"')
    expect(etag('gzip', ['ETag', '"a"'])).toBe('"a"')
    expect(etag('gzip', ['ETag', '"a"'], 'W/"ab"')).toBe('"a"')
    // a cache holding both forms sends both tags; its Accept-Encoding says which the 200 would have been
    expect(etag('identity', ['ETag', '"a"'], '"a", W/"a"')).toBe('"a"')
    expect(etag(undefined, ['ETag', '"a"'], 'W/"a"')).toBe('"a"')
    // a tag may hold a comma
    expect(etag('gzip', ['ETag', '"a,b"'], 'W/"a,b"')).toBe('W/"a,b"')
  })

  it('weakETag keeps a weak tag', () => {
    expect(weakETag('W/"x"')).toBe('W/"x"')
    expect(weakETag('"x"')).toBe('W/"x"')
  })

  it('isCompressibleType: text, JSON, XML, JavaScript and their suffixes', () => {
    for (const t of ['text/html; charset=utf-8', 'text/event-stream', 'application/json', 'application/x-ndjson', 'image/svg+xml', 'application/javascript', 'application/ld+json']) expect(isCompressibleType(t), t).toBe(true)
    for (const t of ['image/png', 'video/mp4', 'application/zip', 'application/gzip', 'application/octet-stream', 'font/woff2', 'application/jsonx']) expect(isCompressibleType(t), t).toBe(false)
  })

  it('zstd only where zlib has it', () => {
    expect(WIRE_ENCODINGS.includes('zstd')).toBe(typeof (zlib as unknown as Record<string, unknown>).createZstdCompress === 'function')
    expect(WIRE_ENCODINGS.slice(-2)).toEqual(['gzip', 'br'])
  })
})

describe('decodeForClient: what the consumer decodes', () => {
  it('a coding it asked for: decoded, Content-Length and Content-Encoding gone, ETag weak, Vary kept', () => {
    const out = decodeForClient('GET', 200, ['Content-Type', 'application/json', 'Content-Encoding', 'gzip', 'Content-Length', '99', 'ETag', '"a"'])
    expect('body' in out).toBe(true)
    expect(header(out.headers, 'content-encoding')).toBeUndefined()
    expect(header(out.headers, 'content-length')).toBeUndefined()
    expect(header(out.headers, 'etag')).toBe('W/"a"')
    expect(header(out.headers, 'vary')).toBe('Accept-Encoding')
  })

  it('a coding it did not ask for, a 206 and a plain answer pass as they came', () => {
    for (const [status, raw] of [[200, ['Content-Encoding', 'deflate']], [206, ['Content-Encoding', 'gzip']], [200, ['Content-Type', 'text/plain']]] as const) {
      const out = decodeForClient('GET', status, [...raw])
      expect('body' in out).toBe(false)
      expect(out.headers).toEqual(raw)
    }
  })

  it('HEAD: the headers read as the decoded GET\'s, no body to decode', () => {
    const out = decodeForClient('HEAD', 200, ['Content-Encoding', 'br', 'Content-Length', '10'])
    expect('body' in out).toBe(false)
    expect(header(out.headers, 'content-encoding')).toBeUndefined()
    // the decoded GET streams without a length, so its HEAD names none (the coded length is not the plain one)
    expect(header(out.headers, 'content-length')).toBeUndefined()
  })
})

describe('a decompression bomb at the consumer', () => {
  let server: Peer
  let client: Peer
  usePeers((s, c) => { server = s; client = c })
  let local: Server
  beforeAll(async () => {
    const bomb = await gzipBomb()
    server.host.handle('/x/bomb/1', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length })
      res.end(bomb)
    })
    server.host.handle('/x/seen/1', (req, res) => { res.end(String(req.headers['accept-encoding'] ?? '-')) })
    local = createServer(forwardToPeer(client.host, server.node.getMultiaddrs()[0], { protocol: '/x/bomb/1', compress: true, maxDecodedSize: 1024 * 1024 }))
    seen = createServer(forwardToPeer(client.host, server.node.getMultiaddrs()[0], { protocol: '/x/seen/1', compress: true }))
    await new Promise<void>(resolve => seen.listen(0, '127.0.0.1', resolve))
    await new Promise<void>(resolve => local.listen(0, '127.0.0.1', resolve))
  })
  let seen: Server
  afterAll(() => { for (const s of [local, seen]) { s.closeAllConnections(); s.close() } })

  it('the consumer asks for a coding when its client asked for none, not for a range (a coded 206 cannot be decoded alone)', async () => {
    const at = (headers: Record<string, string>): Promise<string> => new Promise((resolve, reject) => {
      get(`http://127.0.0.1:${(seen.address() as AddressInfo).port}/`, { headers }, (res) => {
        let text = ''
        res.on('data', (c: Buffer) => { text += c.toString() }).on('end', () => { resolve(text) })
      }).on('error', reject)
    })
    expect(await at({})).toBe(WIRE_ENCODINGS.join(', '))
    expect(await at({ range: 'bytes=0-9' })).toBe('-')
    expect(await at({ 'accept-encoding': 'identity' })).toBe('identity')
  })

  it('is cut off at maxDecodedSize: the local client gets an incomplete body, never 256 MiB', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => { get(`http://127.0.0.1:${(local.address() as AddressInfo).port}/`, resolve).on('error', reject) })
    expect(res.headers['content-encoding']).toBeUndefined()
    let bytes = 0
    const outcome = await new Promise<string>((resolve) => {
      res.on('data', (c: Buffer) => { bytes += c.length })
      res.on('end', () => { resolve('end') })
      res.on('error', () => { resolve('error') })
      res.on('aborted', () => { resolve('aborted') })
    })
    expect(outcome).not.toBe('end')
    expect(bytes).toBeLessThanOrEqual(1024 * 1024)
  })
})
