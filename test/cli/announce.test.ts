/** `--announce` (src/cli/announce.ts): what is accepted, and the usage errors naming the flag. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { announceAddrs } from '../../src/cli/announce.js'
import { UsageError } from '../../src/errors.js'
import { runCLI } from '../helpers/cli.js'

const self = '12D3KooWDNzXxsjMyR9NMyvb4wMjwC1KWnsEmoDD7RNfMEKZgWg4'
const other = '12D3KooWDpFTzApcG7HDYRzTgYNwQ3bhwPxfQRXnGcNx9FWroCR6'

describe('announceAddrs', () => {
  it.each([
    ['/ip4/203.0.113.7/tcp/4002', '/ip4/203.0.113.7/tcp/4002'],
    ['/ip6/2001:db8::1/tcp/4002', '/ip6/2001:db8::1/tcp/4002'],
    ['/dns4/home.example.org/tcp/4002', '/dns4/home.example.org/tcp/4002'],
    [`multiaddr:/ip4/203.0.113.7/tcp/4002/p2p/${self}`, '/ip4/203.0.113.7/tcp/4002']
  ])('accepts %s', (value, expected) => {
    expect(announceAddrs([value], self).map(String)).toEqual([expected])
  })

  it.each([
    ['not-an-addr', /--announce: not a multiaddr/],
    ['/ip4/203.0.113.7/udp/4002', /--announce \/ip4\/203\.0\.113\.7\/udp\/4002: not an address this node can be dialled on/],
    ['/ip4/203.0.113.7/tcp/4002/tls/http', /not an address this node can be dialled on/],
    [`/ip4/203.0.113.7/tcp/4001/p2p/${other}/p2p-circuit`, /not an address this node can be dialled on/],
    [`/ip4/203.0.113.7/tcp/4002/p2p/${other}`, /names another peer/]
  ])('refuses %s with a usage error naming the flag', (value, message) => {
    expect(() => announceAddrs([value], self)).toThrow(UsageError)
    expect(() => announceAddrs([value], self)).toThrow(message)
  })

  it('serve and relay exit 2 naming --announce', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'libp2phttp-announce-'))
    try {
      for (const args of [['serve', '--upstream', 'http://127.0.0.1:9', '--allow-any'], ['relay', '--allow-any']]) {
        const r = await runCLI([...args, '--key', join(dir, 'key'), '--listen', '/ip4/127.0.0.1/tcp/0', '--announce', '/ip4/203.0.113.7/udp/4002'])
        expect(r.code).toBe(2)
        expect(r.err.join('\n')).toMatch(/--announce \/ip4\/203\.0\.113\.7\/udp\/4002: not an address this node can be dialled on/)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
