/**
 * A logging relay (`bench/latency-relay.ts`, no delay) in front of a test server node, to count the
 * flights a client sends (`test/stream/round-trips.test.ts`, `test/web/round-trips.test.ts`).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'vitest'
import { startLatencyRelay } from '../../bench/latency-relay.js'
import type { LatencyRelay, RelayedConnection } from '../../bench/latency-relay.js'
import type { Libp2p } from '@libp2p/interface'

export interface CountingRelay {
  relay: LatencyRelay
  /** A `multiaddr:` URI of the server through the relay. */
  uri: string
  /** The one connection through the relay (the test fails if there is not exactly one). */
  connection: () => RelayedConnection
  /** How many flights the client has sent so far. */
  upFlights: () => number
}

/** Put a relay in front of `server`'s TCP address. */
export async function countingRelay (server: Libp2p): Promise<CountingRelay> {
  const port = Number(server.getMultiaddrs()[0].getComponents().find(c => c.name === 'tcp')?.value)
  const relay = await startLatencyRelay({ target: port, rttMs: 0, delayHandshake: false })
  const connection = (): RelayedConnection => {
    expect(relay.connections).toHaveLength(1)
    return relay.connections[0]
  }
  return {
    relay,
    uri: `multiaddr:${multiaddr(`/ip4/127.0.0.1/tcp/${relay.port}/p2p/${server.peerId.toString()}`).toString()}`,
    connection,
    upFlights: () => connection().flights().filter(f => f.dir === 'up').length
  }
}
