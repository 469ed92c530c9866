/**
 * A circuit relay v2 on 127.0.0.1, and peers that reach each other only through it: the provider
 * listens on `<relay>/p2p-circuit`, the consumer dials that address. Real js-libp2p nodes throughout.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { createHTTPHost } from '../../src/index.js'
import { until } from './nodes.js'
import type { Peer } from './nodes.js'
import type { HTTPHostOptions } from '../../src/index.js'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface RelayLimits {
  /** Bytes per relayed connection, both directions together. */
  data?: bigint
  /** Milliseconds per relayed connection (what js-libp2p's relay enforces, see docs/decisions.md). */
  duration?: number
}

/** A relay serving circuit v2 hop with `limits` to anyone. */
export async function createRelay (limits: RelayLimits = {}): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      relay: circuitRelayServer({
        reservations: { defaultDataLimit: limits.data, defaultDurationLimit: limits.duration, applyDefaultLimit: true }
      })
    }
  })
}

/** A node that can dial and listen on relayed addresses, and no TCP listener of its own. */
export async function createRelayClient (listen: string[] = []): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
}

/** A host whose node listens on `relay`'s circuit address: its only address. */
export async function createRelayedPeer (relay: Libp2p, init: Omit<HTTPHostOptions, 'libp2p'> = {}): Promise<Peer> {
  const node = await createRelayClient([`${relay.getMultiaddrs()[0].toString()}/p2p-circuit`])
  await until(() => circuitAddrs(node).length > 0, 10_000, 'a relay reservation')
  const host = await createHTTPHost({ ...init, libp2p: node })
  return { node, host }
}

/** A peer that reaches others through relays (no listener). */
export async function createRelayConsumer (init: Omit<HTTPHostOptions, 'libp2p'> = {}): Promise<Peer> {
  const node = await createRelayClient()
  const host = await createHTTPHost({ ...init, libp2p: node })
  return { node, host }
}

/** The node's `/p2p-circuit` addresses. */
export function circuitAddrs (node: Libp2p): Multiaddr[] {
  return node.getMultiaddrs().filter(a => a.toString().includes('/p2p-circuit'))
}
