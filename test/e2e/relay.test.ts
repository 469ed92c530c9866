/**
 * `/http/1.1` over a circuit relay v2 on loopback: a provider reachable only at its `/p2p-circuit`
 * address, a consumer that dials it there, and the relay's data and duration limits cutting exchanges.
 */
import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { DialError, RelayLimitError } from '../../src/index.js'
import { stopPeers, until } from '../helpers/nodes.js'
import { openHTTPStreams } from '../helpers/raw-stream.js'
import { circuitAddrs, createRelay, createRelayConsumer, createRelayedPeer } from '../helpers/relay.js'
import type { Peer } from '../helpers/nodes.js'
import type { HTTPHostOptions } from '../../src/index.js'
import type { Libp2p } from '@libp2p/interface'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RelayLimits } from '../helpers/relay.js'

let peers: Peer[] = []
let relays: Libp2p[] = []
afterEach(async () => {
  await stopPeers(...peers)
  await Promise.all(relays.map(async r => { await r.stop() }))
  peers = []
  relays = []
})

/** A relay, a provider behind it and a consumer; `uri` is the provider's relayed address. */
async function relayed (limits: RelayLimits = {}, consumerInit: Omit<HTTPHostOptions, 'libp2p'> = {}): Promise<{ provider: Peer, consumer: Peer, uri: string }> {
  const relay = await createRelay(limits)
  relays.push(relay)
  const provider = await createRelayedPeer(relay, { onError: () => {} })
  const consumer = await createRelayConsumer(consumerInit)
  peers.push(provider, consumer)
  return { provider, consumer, uri: `multiaddr:${circuitAddrs(provider.node)[0].toString()}` }
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/**
 * The error a relayed exchange failed with: the fetch's own when the cut came before the response
 * headers were read, else the body's (undici's fetch reports `terminated`, caused by ours).
 */
async function failure (response: Promise<Response>, read: (res: Response) => Promise<unknown>): Promise<unknown> {
  let res: Response
  try {
    res = await response
  } catch (err) {
    return err
  }
  try {
    return { completed: await read(res) }
  } catch (err) {
    return (err as Error).cause ?? err
  }
}

describe('/http/1.1 over a relayed (limited) connection', () => {
  it('is served and fetched by default: a GET and a POST through the relay arrive intact', async () => {
    const { provider, consumer, uri } = await relayed()
    provider.host.serve((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        res.setHeader('x-remote', String(req.socket.remoteAddress))
        res.end(`${req.method} ${req.url} ${sha256(Buffer.concat(chunks))}`)
      })
    })
    const get = await consumer.host.fetch(`${uri}/http-path/hello`)
    expect(get.status).toBe(200)
    expect(await get.text()).toBe(`GET /hello ${sha256(new Uint8Array())}`)
    expect(get.headers.get('x-remote')).toContain('/p2p-circuit')
    const body = new Uint8Array(32 * 1024).fill(7)
    const post = await consumer.host.fetch(uri, { method: 'POST', body })
    expect(await post.text()).toBe(`POST / ${sha256(body)}`)
    // both requests went over the one relayed connection
    expect(consumer.node.getConnections(provider.node.peerId).filter(c => c.limits != null)).toHaveLength(1)
  })

  it('runOnLimitedConnection: false refuses to fetch over a relay, with a DialError', async () => {
    const { provider, consumer, uri } = await relayed({}, { runOnLimitedConnection: false })
    provider.host.serve((_req: IncomingMessage, res: ServerResponse) => { res.end('no') })
    const err = await consumer.host.fetch(uri).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DialError)
    expect((err as Error).message).toMatch(/limited connection/)
  })

  it('a relay data limit cutting a Content-Length download fails the body with RelayLimitError (data)', async () => {
    const { provider, consumer, uri } = await relayed({ data: 256n * 1024n })
    provider.host.serve((_req: IncomingMessage, res: ServerResponse) => { res.end(Buffer.alloc(2 << 20, 1)) })
    const cause = await failure(consumer.host.fetch(uri), async res => await res.arrayBuffer())
    expect(cause).toBeInstanceOf(RelayLimitError)
    expect((cause as RelayLimitError).code).toBe('ERR_RELAY_LIMIT')
    expect((cause as RelayLimitError).limit).toBe('data')
    // nothing left open on either side after the cut
    await until(() => openHTTPStreams(provider.node) + openHTTPStreams(consumer.node) === 0, 5000, 'streams closed')
  })

  it('a relay data limit cutting a close-delimited response is an error, not a shorter complete body', async () => {
    const { provider, consumer, uri } = await relayed({ data: 256n * 1024n })
    provider.host.serve((_req: IncomingMessage, res: ServerResponse) => {
      // no Content-Length and no chunking: the body ends where the stream ends (RFC 9112 §6.3 rule 8),
      // so only the way the stream ended tells a cut from the end
      (res as ServerResponse & { useChunkedEncodingByDefault: boolean }).useChunkedEncodingByDefault = false
      res.shouldKeepAlive = false
      res.writeHead(200)
      res.write(Buffer.alloc(2 << 20, 1))
      res.end()
    })
    const cause = await failure(consumer.host.fetch(uri), async res => (await res.arrayBuffer()).byteLength)
    expect(cause).toBeInstanceOf(RelayLimitError)
    expect((cause as RelayLimitError).limit).toBe('data')
  })

  it('a relay duration limit cutting a stream of events fails it with RelayLimitError (duration)', async () => {
    const { provider, consumer, uri } = await relayed({ duration: 1500, data: 1n << 30n })
    provider.host.serve((_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const timer = setInterval(() => { res.write('data: tick\n\n') }, 50)
      res.on('close', () => { clearInterval(timer) })
    })
    const cause = await failure(consumer.host.fetch(uri), async res => await res.text())
    expect(cause).toBeInstanceOf(RelayLimitError)
    expect((cause as RelayLimitError).limit).toBe('duration')
  }, 15_000)
})
