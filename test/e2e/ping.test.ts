/**
 * `/http-ping/1` over real libp2p nodes, once per transport: served by default, `host.ping`, the 400 and
 * 405 answers, and a client that checks the echo.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PING_PROTOCOL, PingError, ProtocolNotFoundError } from '../../src/index.js'
import { withPath } from '../../src/client/target-path.js'
import { createPeer, stopPeers } from '../helpers/nodes.js'
import { createRawServer, jsonAt } from '../helpers/raw-server.js'
import { transports, usePeersOver } from '../helpers/transports.js'
import type { FetchInit } from '../../src/index.js'
import type { Peer } from '../helpers/nodes.js'

describe.each(transports)('over $name', (transport) => {
  const { target } = transport
  let server: Peer
  let client: Peer
  let silent: Peer
  usePeersOver(transport, (s, c) => { server = s; client = c })
  beforeAll(async () => { silent = await createPeer({ ...await transport.server(), ping: false }) })
  afterAll(async () => { await stopPeers(silent) })
  const post = async (init: FetchInit): Promise<Response> => await client.host.fetch(withPath(target(server), '/http-ping/1/'), init)

  it('host.ping sends 32 bytes, checks the echo and returns the round trip in ms', async () => {
    const rtt = await client.host.ping(target(server))
    expect(typeof rtt).toBe('number')
    expect(rtt).toBeGreaterThan(0)
  })

  it('the server echoes exactly 32 bytes as application/octet-stream', async () => {
    const body = randomBytes(32)
    const res = await post({ method: 'POST', body })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect(res.headers.get('content-length')).toBe('32')
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true)
  })

  it('any other length is 400, streamed bodies included', async () => {
    for (const size of [0, 1, 31, 33, 64 * 1024]) {
      const res = await post({ method: 'POST', body: randomBytes(size) })
      expect(res.status, `${size} bytes`).toBe(400)
      await res.body?.cancel()
    }
    for (const sizes of [[16, 15], [16, 17], [32, 1]]) {
      const parts = sizes.map(n => new Uint8Array(n))
      const body = new ReadableStream<Uint8Array>({ pull (controller) { const next = parts.shift(); if (next == null) controller.close(); else controller.enqueue(next) } })
      const res = await post({ method: 'POST', body, duplex: 'half' })
      expect(res.status, `chunks of ${sizes.join('+')}`).toBe(400)
      await res.body?.cancel()
    }
  })

  it('a huge body is refused without being read', async () => {
    let pulled = 0
    const chunk = new Uint8Array(64 * 1024)
    const body = new ReadableStream<Uint8Array>({
      pull (controller) {
        pulled += chunk.byteLength
        if (pulled > 256 * 1024 * 1024) controller.close()
        else controller.enqueue(chunk)
      }
    })
    const res = await post({ method: 'POST', body, duplex: 'half' })
    expect(res.status).toBe(400)
    await res.body?.cancel()
    // flow control stops the sender at about a muxer window, far short of the 256 MiB it would send
    expect(pulled).toBeLessThan(64 * 1024 * 1024)
  })

  it('other methods are 405 with Allow: POST', async () => {
    const res = await post({ method: 'GET' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
  })

  it('ping: false serves no ping and lists none; pinging such a peer is ERR_PROTOCOL_NOT_FOUND', async () => {
    expect(await client.host.protocols(target(silent))).toEqual({})
    await expect(client.host.ping(target(silent))).rejects.toBeInstanceOf(ProtocolNotFoundError)
  })

  it('a wrong echo or a status other than 200 is a PingError', async () => {
    const map = JSON.stringify({ [PING_PROTOCOL]: { path: '/p/' } })
    const answers: Array<{ status: number, body: Uint8Array }> = [
      { status: 200, body: new Uint8Array(32) },
      { status: 200, body: new Uint8Array(33) },
      { status: 500, body: new Uint8Array(0) }
    ]
    const raw = await createRawServer(await transport.raw())
    try {
      for (const answer of answers) {
        raw.respond = (req, res) => {
          if (req.method === 'GET') { jsonAt('/.well-known/libp2p/protocols', map)(req, res); return }
          res.statusCode = answer.status
          res.end(answer.body)
        }
        const failed = await client.host.ping(target(raw)).catch((err: unknown) => err)
        expect(failed).toBeInstanceOf(PingError)
        expect(failed).toMatchObject({ code: 'ERR_PING_FAILED', status: answer.status })
      }
      expect(raw.requests.filter(r => r.startsWith('POST'))).toEqual(['POST /p/', 'POST /p/', 'POST /p/'])
    } finally {
      await raw.stop()
    }
  })

  it('a peer that takes the POST and never answers: the ping times out instead of hanging', async () => {
    const map = JSON.stringify({ [PING_PROTOCOL]: { path: '/p/' } })
    const raw = await createRawServer(await transport.raw())
    try {
      raw.respond = (req, res) => {
        if (req.method === 'GET') { jsonAt('/.well-known/libp2p/protocols', map)(req, res); return }
        // read the body, answer nothing
        req.resume()
      }
      const failed = await client.host.ping(target(raw), { timeout: 300 }).catch((err: unknown) => err)
      expect((failed as Error).name).toBe('TimeoutError')
    } finally {
      await raw.stop()
    }
  })
})
