import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { TokenCache, deferredBody, replayableBody } from '../../src/auth/client.js'
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

describe('deferredBody', () => {
  function source (): { stream: ReadableStream<Uint8Array>, reads: () => number } {
    let reads = 0
    const chunks = [new Uint8Array([1]), new Uint8Array([2, 3])]
    const stream = new ReadableStream<Uint8Array>({
      pull (c) {
        reads++
        const next = chunks.shift()
        if (next == null) c.close()
        else c.enqueue(next)
      }
    }, { highWaterMark: 0 })
    return { stream, reads: () => reads }
  }

  it('reads nothing of its source before the body is sent, even when teed (fetch tees a request body)', async () => {
    const { stream, reads } = source()
    let sent!: () => void
    const body = deferredBody(stream, new Promise(resolve => { sent = resolve }))
    const [a, b] = body.tee()
    const pending = a.getReader().read()
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(reads()).toBe(0)
    expect(stream.locked).toBe(false)
    sent()
    expect((await pending).value).toEqual(new Uint8Array([1]))
    const rest: number[] = []
    for await (const chunk of b) rest.push(...chunk)
    expect(rest).toEqual([1, 2, 3])
  })

  it('cancelled before it is sent: the source is left unread and unlocked, for another attempt', async () => {
    const { stream, reads } = source()
    const body = deferredBody(stream, new Promise(() => {}))
    const reader = body.getReader()
    const pending = reader.read()
    await reader.cancel(new Error('the handshake failed'))
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(reads()).toBe(0)
    expect(stream.locked).toBe(false)
    const again: number[] = []
    for await (const chunk of stream) again.push(...chunk)
    expect(again).toEqual([1, 2, 3])
  })

  it('chunks as fetch takes them from an async iterable: bytes, and strings as UTF-8', async () => {
    async function * parts (): AsyncGenerator<unknown> { yield 'é'; yield Buffer.from('ab'); yield new Uint16Array([0x6363]) }
    const out: number[] = []
    for await (const chunk of deferredBody(parts(), Promise.resolve())) out.push(...chunk)
    expect(out).toEqual([0xc3, 0xa9, 0x61, 0x62, 0x63, 0x63])
  })
})
