/**
 * Lookup by peer id: `--bootstrap MULTIADDR` and a bare `/p2p/<peer id>` target. A `libp2phttp relay`
 * runs a Kademlia DHT (@libp2p/kad-dht) in server mode; a provider that reserves a slot there
 * (`serve --relay`) joins it in server mode too, so the relay's routing table holds it with the addresses
 * it announces (its `/p2p-circuit` ones among them); a consumer joins as a client through `--bootstrap`
 * and libp2p's dialler, given a peer id with no known address, asks the DHT for it (`peerRouting.findPeer`).
 * The provider's identity is still proven by the connection's handshake: an address from the DHT can
 * send a consumer to the wrong place, never to the wrong peer.
 *
 * The lookup needs FIND_NODE only, which answers from the routing table (bounded: k-buckets). kad-dht
 * also stores, from any peer that asks, values (PUT_VALUE) and provider records (ADD_PROVIDER) in the
 * node's datastore, with no bound on their number (a peer may make fresh keys at will) and a day before
 * they expire: on a public relay, memory anyone could fill. The command's nodes keep their datastore in a
 * {@link LookupOnlyDatastore}, which refuses both.
 *
 * @module
 */
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { MemoryDatastore } from 'datastore-core/memory'
import { once } from 'node:events'
import { UsageError } from '../errors.js'
import { describeFailure } from './client-options.js'
import { relaySpecs } from './relay-options.js'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { KadDHTComponents, SingleKadDHT } from '@libp2p/kad-dht'
import type { ServiceFactoryMap } from 'libp2p'
import type { ParseArgsConfig } from 'node:util'

/**
 * The DHT's protocol: our own, not IPFS's `/ipfs/kad/1.0.0`, so the relay's routing table holds the
 * peers of this network only (an IPFS node that reaches the relay neither joins nor floods it).
 */
export const DHT_PROTOCOL = '/libp2phttp/kad/1.0.0'

/** Where kad-dht keeps its records in the node's datastore (its `datastorePrefix`). */
export const DHT_DATASTORE_PREFIX = '/dht'

/** The DHT's stores that a lookup by peer id does not need: values and provider records. */
const REFUSED_PREFIXES = [`${DHT_DATASTORE_PREFIX}/record/`, `${DHT_DATASTORE_PREFIX}/provider/`]

/**
 * Why a {@link LookupOnlyDatastore} refused a write. kad-dht catches it in its handler and fails that
 * request; it reaches the sending peer as a failed RPC, never this node's user.
 */
export class RecordRefusedError extends Error {
  override name = 'RecordRefusedError'
  readonly code = 'ERR_DHT_RECORD_REFUSED'
}

/**
 * libp2p's in-memory datastore (the default a node gets) that refuses kad-dht's values and provider
 * records, whoever sends them: kad-dht's PUT_VALUE and ADD_PROVIDER handlers then fail, and nothing is
 * kept. The rest (the peer store) is written as usual. kad-dht has no option to turn those handlers off,
 * and its datastore is the one place all of their writes go through.
 */
export class LookupOnlyDatastore extends MemoryDatastore {
  /** How many writes were refused (for logs and tests). */
  refused = 0

  override put (...args: Parameters<MemoryDatastore['put']>): ReturnType<MemoryDatastore['put']> {
    const key = args[0].toString()
    if (REFUSED_PREFIXES.some(p => key.startsWith(p))) {
      this.refused++
      throw new RecordRefusedError('this node keeps no DHT values or provider records: it serves lookups by peer id only')
    }
    return super.put(...args)
  }
}

/** How long a first contact with a bootstrap peer may take at start-up. */
const BOOTSTRAP_TIMEOUT = 10_000

/** `--bootstrap`, repeatable. */
export const LOOKUP_OPTIONS = {
  bootstrap: { type: 'string', multiple: true }
} as const satisfies NonNullable<ParseArgsConfig['options']>

/** The usage line of {@link LOOKUP_OPTIONS}. */
export const LOOKUP_USAGE = `  --bootstrap MULTIADDR a libp2phttp relay whose DHT finds providers by peer id, repeatable: then a
                        bare /p2p/<peer id> is a target (the provider must serve --relay there)`

/**
 * The node's services for the DHT: `server` answers lookups and is listed in others' routing tables
 * (the relay; a provider, so that it can be found), `client` only asks. kad-dht needs ping (it checks a
 * new contact before adding it).
 */
