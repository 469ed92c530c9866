import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { keepConnected } from '../../src/proxy/redial.js'
import { until } from '../helpers/nodes.js'
import type { RedialNode } from '../../src/proxy/redial.js'
import type { Connection, PeerId } from '@libp2p/interface'

const peer = peerIdFromString('12D3KooWE3bfpUxxV7vusvSvg3W8RpJgcZLiqfaXRr4dq1BYLMzd')
const other = peerIdFromString('12D3KooW9wDkKMKJXzmRjz1Jp22Y12qHqpNNdzAiuLWnGvRnw6U7')

/** A node stub: dials fail `failures` times, then succeed. */
function stubNode (failures: number): RedialNode & { dials: number, drop: (p: PeerId) => void } {
  const target = new EventTarget()
  const node = {
    dials: 0,
    dial: async () => {
      node.dials++
      if (node.dials <= failures) throw new Error(`refused ${node.dials}`)
      return {} as unknown as Connection
    },
    addEventListener: (type: string, l: (e: CustomEvent<PeerId>) => void) => { target.addEventListener(type, l as EventListener) },
    removeEventListener: (type: string, l: (e: CustomEvent<PeerId>) => void) => { target.removeEventListener(type, l as EventListener) },
    drop: (p: PeerId) => { target.dispatchEvent(new CustomEvent('peer:disconnect', { detail: p })) }
  }
  return node
}

describe('keepConnected', () => {
  it('redials with growing delays after the peer drops, and reports each step', async () => {
    const node = stubNode(2)
    const events: string[] = []
    const stop = keepConnected(node, peer, [multiaddr('/ip4/127.0.0.1/tcp/1')], { minDelay: 1, random: () => 0, report: (e) => events.push(`${e.type} ${e.attempt} ${e.delay ?? ''}`) })
    node.drop(other)
    expect(events).toEqual([])
    node.drop(peer)
    node.drop(peer) // a second drop while redialling does not start another loop
    await until(() => events.includes('reconnected 3 '), 2000, 'the reconnection')
    expect(events).toEqual(['disconnected 0 ', 'retry 1 2', 'retry 2 4', 'reconnected 3 '])
    expect(node.dials).toBe(3)
    stop()
  })

  it('stop() ends a redial in progress and ignores later drops', async () => {
    const node = stubNode(Infinity)
    const stop = keepConnected(node, peer, [], { minDelay: 1, maxDelay: 2 })
    node.drop(peer)
    await until(() => node.dials >= 2, 2000, 'redials')
    stop()
    const dials = node.dials
    node.drop(peer)
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(node.dials).toBeLessThanOrEqual(dials + 1)
  })
})
