import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { TokenCache, replayableBody } from '../../src/auth/client.js'
import type { PeerId } from '@libp2p/interface'

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

describe('TokenCache', () => {
  it('one token per (hostname, server peer); without a peer, the latest for the hostname', async () => {
    const [a, b] = [await peer(), await peer()]
    const cache = new TokenCache(8, () => 0)
    cache.set('h:1', { bearer: 'A', serverPeer: a })
    cache.set('h:1', { bearer: 'B', serverPeer: b })
    expect(cache.get('h:1', a)?.bearer).toBe('A')
    expect(cache.get('h:1', b)?.bearer).toBe('B')
    expect(cache.get('h:2', a)).toBeUndefined()
    expect(cache.get('h')).toBeUndefined()
    cache.get('h:1', a)
    expect(cache.get('h:1')?.bearer).toBe('A')
    cache.delete('h:1', a)
    expect(cache.get('h:1')?.bearer).toBe('B')
  })

  it('bounded, and a token past its advisory expires is dropped', async () => {
    let now = 0
    const cache = new TokenCache(2, () => now)
    const p = await peer()
    for (const h of ['a', 'b', 'c']) cache.set(h, { bearer: h, serverPeer: p, expires: 10 })
    expect(cache.size).toBe(2)
    expect(cache.get('a', p)).toBeUndefined()
    now = 10
    expect(cache.get('b', p)).toBeUndefined()
  })
})

describe('replayableBody', () => {
  it('strings, bytes, URLSearchParams and Blobs can be sent again; streams cannot', async () => {
    expect(await replayableBody('x')).toBe('x')
    expect(await replayableBody(new URLSearchParams({ a: '1' }))).toBe('a=1')
    expect([...(await replayableBody(new Uint8Array([1, 2, 3]).subarray(1)) as Uint8Array)]).toEqual([2, 3])
    expect([...(await replayableBody(new Uint8Array([4]).buffer) as Uint8Array)]).toEqual([4])
    expect([...(await replayableBody(new Blob(['hi'])) as Uint8Array)]).toEqual([104, 105])
    expect(await replayableBody(new ReadableStream())).toBeUndefined()
    expect(await replayableBody(new FormData())).toBeUndefined()
  })
})
