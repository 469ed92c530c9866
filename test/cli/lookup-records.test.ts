/**
 * The DHT that `libp2phttp relay` (and `serve --relay`) serves keeps no one's records (issue 16): a real
 * kad-dht peer sends it many PUT_VALUE and ADD_PROVIDER messages, each for a fresh key, and the node's
 * datastore holds none of them, while a plain kad-dht server given the same messages (the control) holds
 * them all, which shows that they arrived. Lookup by peer id (FIND_NODE) still answers.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { MemoryDatastore } from 'datastore-core/memory'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { DHT_DATASTORE_PREFIX, DHT_PROTOCOL, LookupOnlyDatastore, lookupServices } from '../../src/cli/lookup.js'
import { createNode } from '../../src/cli/node.js'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Libp2p } from '@libp2p/interface'

/** Fresh keys per kind of message: each one a new record, so that a store without a bound grows by N. */
const N = 20

/** A plain kad-dht node on our DHT protocol, with `datastore` (libp2p's default kind). */
async function dhtNode (datastore: MemoryDatastore): Promise<Libp2p<{ dht: KadDHT }>> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    datastore,
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({ protocol: DHT_PROTOCOL, datastorePrefix: DHT_DATASTORE_PREFIX, clientMode: false, peerInfoMapper: passthroughMapper })
    }
  })
}

/** The number of keys under `prefix` in `store`. */
async function count (store: MemoryDatastore, prefix: string): Promise<number> {
  let n = 0
  for await (const _ of store.queryKeys({ prefix })) n++
  return n
}

/** Wait (bounded) until `node`'s routing table holds at least `n` peers: kad-dht's table is not in its public type. */
async function untilInTable (node: Libp2p<{ dht: KadDHT }>, n: number): Promise<void> {
  const table = (node.services.dht as unknown as { routingTable: { size: number } }).routingTable
  await vi.waitFor(() => { if (table.size < n) throw new Error(`${table.size} of ${n} peers in the routing table`) }, { timeout: 10_000, interval: 50 })
}

/** Run a kad-dht operation (an async iterable of query events) to its end, bounded. */
async function drain (events: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of events) { /* the events themselves do not matter */ }
}

describe('the DHT of the command\'s nodes keeps no records (LookupOnlyDatastore)', () => {
  let ours: Libp2p
  let oursStore: LookupOnlyDatastore
  let control: Libp2p
  const controlStore = new MemoryDatastore()
  let sender: Libp2p<{ dht: KadDHT }>

  beforeAll(async () => {
    ours = await createNode(await generateKeyPair('Ed25519'), ['/ip4/127.0.0.1/tcp/0'], { services: lookupServices('server') })
    // the node's own datastore, which js-libp2p keeps among its components (no public accessor)
    oursStore = (ours as unknown as { components: { datastore: LookupOnlyDatastore } }).components.datastore
    control = await dhtNode(controlStore)
    sender = await dhtNode(new MemoryDatastore())
    await sender.dial(ours.getMultiaddrs()[0])
    await sender.dial(control.getMultiaddrs()[0])
    // both must be in the sender's routing table, or it would send them nothing
    await untilInTable(sender, 2)
  })

  afterAll(async () => {
    await Promise.all([ours, control, sender].map(async n => { await n?.stop() }))
  })

  it('is the datastore of every node the command makes', () => {
    expect(oursStore).toBeInstanceOf(LookupOnlyDatastore)
  })

  it(`${N} ADD_PROVIDER and ${N} PUT_VALUE for fresh keys: the control keeps them all, ours none, and says so`, async () => {
    for (let i = 0; i < N; i++) {
      const cid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`content ${i}`)))
      await drain(sender.services.dht.provide(cid, { signal: AbortSignal.timeout(10_000) }))
      // a valid public-key record (the one kind kad-dht's default validators take): a new key each time
      const key = (await generateKeyPair('Ed25519')).publicKey
      const recordKey = new Uint8Array([...new TextEncoder().encode('/pk/'), ...key.toMultihash().bytes])
      await drain(sender.services.dht.put(recordKey, publicKeyToProtobuf(key), { signal: AbortSignal.timeout(10_000) }))
    }
    expect(await count(controlStore, `${DHT_DATASTORE_PREFIX}/provider`)).toBe(N)
    expect(await count(controlStore, `${DHT_DATASTORE_PREFIX}/record`)).toBe(N)
    expect(await count(oursStore, `${DHT_DATASTORE_PREFIX}/provider`)).toBe(0)
    expect(await count(oursStore, `${DHT_DATASTORE_PREFIX}/record`)).toBe(0)
    expect(oursStore.refused).toBe(2 * N)
  }, 60_000)

  it('still answers a lookup by peer id (FIND_NODE from its routing table)', async () => {
    // the sender asks our node alone for the control's peer id; it knows it only from our routing table
    const asker = await dhtNode(new MemoryDatastore())
    try {
      await asker.dial(ours.getMultiaddrs()[0])
      await untilInTable(asker, 1)
      const found = await asker.peerRouting.findPeer(control.peerId, { signal: AbortSignal.timeout(10_000) })
      expect(found.id.equals(control.peerId)).toBe(true)
    } finally {
      await asker.stop()
    }
  })
})