export function lookupServices (mode: 'server' | 'client'): ServiceFactoryMap<Record<string, unknown>> {
  const dht = kadDHT({
    protocol: DHT_PROTOCOL,
    datastorePrefix: DHT_DATASTORE_PREFIX,
    clientMode: mode === 'client',
    // kad-dht holds every query until its first self-query has ended: a FIND_NODE for the node's own
    // id sent to the bootstrap peer, then to each peer it lists that is closer, bounded by 5 s only.
    // A listed peer this node cannot reach (a provider behind NAT, dialled at an address it cannot
    // use) held the lookup those 5 s, though the bootstrap's first answer already named the provider
    // (issue 16: a first request of 4.6 s). A consumer's lookup needs no self-query: it asks the
    // bootstrap peer, which joinLookup waits for, and returns at the first answer naming the peer.
    allowQueryWithZeroPeers: mode === 'client',
    // the default mapper drops private addresses, made for the public IPFS DHT; here the peers are
    // what the operator set up (a LAN, loopback), and a provider behind NAT is found at its relay's
    // address, whatever range that is in
    peerInfoMapper: passthroughMapper
  })
  return {
    // kad-dht wants the `ping` component, which libp2p makes from the `ping` service of the same map;
    // the map's type cannot say so
    dht: (components: Omit<KadDHTComponents, 'ping'>) => dht(components as KadDHTComponents),
    ping: ping()
  }
}

/** The `--bootstrap` addresses: each must name its peer. */
export function bootstrapAddrs (values: string[] | undefined): Multiaddr[] {
  return relaySpecs(values, '--bootstrap').map(r => r.addr)
}

/** Whether `addr` is a bare `/p2p/<peer id>`: a peer to look up, with no address. */
export function isBarePeer (addr: Multiaddr): boolean {
  const components = addr.getComponents()
  return components.length === 1 && components[0].name === 'p2p'
}

/** Refuse a bare `/p2p/<peer id>` given with `flag` when there is no DHT to look it up in. */
export function checkLookup (addr: Multiaddr, bootstrap: Multiaddr[], flag: string): void {
  if (isBarePeer(addr) && bootstrap.length === 0) {
    throw new UsageError(`${flag} ${addr.toString()}: a bare peer id is looked up through a relay's DHT: add --bootstrap <the relay's address> (libp2phttp relay prints it)`)
  }
}

/**
 * Dial the bootstrap peers, and wait until the DHT has one of them in its routing table (identify then
 * a DHT ping, after the dial): a lookup asks the peers there, and one made with none fails at once.
 * Bounded by BOOTSTRAP_TIMEOUT. Resolves with whether one answered and joined; `warn` is told of each
 * that did not.
 */
export async function joinLookup (node: Pick<Libp2p, 'dial' | 'services'>, bootstrap: Multiaddr[], warn: (message: string) => void): Promise<boolean> {
  const signal = AbortSignal.timeout(BOOTSTRAP_TIMEOUT)
  // listening before the dials, so that an addition made while they settle is seen
  const joined = routingTableFilled(node, signal)
  const reached = await Promise.all(bootstrap.map(async (addr) => {
    try {
      await node.dial(addr, { signal })
      return true
    } catch (err) {
      warn(`cannot reach the bootstrap peer ${addr.toString()}: ${describeFailure(err)}`)
      return false
    }
  }))
  if (!reached.includes(true)) {
    joined.catch(() => {})
    return false
  }
  try {
    await joined
    return true
  } catch {
    warn(`no bootstrap peer joined the lookup within ${BOOTSTRAP_TIMEOUT / 1000} s (does it run libp2phttp relay, which serves the DHT on ${DHT_PROTOCOL}?)`)
    return false
  }
}

/**
 * Resolves once the node's DHT has a peer in its routing table (at once if it has one, or has no
 * DHT); rejects when `signal` aborts. kad-dht types its routing table as `{ size }` only; it is an
 * EventTarget that dispatches `peer:add` (its documented `SingleKadDHT.routingTable`).
 */
async function routingTableFilled (node: Pick<Libp2p, 'services'>, signal: AbortSignal): Promise<void> {
  const table = (node.services as { dht?: SingleKadDHT }).dht?.routingTable as (SingleKadDHT['routingTable'] & EventTarget) | undefined
  if (table == null || table.size > 0) return
  await once(table, 'peer:add', { signal })
}
