/**
 * The cache of ProtocolDiscovery, with its narrow dependencies stubbed: a fetch that answers from a
 * table and counts, and a clock the test moves. The same behaviours over real nodes are in
 * test/e2e/discovery.test.ts.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { ProtocolDiscovery } from '../../src/protocols/discovery.js'
import { InvalidLimitError } from '../../src/errors.js'
import type { DiscoveryFetch, DiscoveryOptions } from '../../src/protocols/discovery.js'
import type { FetchTarget } from '../../src/index.js'

const PEERS = [
  '12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5',
  '12D3KooWRzCVDwHUkgdK7eRgnoXbjDAELhxPErjHzbRLguSV1aRt'
].map(id => peerIdFromString(id))

function setup (init: DiscoveryOptions = {}): { discovery: ProtocolDiscovery, asked: string[], clock: { now: number } } {
  const asked: string[] = []
  const clock = { now: 1000 }
  const fetch: DiscoveryFetch = async (target: FetchTarget) => {
    const url = String((target as { path: string }).path)
    asked.push(url)
    return new Response(JSON.stringify({ '/p': { path: `/v${asked.length}/` } }), { headers: { 'content-type': 'application/json' } })
  }
  return { discovery: new ProtocolDiscovery(fetch, init, () => clock.now), asked, clock }
}

describe('ProtocolDiscovery cache', () => {
  it('a map is used until its TTL has passed, to the millisecond', async () => {
    const { discovery, asked, clock } = setup({ cacheTTL: 100 })
    expect(await discovery.get(PEERS[0])).toEqual({ '/p': { path: '/v1/' } })
    clock.now += 99
    expect(await discovery.get(PEERS[0])).toEqual({ '/p': { path: '/v1/' } })
    clock.now += 1
    expect(await discovery.get(PEERS[0])).toEqual({ '/p': { path: '/v2/' } })
    expect(asked).toEqual(['/.well-known/libp2p/protocols', '/.well-known/libp2p/protocols'])
  })

  it('defaults to a 5 minute TTL', async () => {
    const { discovery, asked, clock } = setup()
    await discovery.get(PEERS[0])
    clock.now += 299_999
    await discovery.get(PEERS[0])
    expect(asked).toHaveLength(1)
    clock.now += 1
    await discovery.get(PEERS[0])
    expect(asked).toHaveLength(2)
  })

  it('keeps at most cacheSize peers, dropping the least recently used', async () => {
    const { discovery, asked } = setup({ cacheSize: 1 })
    await discovery.get(PEERS[0])
    await discovery.get(PEERS[1])
    await discovery.get(PEERS[1])
    expect(asked).toHaveLength(2)
    await discovery.get(PEERS[0])
    expect(asked).toHaveLength(3)
  })

  it('a map set by hand does not expire unless given a ttl', async () => {
    const { discovery, asked, clock } = setup({ cacheTTL: 10 })
    discovery.set(PEERS[0], { '/told': { path: '/t/' } })
    discovery.set(PEERS[1], { '/told': { path: '/t/' } }, { ttl: 10 })
    clock.now += 1_000_000
    expect(await discovery.get(PEERS[0])).toEqual({ '/told': { path: '/t/' } })
    expect(await discovery.get(PEERS[1])).toEqual({ '/p': { path: '/v1/' } })
    expect(asked).toHaveLength(1)
  })

  it('an answer arriving after forget() is returned but not cached', async () => {
    const { discovery, asked } = setup()
    const pending = discovery.get(PEERS[0])
    discovery.forget(PEERS[0])
    expect(await pending).toEqual({ '/p': { path: '/v1/' } })
    await discovery.get(PEERS[0])
    expect(asked).toHaveLength(2)
  })
})

describe('ProtocolDiscovery shared requests', () => {
  /** A fetch that answers after `ms`, or rejects soon after its signal fires. */
  function slow (ms: number): { fetch: DiscoveryFetch, calls: () => number } {
    let calls = 0
    const fetch: DiscoveryFetch = async (_target, init) => {
      calls++
      const signal = (init as { signal?: AbortSignal }).signal
      return await new Promise<Response>((resolve, reject) => {
        const timer = setTimeout(() => { resolve(new Response(JSON.stringify({ '/p': { path: `/v${calls}/` } }))) }, ms)
        signal?.addEventListener('abort', () => { clearTimeout(timer); setTimeout(() => { reject(signal.reason) }, 5) }, { once: true })
      })
    }
    return { fetch, calls: () => calls }
  }

  it('one caller giving up does not fail the others', async () => {
    const { fetch, calls } = slow(30)
    const discovery = new ProtocolDiscovery(fetch)
    const impatient = new AbortController()
    const a = discovery.get(PEERS[0], { signal: impatient.signal })
    const b = discovery.get(PEERS[0])
    impatient.abort(new Error('A gave up'))
    await expect(a).rejects.toThrow('A gave up')
    expect(await b).toEqual({ '/p': { path: '/v1/' } })
    expect(calls()).toBe(1)
  })

  it('a caller arriving just after the last one gave up starts afresh', async () => {
    const { fetch, calls } = slow(30)
    const discovery = new ProtocolDiscovery(fetch)
    const impatient = new AbortController()
    const a = discovery.get(PEERS[0], { signal: impatient.signal })
    impatient.abort(new Error('A gave up'))
    await expect(a).rejects.toThrow('A gave up')
    expect(await discovery.get(PEERS[0])).toEqual({ '/p': { path: '/v2/' } })
    expect(calls()).toBe(2)
  })

  it('refuses a negative or NaN timeout instead of waiting forever', async () => {
    const { fetch } = slow(30)
    const discovery = new ProtocolDiscovery(fetch)
    await expect(discovery.get(PEERS[0], { timeout: -1 })).rejects.toThrow(InvalidLimitError)
    await expect(discovery.get(PEERS[1], { timeout: Number.NaN })).rejects.toThrow(InvalidLimitError)
  })
})
