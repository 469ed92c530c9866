/**
 * Reaching a provider that cannot be dialled (behind a NAT) through a circuit relay v2, with
 * libp2phttp: three js-libp2p nodes on 127.0.0.1.
 *
 * - the relay: `circuitRelayServer()` (the hop protocol) and `identify()`, on a TCP address both sides
 *   can reach (in real life a small public machine; `libp2phttp relay` is this node as a command);
 * - the provider: no TCP listener of its own; it listens on `<relay>/p2p-circuit`, which makes
 *   `circuitRelayTransport()` reserve a slot on the relay (and renew it), and serves a handler;
 * - the consumer: dials the provider's `/p2p-circuit` address and fetches over `/http/1.1`.
 *
 * Both ends also run `dcutr()` (hole punching): when the two learn each other's public addresses
 * through identify, the relayed connection is upgraded to a direct one and later requests use it. On
 * loopback there is nothing public to punch to, so here the connection stays relayed.
 * `createHTTPHost` serves and fetches over relayed ("limited") connections by default
 * (`runOnLimitedConnection`); a relay's data or time limit cutting an exchange short fails it with
 * `RelayLimitError`.
 *
 * Run: npm run example:relay
 */
import '../polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { createHTTPHost, remotePeer, serverPeer } from '../../src/index.js'
import type { Libp2p } from '@libp2p/interface'

/** The relay: reachable by both sides; limits every relayed connection (here 4 MiB, 2 minutes). */
async function relayNode (): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      relay: circuitRelayServer({
        // js-libp2p's relay reads defaultDurationLimit in milliseconds (docs/decisions.md, issue 16)
        reservations: { applyDefaultLimit: true, defaultDataLimit: 4n * 1024n * 1024n, defaultDurationLimit: 120_000 }
      })
    }
  })
}

/** A peer behind a NAT: relayed addresses to dial and listen on, identify and DCUtR; `listen` its only addresses. */
async function natPeer (listen: string[]): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), dcutr: dcutr() }
  })
}

/** The node's `/p2p-circuit` addresses, once the relay has given it a slot. */
async function circuitAddrs (node: Libp2p): Promise<string[]> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const addrs = node.getMultiaddrs().map(String).filter(a => a.includes('/p2p-circuit'))
    if (addrs.length > 0) return addrs
    if (Date.now() > deadline) throw new Error('the relay gave no slot within 10 s')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

export async function main (log: (line: string) => void = console.log): Promise<void> {
  const relay = await relayNode()
  const relayAddr = relay.getMultiaddrs()[0].toString()
  log(`relay ${relayAddr}`)
  // Listening on `<relay>/p2p-circuit` is what reserves the slot.
  const providerNode = await natPeer([`${relayAddr}/p2p-circuit`])
  const consumerNode = await natPeer([])
  const provider = await createHTTPHost({ libp2p: providerNode })
  const consumer = await createHTTPHost({ libp2p: consumerNode })
  try {
    provider.serve((req, res) => {
      const via = (req.socket.remoteAddress ?? '').includes('/p2p-circuit') ? 'relayed' : 'direct'
      res.end(`hello ${remotePeer(req)?.toString() ?? 'stranger'}, ${via}`)
    })
    const [circuit] = await circuitAddrs(providerNode)
    log(`provider reserved ${circuit}`)

    const uri = `multiaddr:${circuit}/http-path/hello`
    log(`GET ${uri}`)
    const res = await consumer.fetch(uri)
    const body = await res.text()
    const relayed = consumerNode.getConnections(providerNode.peerId).every(c => c.limits != null)
    log(`  ${res.status} from ${serverPeer(res)?.toString()}: ${body}`)
    log(`  the consumer's connection is ${relayed ? 'relayed (limited)' : 'direct'}`)
  } finally {
    await consumer.close()
    await provider.close()
    await consumerNode.stop()
    await providerNode.stop()
    await relay.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
