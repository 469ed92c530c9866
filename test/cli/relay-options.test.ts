import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { isRelayed } from '../../src/cli/relay-options.js'

const ID = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

describe('isRelayed', () => {
  it.each([
    [`/ip4/203.0.113.7/tcp/4001/p2p/${ID}/p2p-circuit/p2p/${ID}`, true],
    [`multiaddr:/ip4/203.0.113.7/tcp/4001/p2p/${ID}/p2p-circuit/p2p/${ID}`, true],
    [`/ip4/203.0.113.7/tcp/4001/p2p/${ID}`, false],
    // a host name that reads like the protocol is not a relay hop (a text match took it for one)
    [`/dns4/p2p-circuit.example.com/tcp/4001/p2p/${ID}`, false],
    ['https://example.com/p2p-circuit', false],
    ['not a multiaddr', false]
  ])('%s: %s', (addr, relayed) => {
    expect(isRelayed(addr)).toBe(relayed)
    if (addr.startsWith('/')) expect(isRelayed(multiaddr(addr))).toBe(relayed)
  })
})
