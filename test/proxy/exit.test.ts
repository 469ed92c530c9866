/**
 * The exit over plain TCP (allow: 'any', so no peer is needed): path checking, the egress policy at
 * connect, the destination's Host, and a pool that does not forget origins.
 */
import { createServer, request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExit } from '../../src/proxy/exit.js'
import type { IncomingMessage, OutgoingHttpHeaders, Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const servers: Server[] = []

async function listen (server: Server): Promise<number> {
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

const echo = (): Server => createServer((req, res) => {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ url: req.url, host: req.headers.host }))
})

async function get (port: number, path: string, headers: OutgoingHttpHeaders = {}): Promise<{ status: number, body: string, res: IncomingMessage }> {
  return await new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), res }) })
    }).on('error', reject).on('timeout', function (this: { destroy: (e: Error) => void }) { this.destroy(new Error('timeout')) }).end()
  })
}

let open: number // the exit with the default policy
let lenient: number // the exit allowing 127.0.0.0/8 on any port
let origin: number

beforeAll(async () => {
  origin = await listen(echo())
  open = await listen(createExit({ allow: 'any' }))
  lenient = await listen(createExit({ allow: 'any', allowEgress: ['127.0.0.0/8'] }))
})

afterAll(() => {
  for (const s of servers) { s.closeAllConnections(); s.close() }
})

describe('exit', () => {
  it.each([
    ['0:0:0:0:0:ffff:7f00:1'], ['0::ffff:127.0.0.1'], ['::0:ffff:a9fe:a9fe'], ['::ffff:127.0.0.1'], ['::'], ['::1']
  ])('refuses [%s] (loopback/metadata spelt as IPv6): 403', async (ip) => {
    const { status, res } = await get(open, `/http/[${ip}]:${origin}/x`)
    expect(status).toBe(403)
    expect(res.headers['proxy-status']).toMatch(/destination_ip_prohibited/)
  })

  it.each([['2130706433'], ['0x7f.1'], ['017700000001'], ['localhost.'], ['localhost'], ['0.0.0.0']])('refuses %s (resolved, then refused)', async (name) => {
    const { status } = await get(open, `/http/${name}:${origin}/x`)
    expect([403, 502]).toContain(status)
    expect(status === 403 || name === 'localhost.').toBe(true) // a trailing-dot name may simply not resolve
  })

  it('a bracketed IPv4 or a name with odd characters is a bad path (400), and the exit stays up', async () => {
    for (const path of [`/http/[1.1.1.1]:${origin}/`, '/http/[1.1.1.1]/', `/http/a%2fb:${origin}/`, `/http/a_b:${origin}/`, '/http/[zz::1]/']) {
      expect((await get(open, path)).status).toBe(400)
    }
    const after = await get(lenient, `/http/127.0.0.1:${origin}/still`)
    expect(after.status).toBe(200)
    expect((await get(open, `/http/[1.1.1.1]:${origin}/`)).status).toBe(400)
  })

  it('sends the destination\'s Host (from the path), not the peer\'s', async () => {
    const { status, body } = await get(lenient, `/http/127.0.0.1:${origin}/h?q=1`, { host: 'evil.example' })
    expect(status).toBe(200)
    expect(JSON.parse(body)).toEqual({ url: '/h?q=1', host: `127.0.0.1:${origin}` })
  })

  it('an origin still works after requests to 70 other ports (its connection pool is not closed under it)', async () => {
    expect((await get(lenient, `/http/127.0.0.1:${origin}/first`)).status).toBe(200)
    const others = await Promise.all(Array.from({ length: 70 }, async () => await listen(echo())))
    for (const port of others) expect((await get(lenient, `/http/127.0.0.1:${port}/`)).status).toBe(200)
    const again = await get(lenient, `/http/127.0.0.1:${origin}/again`)
    expect(again.status).toBe(200)
    expect(JSON.parse(again.body).url).toBe('/again')
  })
})
