/**
 * Round trips of the stream transport, counted through a relay (`bench/latency-relay.ts`) between two
 * real nodes: the flights (runs of chunks in one direction) the client sends before its request reaches
 * the server's handler. The count is deterministic: the nodes have no identify or other protocol of
 * their own, so each end speaks only in answer to the other (or, the client, with its request), and the
 * relay logs a chunk before it passes it on. No timing is measured.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ProtocolNotSupportedError } from '../../src/index.js'
import { countingRelay } from '../helpers/flights.js'
import { createPeer, stopPeers, until } from '../helpers/nodes.js'
import { openHTTPStreams } from '../helpers/raw-stream.js'
import type { LatencyRelay, RelayedConnection } from '../../bench/latency-relay.js'
import type { Peer } from '../helpers/nodes.js'

describe('round trips of a first request to a peer not yet connected', () => {
  let server: Peer | undefined
  let client: Peer | undefined
  let relay: LatencyRelay | undefined
  afterEach(async () => {
    await relay?.close()
    await stopPeers(server, client)
    server = client = relay = undefined
  })

  /** A server behind a relay that adds no delay and logs; its handler counts the client's flights so far. */
  async function start (clientInit: Parameters<typeof createPeer>[0] = {}): Promise<{ server: Peer, client: Peer, uri: string, upFlights: number[], connection: () => RelayedConnection }> {
    server = await createPeer()
    client = await createPeer(clientInit)
    const counting = await countingRelay(server.node)
    relay = counting.relay
    const upFlights: number[] = []
    server.host.serve((_req, res) => {
      // the request has passed the relay, which logged it: what the client sent up to it is complete
      upFlights.push(counting.upFlights())
      res.end('ok')
    })
    const { uri, connection } = counting
    return { server, client, uri, upFlights, connection }
  }

  it('sends the request with the noise handshake\'s last message: 3 flights from the client (TCP connect aside)', async () => {
    const { client, uri, upFlights } = await start()
    // (the server's side is quiet until the client speaks: the count needs no hold)
    expect(await (await client.host.fetch(uri)).text()).toBe('ok')
    // 1: multistream-select proposing /noise; 2: noise XX message 1; 3: noise message 3, the muxer
    // (early, in noise's extensions), the /http/1.1 stream with its proposal and the request. A first
    // stream negotiated in full took a fourth: the request waited for the echo of /http/1.1.
    expect(upFlights).toEqual([3])
  })

  it('a later request on the open connection leaves without waiting for any answer from the peer', async () => {
    const { server, client, uri, upFlights, connection } = await start()
    await (await client.host.fetch(uri)).text()
    await until(() => openHTTPStreams(client.node) === 0 && openHTTPStreams(server.node) === 0, 5000, 'the first stream to close')
    // nothing from the server reaches the client now: a request that waited for the echo of its
    // protocol proposal (full negotiation) would never reach the handler
    connection().hold('down')
    const second = client.host.fetch(uri)
    await until(() => upFlights.length === 2, 5000, 'the second request to reach the handler while the server\'s answers are held')
    connection().release('down')
    expect(await (await second).text()).toBe('ok')
  })

  /** A stream body of unknown length: undici sends it chunked. */
  function streamed (text: string): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({ start (c) { c.enqueue(new TextEncoder().encode(text)); c.close() } })
  }

  // with a length, undici writes the head as a chunk of its own; chunked, it writes the head's last
  // CRLF with the first chunk's size, in the same cork as the chunk
  for (const kind of ['with a length', 'streamed (chunked)'] as const) {
    it(`a first request with a body ${kind} sends the body only once the peer has confirmed /http/1.1 (one flight more)`, async () => {
      const { server, client, uri, connection } = await start()
      const bodyFlights: number[] = []
      server.host.serve(async (req: Request) => {
        const body = await req.text()
        bodyFlights.push(connection().flights().filter(f => f.dir === 'up').length)
        return new Response(body)
      })
      const init = kind === 'with a length' ? { method: 'POST', body: 'the body' } : { method: 'POST', body: streamed('the body'), duplex: 'half' as const }
      expect(await (await client.host.fetch(uri, init)).text()).toBe('the body')
      // head with the handshake's last message (3), the body after the echo (4): a peer that refuses
      // /http/1.1 never receives a request body
      expect(bodyFlights).toEqual([4])
    })
  }

  it('a peer that refuses /http/1.1 on the first stream never receives a streamed request body', async () => {
    const { server, client, uri, connection } = await start()
    await server.node.unhandle('/http/1.1')
    const secret = 'x'.repeat(32 * 1024)
    await expect(client.host.fetch(uri, { method: 'POST', body: streamed(secret), duplex: 'half' })).rejects.toBeInstanceOf(ProtocolNotSupportedError)
    // everything the client sent through the relay: the handshake, the proposal and the head, not the body
    const up = connection().chunks.filter(c => c.dir === 'up').reduce((n, c) => n + c.bytes, 0)
    expect(up).toBeLessThan(secret.length)
    await until(() => openHTTPStreams(client!.node) === 0 && openHTTPStreams(server!.node) === 0, 5000, 'the refused stream to go')
  })

  it("negotiates the first stream in full with streamNegotiation: 'full' (one flight more)", async () => {
    const { client, uri, upFlights } = await start({ streamNegotiation: 'full' })
    await (await client.host.fetch(uri)).text()
    expect(upFlights).toEqual([4])
  })

  it('records in the peer store that the peer speaks /http/1.1 once it confirmed, as newStream does', async () => {
    const { server, client, uri } = await start()
    await (await client.host.fetch(uri)).text()
    const known = await client.node.peerStore.get(server.node.peerId)
    expect(known.protocols).toContain('/http/1.1')
  })

  it('a burst of first requests through the relay all succeed: the rest wait for the first stream\'s confirmation', async () => {
    const { client, uri } = await start()
    const answers = await Promise.all(Array.from({ length: 40 }, async () => await (await client.host.fetch(uri)).text()))
    expect(answers.every(a => a === 'ok')).toBe(true)
  })

  it('the rest of a burst waits for the first stream\'s confirmation, not for its response', async () => {
    const { server, client, uri } = await start()
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    server.host.serve(async (req: Request) => {
      if (new URL(req.url).pathname === '/slow') await held
      return new Response('ok')
    })
    const slow = client.host.fetch(`${uri}/http-path/slow`)
    // the first request's answer is held by its handler; a second one still goes through
    expect(await (await client.host.fetch(`${uri}/http-path/fast`)).text()).toBe('ok')
    release()
    expect(await (await slow).text()).toBe('ok')
  })

  it('a burst to a peer that does not speak /http/1.1 fails whole once the first stream is refused, without a stream more per request', async () => {
    const { server, client, uri, connection } = await start()
    await server.node.unhandle('/http/1.1')
    const burst = 12
    const results = await Promise.allSettled(Array.from({ length: burst }, async () => await client.host.fetch(uri)))
    expect(results.map(r => r.status === 'rejected' && r.reason instanceof ProtocolNotSupportedError)).toEqual(Array(burst).fill(true))
    // the handshake (3 flights), the first stream's reset, perhaps its proposal's own flight: each
    // request of the burst retrying the refused protocol in turn added a flight (and a round trip) apiece
    expect(connection().flights().filter(f => f.dir === 'up').length).toBeLessThan(burst)
    await until(() => openHTTPStreams(client!.node) === 0 && openHTTPStreams(server!.node) === 0, 5000, 'the refused streams to go')
  })

  it('requests queued behind a first stream that got no answer in time fail with why, not with a confirmation of 0 ms of their own', async () => {
    const { client, uri, connection } = await start({ connectTimeout: 800 })
    // the connection comes up, then nothing more from the server reaches the client: no echo, ever
    client.node.addEventListener('connection:open', () => { connection().hold('down') }, { once: true })
    const results = await Promise.allSettled(Array.from({ length: 4 }, async () => await client.host.fetch(uri)))
    const messages = results.map(r => r.status === 'rejected' ? String((r.reason as Error).message) : 'fulfilled')
    // one request owned the first stream and timed out; the rest say they waited behind it (or that
    // their bound ran out before a stream of their own could be proposed), never "within 0 ms"
    expect(messages.filter(m => /did not confirm \/http\/1\.1 within [1-9]\d* ms$/.test(m))).toHaveLength(1)
    expect(messages.filter(m => /got no confirmation in time \(.*\); this request waited behind it$/.test(m))).toHaveLength(3)
    expect(results.every(r => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_DIAL_FAILED')).toBe(true)
    connection().release('down')
  })

  it('a peer that does not speak /http/1.1 fails the first request with ProtocolNotSupportedError and leaves no stream', async () => {
    const { server, client, uri } = await start()
    await server.node.unhandle('/http/1.1')
    const refused = client.host.fetch(uri)
    await expect(refused).rejects.toBeInstanceOf(ProtocolNotSupportedError)
    // a second try is refused the same way (the connection was never marked as speaking /http/1.1)
    await expect(client.host.fetch(uri)).rejects.toBeInstanceOf(ProtocolNotSupportedError)
    await until(() => openHTTPStreams(client!.node) === 0 && openHTTPStreams(server!.node) === 0, 5000, 'the refused streams to go')
  })
})
