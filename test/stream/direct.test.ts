/**
 * DirectUpgrade (src/stream/direct.ts) against a stub of the node's narrow interface: which addresses
 * it dials, once per relayed connection, one attempt in flight per peer, the wait for identify, and
 * every wait bounded. The real thing across NATs: test/e2e/nat.test.ts "6a".
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { DirectUpgrade } from '../../src/stream/direct.js'
import type { DirectDialer } from '../../src/stream/direct.js'
import type { AbortOptions, Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const relayed = (): Connection => ({ limits: { bytes: 1n } }) as unknown as Connection
const directConnection = { remoteAddr: multiaddr('/ip4/11.0.1.2/tcp/4003') } as unknown as Connection

/** A stub node: the peer store holds `addresses`; `dial` records its calls and answers with `answer`. */
function stub (addresses: string[], answer: (addrs: Multiaddr[], options?: AbortOptions) => Promise<Connection> = async () => directConnection): DirectDialer & { dials: Array<{ addrs: string[], signal?: AbortSignal }>, known: string[], events: EventTarget } {
  const known = [...addresses]
  const dials: Array<{ addrs: string[], signal?: AbortSignal }> = []
  return {
    known,
    dials,
    dial: async (addrs: Multiaddr[], options?: AbortOptions) => { dials.push({ addrs: addrs.map(String), signal: options?.signal }); return await answer(addrs, options) },
    peerStore: { get: async () => ({ addresses: known.map(a => ({ multiaddr: multiaddr(a) })) }) },
    events: new EventTarget()
  } as never
}

describe('DirectUpgrade', () => {
  it('dials the peer\'s addresses that are not relayed, each with its peer id, and resolves with the direct connection', async () => {
    const node = stub(['/ip4/11.0.1.2/tcp/4003', '/ip4/11.0.1.1/tcp/4001/p2p/12D3KooWDpFTzApcG7HDYRzTgYNwQ3bhwPxfQRXnGcNx9FWroCR6/p2p-circuit', `/ip4/10.1.0.2/tcp/4003/p2p/${peer.toString()}`])
    const direct = await new DirectUpgrade(node).offer(peer, relayed(), 5000)
    expect(direct).toBe(directConnection)
    expect(node.dials.map(d => d.addrs)).toEqual([[`/ip4/11.0.1.2/tcp/4003/p2p/${peer.toString()}`, `/ip4/10.1.0.2/tcp/4003/p2p/${peer.toString()}`]])
  })

  it('once per relayed connection, failed or not, and one attempt in flight per peer', async () => {
    const node = stub(['/ip4/11.0.1.2/tcp/4003'], async () => { throw new Error('ECONNREFUSED') })
    const upgrade = new DirectUpgrade(node)
    const limited = relayed()
    // two requests at once: one dial
    expect(await Promise.all([upgrade.offer(peer, limited, 5000), upgrade.offer(peer, limited, 5000)])).toEqual([undefined, undefined])
    // again on the same relayed connection: no retry
    await upgrade.offer(peer, limited, 5000)
    expect(node.dials).toHaveLength(1)
    // a new relayed connection (the old one dropped and was redialled): one more try
    await upgrade.offer(peer, relayed(), 5000)
    expect(node.dials).toHaveLength(2)
  })

  it('with no direct address known yet, waits for the peer\'s identify (within the bound), then dials', async () => {
    const node = stub([])
    const upgrade = new DirectUpgrade(node)
    const attempt = upgrade.offer(peer, relayed(), 5000)
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(node.dials).toHaveLength(0)
    node.known.push('/ip4/11.0.1.2/tcp/4003')
    node.events.dispatchEvent(new CustomEvent('peer:identify', { detail: { peerId: peer } }))
    expect(await attempt).toBe(directConnection)
    expect(node.dials).toHaveLength(1)
  })

  it('nothing to dial and no identify: gives up at the bound, without counting the connection as tried', async () => {
    const node = stub([])
    const upgrade = new DirectUpgrade(node)
    const limited = relayed()
    expect(await upgrade.offer(peer, limited, 50)).toBeUndefined()
    node.known.push('/ip4/11.0.1.2/tcp/4003')
    expect(await upgrade.offer(peer, limited, 50)).toBe(directConnection)
  })

  it('the dial is bounded, and close() aborts an attempt under way', async () => {
    const hanging = async (_: Multiaddr[], options?: AbortOptions): Promise<Connection> => await new Promise((_resolve, reject) => {
      options?.signal?.addEventListener('abort', () => { reject(options.signal?.reason) })
    })
    const bounded = stub(['/ip4/11.0.1.2/tcp/4003'], hanging)
    expect(await new DirectUpgrade(bounded).offer(peer, relayed(), 50)).toBeUndefined()

    const node = stub(['/ip4/11.0.1.2/tcp/4003'], hanging)
    const upgrade = new DirectUpgrade(node)
    const attempt = upgrade.offer(peer, relayed(), 60_000)
    await new Promise(resolve => setTimeout(resolve, 20))
    upgrade.close()
    expect(await attempt).toBeUndefined()
    expect(node.dials[0].signal?.aborted).toBe(true)
    // closed: nothing new starts
    await upgrade.offer(peer, relayed(), 5000)
    expect(node.dials).toHaveLength(1)
  })
})
