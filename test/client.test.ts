import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { resolveTarget } from '../src/client.js'
import { InvalidTargetError, peerHostname } from '../src/index.js'

const PEER = peerIdFromString('12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5')
const OTHER = peerIdFromString('12D3KooWRzCVDwHUkgdK7eRgnoXbjDAELhxPErjHzbRLguSV1aRt')
const HOST = peerHostname(PEER)
const noIdentify = async (): Promise<never> => { throw new Error('should not dial') }

describe('resolveTarget', () => {
  it('multiaddr: URI with /p2p and /http-path', async () => {
    const r = await resolveTarget(`multiaddr:/ip4/127.0.0.1/tcp/4001/p2p/${PEER.toString()}/http-path/a%2Fb%3Fc%3Dd`, noIdentify)
    expect(r.url).toBe(`http://${HOST}/a/b?c=d`)
    expect(r.peer?.equals(PEER)).toBe(true)
    expect(r.addrs.map(String)).toEqual([`/ip4/127.0.0.1/tcp/4001/p2p/${PEER.toString()}`])
  })

  it('a bare /p2p/<id> gives no addresses (the peer store is used)', async () => {
    const r = await resolveTarget(multiaddr(`/p2p/${PEER.toString()}`), noIdentify)
    expect(r.addrs).toEqual([])
    expect(r.url).toBe(`http://${HOST}/`)
  })

  it('a list of multiaddrs: /p2p added where missing, path from the first', async () => {
    const r = await resolveTarget([multiaddr(`/ip4/10.0.0.1/tcp/1/p2p/${PEER.toString()}`), multiaddr('/ip4/10.0.0.2/tcp/2')], noIdentify)
    expect(r.addrs.map(String)).toEqual([`/ip4/10.0.0.1/tcp/1/p2p/${PEER.toString()}`, `/ip4/10.0.0.2/tcp/2/p2p/${PEER.toString()}`])
  })

  it('rejects multiaddrs naming different peers', async () => {
    await expect(resolveTarget([multiaddr(`/p2p/${PEER.toString()}`), multiaddr(`/p2p/${OTHER.toString()}`)], noIdentify)).rejects.toThrow(InvalidTargetError)
  })

  it('a multiaddr without /p2p is dialled to learn the peer', async () => {
    const r = await resolveTarget('multiaddr:/ip4/127.0.0.1/tcp/9/http-path/x', async (addr) => {
      expect(addr.toString()).toBe('/ip4/127.0.0.1/tcp/9')
      return PEER
    })
    expect(r.url).toBe(`http://${HOST}/x`)
  })

  it('PeerId, and { peer, path } with a query', async () => {
    expect((await resolveTarget(PEER, noIdentify)).url).toBe(`http://${HOST}/`)
    expect((await resolveTarget({ peer: PEER, path: '/items?x=1' }, noIdentify)).url).toBe(`http://${HOST}/items?x=1`)
    expect((await resolveTarget({ peer: PEER.toString(), path: 'rel' }, noIdentify)).url).toBe(`http://${HOST}/rel`)
    expect((await resolveTarget({ peer: `/p2p/${PEER.toString()}` }, noIdentify)).url).toBe(`http://${HOST}/`)
    await expect(resolveTarget({ peer: 'https://example.com' }, noIdentify)).rejects.toThrow(InvalidTargetError)
    await expect(resolveTarget({ peer: '/ip4/not-an-ip/tcp/1' }, noIdentify)).rejects.toThrow(InvalidTargetError)
  })

  it('http(s) URLs pass through', async () => {
    const r = await resolveTarget('https://example.com/a?b', noIdentify)
    expect(r.url).toBe('https://example.com/a?b')
    expect(r.peer).toBeUndefined()
  })

  it('rejects other schemes and shapes', async () => {
    await expect(resolveTarget('ftp://example.com', noIdentify)).rejects.toThrow(InvalidTargetError)
    await expect(resolveTarget('not a url', noIdentify)).rejects.toThrow(InvalidTargetError)
    await expect(resolveTarget([], noIdentify)).rejects.toThrow(InvalidTargetError)
    await expect(resolveTarget(42 as never, noIdentify)).rejects.toThrow(InvalidTargetError)
  })
})
