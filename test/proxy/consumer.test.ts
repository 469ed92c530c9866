/**
 * forwardToPeer in-process: a local server in front of a real peer (the CLI tests cover it as processes).
 */
import { createServer } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forwardToPeer, nodeHandler } from '../../src/index.js'
import { usePeers } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

let server: Peer
let client: Peer
usePeers((s, c) => { server = s; client = c })

const locals: Server[] = []
async function local (listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(listener)
  locals.push(s)
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}
afterAll(() => { for (const s of locals) { s.closeAllConnections(); s.close() } })

beforeAll(() => {
  server.host.handle('/x/echo/1', (req, res) => { res.end(JSON.stringify({ url: req.url, host: req.headers.host, fwd: req.headers['x-forwarded-host'] ?? null })) })
  server.host.handle('/x/silent/1', nodeHandler(() => {}))
})

describe('forwardToPeer', () => {
  it('forwards to the protocol\'s path; the client\'s Host is passed on', async () => {
    const base = await local(forwardToPeer(client.host, server.node.getMultiaddrs()[0], { protocol: '/x/echo/1' }))
    const got = await (await fetch(`${base}/a/b?c=%2F`)).json()
    expect(got).toEqual({ url: '/a/b?c=%2F', host: new URL(base).host, fwd: null })
  })

  it('resolve() names the peer URL; a protocol the peer does not list: 502 destination_not_found', async () => {
    const forward = forwardToPeer(client.host, server.node.getMultiaddrs()[0], { protocol: '/x/none/1', pseudonym: 'local' })
    await expect(forward.resolve()).rejects.toMatchObject({ code: 'ERR_PROTOCOL_NOT_FOUND' })
    const res = await fetch(await local(forward))
    expect(res.status).toBe(502)
    expect(res.headers.get('proxy-status')).toMatch(/^local; error=destination_not_found/)
  })

  it('a peer that sends no headers within headersTimeout: 504', async () => {
    const res = await fetch(await local(forwardToPeer(client.host, server.node.getMultiaddrs()[0], { protocol: '/x/silent/1', headersTimeout: 300 })))
    expect(res.status).toBe(504)
    expect(res.headers.get('proxy-status')).toMatch(/error=http_response_header_timeout/)
  })
})
