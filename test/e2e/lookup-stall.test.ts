/**
 * Lookup by peer id when the bootstrap's DHT lists a peer this node cannot reach (issue 16). kad-dht
 * held every query until its first self-query had ended, and the self-query asks each listed peer that
 * is closer to this node's id: one whose announced address never answers held the lookup until the
 * self-query's 5 s bound, though the bootstrap's first answer named the provider.
 *
 * In process, with the command's own nodes (createNode, lookupServices, joinLookup): a bootstrap DHT
 * server, a provider, and a DHT server announcing only the address of a TCP listener that accepts and
 * never speaks (its dial hangs in the handshake). Keys are drawn so that the self-query asks that peer
 * (closer to the consumer's id than the bootstrap) and the lookup of the provider does not (farther from
 * the provider's id than the bootstrap). The lookup must resolve before the self-query's bound has
 * passed since its dial to that peer: before the fix it waited for the self-query, which ended only
 * at that bound.
 */
import { createHash } from 'node:crypto'
import { createServer } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterAll, describe, expect, it } from 'vitest'
import { joinLookup, lookupServices } from '../../src/cli/lookup.js'
import { createNode } from '../../src/cli/node.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { SingleKadDHT } from '@libp2p/kad-dht'
import type { AddressInfo, Server, Socket } from 'node:net'

/** kad-dht's bound on its first self-query (QUERY_SELF_TIMEOUT, @libp2p/kad-dht 16 constants.js). */
const SELF_QUERY_BOUND = 5_000

/** kad-dht's key for a peer: SHA-256 of its multihash. */
const kadId = (key: PrivateKey): Buffer => createHash('sha256').update(peerIdFromPrivateKey(key).toMultihash().bytes).digest()

/** Whether `a` is closer to `target` than `b` (XOR distance). */
function closer (a: Buffer, b: Buffer, target: Buffer): boolean {
  for (let i = 0; i < target.length; i++) {
    const da = a[i] ^ target[i]
    const db = b[i] ^ target[i]
    if (da !== db) return da < db
  }
  return false
}

/** Resolves once `node`'s routing table holds `n` peers. */
async function tableHolds (node: Libp2p, n: number): Promise<void> {
  const table = (node.services as { dht: SingleKadDHT }).dht.routingTable as SingleKadDHT['routingTable'] & EventTarget
  while (table.size < n) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`routing table holds ${table.size} peers, not ${n}`)) }, 20_000)
      table.addEventListener('peer:add', () => { clearTimeout(t); resolve() }, { once: true })
    })
  }
}

describe('lookup by peer id: a listed DHT peer that never answers', () => {
  const nodes: Libp2p[] = []
  const sockets: Socket[] = []
  let blackHole: Server | undefined

  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await Promise.all(nodes.map(async n => { await n.stop() }))
    await new Promise(resolve => blackHole?.close(resolve))
  })

  it('does not delay the lookup: it resolves before the self-query gives that peer up', async () => {
    const [bootstrapKey, providerKey, consumerKey] = await Promise.all([0, 1, 2].map(async () => await generateKeyPair('Ed25519')))
    const [bootstrapId, providerId, consumerId] = [bootstrapKey, providerKey, consumerKey].map(kadId)
    let stallerKey: PrivateKey
    do stallerKey = await generateKeyPair('Ed25519')
    while (!(closer(kadId(stallerKey), bootstrapId, consumerId) && closer(bootstrapId, kadId(stallerKey), providerId)))

    // accepts, and never speaks: a dial there hangs in the handshake
    const accepted: Socket[] = []
    let acceptedOne: () => void = () => {}
    const first = new Promise<void>(resolve => { acceptedOne = resolve })
    blackHole = createServer(s => { sockets.push(s); accepted.push(s); acceptedOne() })
    await new Promise<void>(resolve => blackHole?.listen(0, '127.0.0.1', resolve))
    const holePort = (blackHole.address() as AddressInfo).port

    const bootstrap = await createNode(bootstrapKey, ['/ip4/127.0.0.1/tcp/0'], { services: lookupServices('server') })
    nodes.push(bootstrap)
    const provider = await createNode(providerKey, ['/ip4/127.0.0.1/tcp/0'], { services: lookupServices('server') })
    nodes.push(provider)
    // the staller announces the black hole only (libp2p's `announce` replaces the listening addresses)
    const staller = await createLibp2p({
      privateKey: stallerKey,
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [`/ip4/127.0.0.1/tcp/${holePort}`] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), ...lookupServices('server') }
    })
    nodes.push(staller)
    expect(staller.getMultiaddrs().map(a => a.decapsulate('/p2p').toString())).toEqual([`/ip4/127.0.0.1/tcp/${holePort}`])

    const bootstrapAddr = bootstrap.getMultiaddrs()[0]
    await provider.dial(bootstrapAddr)
    await staller.dial(bootstrapAddr)
    await tableHolds(bootstrap, 2)

    const consumer = await createNode(consumerKey, [], { services: lookupServices('client') })
    nodes.push(consumer)
    expect(await joinLookup(consumer, [bootstrapAddr], m => { throw new Error(m) })).toBe(true)
    // the self-query (1 s after start) asks the bootstrap, then dials the staller at the black hole
    await first
    // kad-dht bounds its first self-query by 5 s (QUERY_SELF_TIMEOUT in @libp2p/kad-dht's constants):
    // a lookup held by that query cannot resolve within this bound of its dial to the silent peer, and
    // one that is not takes a loopback round trip to the bootstrap
    const beforeSelfQueryGivesUp = AbortSignal.timeout(SELF_QUERY_BOUND - 500)
    const found = await consumer.peerRouting.findPeer(provider.peerId, { signal: beforeSelfQueryGivesUp })
    expect(found.id.equals(provider.peerId)).toBe(true)
    expect(found.multiaddrs.map(String)).toEqual(expect.arrayContaining(provider.getMultiaddrs().map(a => a.decapsulate('/p2p').toString())))
    // and the self-query's dial is still there: it was under way during the whole lookup
    expect(accepted[0].closed).toBe(false)
  }, 60_000)
})
