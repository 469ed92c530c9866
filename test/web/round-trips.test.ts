/**
 * The browser host's streams negotiated optimistically, counted through a relay (`bench/latency-relay.ts`)
 * as `test/stream/round-trips.test.ts` counts the Node client's: the flights the web client sends before
 * its request (or its body) reaches a Node host's handler. Deterministic: no timing is measured.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ProtocolNotSupportedError } from '../../src/index.js'
import { createHTTPHost as createWebHost } from '../../src/web/host.js'
import { countingRelay } from '../helpers/flights.js'
import { createNode, createPeer, stopPeers, until } from '../helpers/nodes.js'
import { openHTTPStreams } from '../helpers/raw-stream.js'
import type { LatencyRelay, RelayedConnection } from '../../bench/latency-relay.js'
import type { Peer } from '../helpers/nodes.js'
import type { BrowserHTTPHost, BrowserHTTPHostOptions } from '../../src/web/host.js'
import type { Libp2p } from '@libp2p/interface'

describe('the browser host\'s streams, negotiated optimistically', () => {
  let server: Peer | undefined
  let node: Libp2p | undefined
  let web: BrowserHTTPHost | undefined
  let relay: LatencyRelay | undefined
  afterEach(async () => {
    await web?.close({ timeout: 100 })
    await node?.stop()
    await relay?.close()
    await stopPeers(server)
    server = node = web = relay = undefined
  })

  async function start (init: Omit<BrowserHTTPHostOptions, 'libp2p'> = {}): Promise<{ server: Peer, web: BrowserHTTPHost, node: Libp2p, uri: string, upFlights: number[], connection: () => RelayedConnection }> {
    server = await createPeer()
    node = await createNode()
    web = await createWebHost({ ...init, libp2p: node })
    const counting = await countingRelay(server.node)
    relay = counting.relay
    const upFlights: number[] = []
    server.host.serve(async (req: Request) => {
      // a body read first: the count is of what the client sent before the whole request arrived
      const body = req.method === 'POST' ? await req.text() : 'ok'
      upFlights.push(counting.upFlights())
      return new Response(body)
    })
    const { uri, connection } = counting
    return { server, web, node, uri, upFlights, connection }
  }

  it('the first request to a peer not yet connected needs nothing from it once the noise handshake is done', async () => {
    const { web, node, uri, upFlights, connection } = await start()
    // from the moment the client's connection is up (noise's last message sent), nothing from the server
    // reaches it: a first stream negotiated in full would wait for the echo of /http/1.1 for ever
    node.addEventListener('connection:open', () => { connection().hold('down') }, { once: true })
    const first = web.fetch(uri)
    await until(() => upFlights.length === 1, 5000, 'the first request to reach the handler while the server\'s answers are held')
    connection().release('down')
    expect(await (await first).text()).toBe('ok')
  })

  it('a later request on the open connection reaches the handler while nothing comes back from the peer', async () => {
    const { server, web, node, uri, upFlights, connection } = await start()
    await (await web.fetch(uri)).text()
    await until(() => openHTTPStreams(node) === 0 && openHTTPStreams(server.node) === 0, 5000, 'the first stream to close')
    connection().hold('down')
    const second = web.fetch(uri)
    await until(() => upFlights.length === 2, 5000, 'the second request to reach the handler while the server\'s answers are held')
    connection().release('down')
    expect(await (await second).text()).toBe('ok')
  })

  it('a request body waits for the peer\'s confirmation (one flight more), so a refusing peer never gets it', async () => {
    const { web, uri, upFlights } = await start()
    expect(await (await web.fetch(uri, { method: 'POST', body: 'the body' })).text()).toBe('the body')
    expect(upFlights).toEqual([4])
  })

  it('a peer without /http/1.1: ProtocolNotSupportedError, for a burst too, no request body sent, no stream left', async () => {
    const { server, web, node, uri, connection } = await start()
    await server.node.unhandle('/http/1.1')
    const secret = 'x'.repeat(32 * 1024)
    await expect(web.fetch(uri, { method: 'POST', body: secret })).rejects.toBeInstanceOf(ProtocolNotSupportedError)
    const up = connection().chunks.filter(c => c.dir === 'up').reduce((n, c) => n + c.bytes, 0)
    expect(up).toBeLessThan(secret.length)
    const burst = await Promise.allSettled(Array.from({ length: 5 }, async () => await web.fetch(uri)))
    expect(burst.map(r => r.status === 'rejected' && r.reason instanceof ProtocolNotSupportedError)).toEqual(Array(5).fill(true))
    await until(() => openHTTPStreams(node) === 0 && openHTTPStreams(server.node) === 0, 5000, 'the refused streams to go')
  })

  it('a burst of first requests all succeed: the rest wait for the first stream\'s confirmation', async () => {
    const { web, uri } = await start({ maxStreamsPerPeer: 8 })
    const answers = await Promise.all(Array.from({ length: 20 }, async () => await (await web.fetch(uri)).text()))
    expect(answers.every(a => a === 'ok')).toBe(true)
  })

  it('a js-libp2p server reading the proposal, request and end in one go still answers (the end waits for the confirmation)', async () => {
    // js-libp2p 3's multistream-select handler puts the bytes after the proposal back onto the stream
    // and resets it when the remote has closed its write side by then: a web client that closed its
    // side right after the request lost the first stream of a new connection to a busy server
    const { server, uri } = await start()
    const other = await createNode()
    const otherWeb = await createWebHost({ libp2p: other })
    try {
      expect(await (await web!.fetch(uri)).text()).toBe('ok')
      const direct = `multiaddr:${server.node.getMultiaddrs()[0].toString()}`
      for (let i = 0; i < 3; i++) {
        expect(await (await otherWeb.fetch(direct)).text()).toBe('ok')
      }
    } finally {
      await otherWeb.close({ timeout: 100 })
      await other.stop()
    }
  })

  it("streamNegotiation: 'full' waits for the echo on every stream", async () => {
    const { server, web, node, uri, upFlights, connection } = await start({ streamNegotiation: 'full' })
    await (await web.fetch(uri)).text()
    await until(() => openHTTPStreams(node) === 0 && openHTTPStreams(server.node) === 0, 5000, 'the first stream to close')
    connection().hold('down')
    const second = web.fetch(uri)
    await new Promise(resolve => setTimeout(resolve, 300))
    // (a bound, not a timing: the request cannot leave before the held echo, however long this waits)
    expect(upFlights).toHaveLength(1)
    connection().release('down')
    expect(await (await second).text()).toBe('ok')
    expect(upFlights).toHaveLength(2)
  })
})
