/**
 * The client's bearer tokens: per (hostname, server peer), bounded, expired ones dropped.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { TokenCache } from '../../src/auth/token-cache.js'

const peer = async (): Promise<ReturnType<typeof peerIdFromPrivateKey>> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

describe('TokenCache', () => {
  it('finds a token by hostname and peer, or by hostname alone (the most recently used)', async () => {
    const [a, b] = [await peer(), await peer()]
    const cache = new TokenCache(10)
    cache.set('h', { bearer: 'A', serverPeer: a })
    cache.set('h', { bearer: 'B', serverPeer: b })
    expect(cache.get('h')?.bearer).toBe('B') // the most recently used
    expect(cache.get('h', a)?.bearer).toBe('A')
    expect(cache.get('other')).toBeUndefined()
    cache.delete('h', b)
    expect(cache.get('h')?.bearer).toBe('A')
  })

  it('drops a token past its expiry, and the least recently used past its size', async () => {
    let now = 1000
    const p = await peer()
    const cache = new TokenCache(2, () => now)
    cache.set('h', { bearer: 'x', serverPeer: p, expires: 2000 })
    expect(cache.get('h', p)?.bearer).toBe('x')
    now = 2000
    expect(cache.get('h', p)).toBeUndefined()
    cache.set('a', { bearer: '1', serverPeer: p })
    cache.set('b', { bearer: '2', serverPeer: p })
    cache.set('c', { bearer: '3', serverPeer: p })
    expect([cache.size, cache.get('a', p), cache.get('c', p)?.bearer]).toEqual([2, undefined, '3'])
  })
})
