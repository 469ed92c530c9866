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
import { UsageError } from '../errors.js'
import { describeFailure } from './client-options.js'
import { relaySpecs } from './relay-options.js'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { KadDHTComponents } from '@libp2p/kad-dht'
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
 * Dial the bootstrap peers, so that the DHT has them in its routing table before the first lookup (a
 * lookup made earlier waits for them). Resolves with whether one answered; `warn` is told of each that
 * did not.
 */
export async function joinLookup (node: Pick<Libp2p, 'dial'>, bootstrap: Multiaddr[], warn: (message: string) => void): Promise<boolean> {
  const reached = await Promise.all(bootstrap.map(async (addr) => {
    try {
      await node.dial(addr, { signal: AbortSignal.timeout(BOOTSTRAP_TIMEOUT) })
      return true
    } catch (err) {
      warn(`cannot reach the bootstrap peer ${addr.toString()}: ${describeFailure(err)}`)
      return false
    }
  }))
  return reached.includes(true)
}
