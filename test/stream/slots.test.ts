import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { StreamSlots, addressKey } from '../../src/stream/slots.js'
import type { Slot } from '../../src/stream/slots.js'

/** Acquire `n` slots for `peer` from `address`; returns those granted. */
function take (slots: StreamSlots, peer: string, address: string, n: number): Slot[] {
  const granted: Slot[] = []
  for (let i = 0; i < n; i++) {
    const slot = slots.acquire(peer, address)
    if (slot != null) granted.push(slot)
  }
  return granted
}

describe('StreamSlots', () => {
  it('rule 1: a peer gets at most maxPerPeer', () => {
    const slots = new StreamSlots(4, 100)
    expect(take(slots, 'a', 'ip4/1.1.1.1', 10)).toHaveLength(4)
    expect(take(slots, 'b', 'ip4/1.1.1.1', 1)).toHaveLength(1)
  })

  it('rule 2 and 3: past total − ⌊total/8⌋, only peers holding fewer than 4 streams get one, never past the total', () => {
    const slots = new StreamSlots(100, 64)
    // the shared pool is 56: two greedy peers fill it
    expect(take(slots, 'a', 'ip4/1.1.1.1', 100)).toHaveLength(56)
    expect(slots.acquire('a', 'ip4/1.1.1.1')).toBeUndefined()
    // a fresh peer still gets up to 4 from the reserve of 8, from any address, until half of it per address
    expect(take(slots, 'b', 'ip4/2.2.2.2', 10)).toHaveLength(4)
    expect(take(slots, 'c', 'ip4/2.2.2.2', 10)).toHaveLength(0)
    expect(take(slots, 'd', 'ip4/3.3.3.3', 10)).toHaveLength(4)
    expect(slots.open).toBe(64)
    expect(slots.acquire('e', 'ip4/4.4.4.4')).toBeUndefined()
  })

  it('the 17 × 256 attack at the default limits leaves room for a fresh peer', () => {
    const slots = new StreamSlots(256, 4096)
    for (let p = 0; p < 17; p++) take(slots, `attacker${p}`, 'ip4/127.0.0.1', 256)
    expect(slots.acquire('innocent', 'ip4/127.0.0.1')).toBeDefined()
  })

  it('released slots are given back, the reserve ones to their address', () => {
    const slots = new StreamSlots(100, 16)
    const pool = take(slots, 'a', 'ip4/1.1.1.1', 14)
    expect(pool).toHaveLength(14)
    const reserve = take(slots, 'b', 'ip4/2.2.2.2', 2)
    expect(reserve).toHaveLength(1)
    for (const slot of [...pool, ...reserve]) slots.release(slot)
    expect(slots.open).toBe(0)
    expect(take(slots, 'a', 'ip4/1.1.1.1', 100)).toHaveLength(14)
    expect(take(slots, 'b', 'ip4/2.2.2.2', 2)).toHaveLength(1)
  })
})

describe('addressKey', () => {
  it('IPv4 by address, IPv6 by /64 (an IPv4-mapped one by its IPv4), others by the first component', () => {
    expect(addressKey(multiaddr('/ip4/1.2.3.4/tcp/1'))).toBe('ip4/1.2.3.4')
    expect(addressKey(multiaddr('/ip6/2001:db8:1:2:3:4:5:6/tcp/1'))).toBe(addressKey(multiaddr('/ip6/2001:db8:1:2::9/tcp/2')))
    expect(addressKey(multiaddr('/ip6/2001:db8:1:2::9/tcp/1'))).not.toBe(addressKey(multiaddr('/ip6/2001:db8:1:3::9/tcp/1')))
    // one host reaching a dual-stack listener both ways holds one share of the reserve, not two
    expect(addressKey(multiaddr('/ip6/::ffff:1.2.3.4/tcp/1'))).toBe('ip4/1.2.3.4')
    expect(addressKey(multiaddr('/dns4/example.com/tcp/1'))).toBe('dns4/example.com')
  })
})
