import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { bootstrapAddrs, checkLookup, isBarePeer } from '../../src/cli/lookup.js'

const ID = '12D3KooWGkbC1JHn7sT27sxky7yNe2vKxDt7sU2nEE2JmHg8LdGQ'
const RELAY = `/ip4/192.0.2.7/tcp/4001/p2p/${ID}`

describe('lookup options', () => {
  it.each([
    [`/p2p/${ID}`, true],
    [RELAY, false],
    [`${RELAY}/p2p-circuit/p2p/${ID}`, false]
  ])('%s is a bare peer id: %s', (addr, bare) => {
    expect(isBarePeer(multiaddr(addr))).toBe(bare)
  })

  it('a bare peer id needs --bootstrap, named in the error; an address does not', () => {
    expect(() => { checkLookup(multiaddr(`/p2p/${ID}`), [], '--to') }).toThrow(UsageError)
    expect(() => { checkLookup(multiaddr(`/p2p/${ID}`), [], '--to') }).toThrow(/--to \/p2p\/12D3\w+: .*add --bootstrap/)
    expect(() => { checkLookup(multiaddr(`/p2p/${ID}`), [multiaddr(RELAY)], '--to') }).not.toThrow()
    expect(() => { checkLookup(multiaddr(RELAY), [], '--to') }).not.toThrow()
  })

  it('--bootstrap must name the peer, and its errors name --bootstrap', () => {
    expect(bootstrapAddrs([RELAY]).map(String)).toEqual([RELAY])
    expect(bootstrapAddrs(undefined)).toEqual([])
    expect(() => bootstrapAddrs(['/ip4/192.0.2.7/tcp/4001'])).toThrow(/^--bootstrap must be a relay's address ending in \/p2p\/<peer id>/)
    expect(() => bootstrapAddrs(['not a multiaddr'])).toThrow(/^--bootstrap: not a multiaddr/)
  })
})
