/**
 * The HTTP/1.1 shape given to HTTP/2 compatibility requests, on a real `node:http2` server and client.
 */
import { IncomingMessage, ServerResponse } from 'node:http'
import { connect, createSecureServer } from 'node:http2'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { asHTTP1Shape, authorityConflict, isHTTP2 } from '../../src/server/http2.js'
import { testCertificate } from '../helpers/tls.js'
import type { ClientHttp2Session, Http2SecureServer } from 'node:http2'
import type { AddressInfo } from 'node:net'

let server: Http2SecureServer
let session: ClientHttp2Session
let seen: Record<string, unknown> = {}

beforeAll(async () => {
  const cert = await testCertificate()
  server = createSecureServer({ ...cert, allowHTTP1: true }, (h2req, h2res) => {
    const req = h2req as unknown as IncomingMessage
    const res = h2res as unknown as ServerResponse
    asHTTP1Shape(req, res)
    seen = { http2: isHTTP2(req), conflict: authorityConflict(req) ?? null, host: req.headers.host, raw: [...req.rawHeaders] }
    // what Express does to every request: re-prototype onto http.IncomingMessage / ServerResponse
    Object.setPrototypeOf(req, Object.create(IncomingMessage.prototype))
    Object.setPrototypeOf(res, Object.create(ServerResponse.prototype))
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      res.setHeader('x-url', req.url ?? '')
      res.statusCode = 201
      res.end(`${req.method ?? ''} ${Buffer.concat(chunks).toString()}`)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  session = connect(`https://localhost:${(server.address() as AddressInfo).port}`, { ca: cert.cert })
})
afterAll(async () => {
  session.close()
  await new Promise(resolve => server.close(resolve))
})

async function exchange (headers: Record<string, string>, body?: string): Promise<{ status: number, url: string, text: string }> {
  return await new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body == null })
    let status = 0
    let url = ''
    let text = ''
    stream.on('response', (h) => { status = Number(h[':status']); url = String(h['x-url']) })
    stream.setEncoding('utf8').on('data', (c: string) => { text += c }).on('end', () => { resolve({ status, url, text }) }).on('error', reject)
    if (body != null) stream.end(body)
  })
}

it('Host from :authority, no pseudo-headers, and the request and response still work once re-prototyped', async () => {
  const answer = await exchange({ ':path': '/a?b=1', ':method': 'POST', 'x-custom': 'yes' }, 'payload')
  expect(answer).toEqual({ status: 201, url: '/a?b=1', text: 'POST payload' })
  const port = (server.address() as AddressInfo).port
  expect(seen).toEqual({ http2: true, conflict: null, host: `localhost:${port}`, raw: ['Host', `localhost:${port}`, 'x-custom', 'yes', 'Transfer-Encoding', 'chunked'] })
})

it('a body-less request is not marked chunked; a Host that names another entity than :authority is a conflict', async () => {
  await exchange({ ':path': '/', ':authority': 'localhost', host: 'elsewhere' })
  expect(seen).toMatchObject({ conflict: 'localhost', host: 'elsewhere', raw: ['host', 'elsewhere'] })
})

it('cookies sent as fields of their own (as browsers do over h2) are one Cookie field, as on HTTP/1.1 (RFC 9113 §8.2.3)', async () => {
  await exchange({ ':path': '/', 'x-a': '1', cookie: ['a=1', 'b=2'] as unknown as string, 'x-b': '2' })
  expect(seen).toMatchObject({ raw: ['Host', expect.any(String), 'x-a', '1', 'cookie', 'a=1; b=2', 'x-b', '2'] })
})
