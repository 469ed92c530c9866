import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { resolveTarget } from '../src/client.js'
import { InvalidTargetError, peerHostname } from '../src/index.js'
import { protocolPath, targetKey, withPath } from '../src/target-path.js'
import type { FetchTarget } from '../src/index.js'

const PEER = peerIdFromString('12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5')
const ID = PEER.toString()
const noIdentify = async (): Promise<never> => { throw new Error('should not dial') }

/** The URL the client would request for a target: what the re-pointing must get right. */
async function urlOf (target: FetchTarget): Promise<string> {
  return (await resolveTarget(target, noIdentify)).url
}

describe('protocolPath', () => {
  it('joins like go\'s namespacedRoundTripper: prefix minus its trailing slash, then the path', () => {
    expect(protocolPath('/kv/1.0.0/', '/keys/a?x=1')).toBe('/kv/1.0.0/keys/a?x=1')
    expect(protocolPath('/kv/1.0.0/', '/')).toBe('/kv/1.0.0/')
    expect(protocolPath('/kv/1.0.0/', 'keys')).toBe('/kv/1.0.0/keys')
    expect(protocolPath('/', '/x?y')).toBe('/x?y')
    expect(protocolPath('/echo', '/x')).toBe('/echo/x')
  })

  it('without a path, the protocol\'s path as listed (with or without trailing slash)', () => {
    expect(protocolPath('/kv/1.0.0/', undefined)).toBe('/kv/1.0.0/')
    expect(protocolPath('/echo', undefined)).toBe('/echo')
  })

  it('a path cannot climb out of the prefix', () => {
    expect(protocolPath('/kv/', '/../admin')).toBe('/kv/admin')
    expect(protocolPath('/kv/', '/%2e%2e/admin')).toBe('/kv/admin')
    expect(protocolPath('/kv/', '//other/x')).toBe('/kv//other/x')
  })
})

describe('withPath keeps the kind of target and replaces its path', () => {
  it('PeerId and { peer, path } become { peer, path }', async () => {
    expect(withPath(PEER, '/a?b')).toEqual({ peer: PEER, path: '/a?b' })
    expect(withPath({ peer: ID, path: '/old' }, '/new')).toEqual({ peer: ID, path: '/new' })
    expect(await urlOf(withPath(PEER, '/a?b'))).toBe(`http://${peerHostname(PEER)}/a?b`)
  })

  it('multiaddr: URIs and Multiaddrs get their /http-path replaced or added', async () => {
    const base = `/ip4/127.0.0.1/tcp/4001/p2p/${ID}`
    expect(withPath(`multiaddr:${base}`, '/kv/1.0.0/keys/a?x=1')).toBe(`multiaddr:${base}/http-path/kv%2F1.0.0%2Fkeys%2Fa%3Fx%3D1`)
    expect(withPath(`multiaddr:${base}/http-path/old`, '/new')).toBe(`multiaddr:${base}/http-path/new`)
    expect(withPath(`multiaddr:${base}/http-path/old`, '/')).toBe(`multiaddr:${base}`)
    expect(String(withPath(multiaddr(`${base}/http-path/old`), '/a%20b'))).toBe(`${base}/http-path/a%2520b`)
    expect(await urlOf(withPath(multiaddr(base), '/a%20b?c=d'))).toBe(`http://${peerHostname(PEER)}/a%20b?c=d`)
    const list = withPath([multiaddr(base), multiaddr('/ip4/10.0.0.1/tcp/1')], '/x') as unknown[]
    expect(list.map(String)).toEqual([`${base}/http-path/x`, '/ip4/10.0.0.1/tcp/1/http-path/x'])
  })

  it('URLs keep their origin; a path starting with // stays a path', () => {
    expect(withPath('https://example.com:8443/old?q', '/new?x')).toBe('https://example.com:8443/new?x')
    expect(withPath(new URL('http://example.com/'), '//evil.com/x')).toBe('http://example.com//evil.com/x')
    expect(new URL(withPath('http://example.com/', '//evil.com/x') as string).host).toBe('example.com')
  })

  it('refuses what is not a target', () => {
    expect(() => withPath('ftp://x/', '/')).toThrow(InvalidTargetError)
    expect(() => withPath(42 as unknown as FetchTarget, '/')).toThrow(InvalidTargetError)
  })
})

describe('targetKey: one cache entry per peer, else per origin', () => {
  it('every way of naming a peer gives its peer id', () => {
    for (const target of [
      PEER,
      { peer: PEER },
      { peer: ID, path: '/x' },
      { peer: `/ip4/127.0.0.1/tcp/1/p2p/${ID}` },
      `multiaddr:/ip4/127.0.0.1/tcp/1/p2p/${ID}/http-path/x`,
      multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${ID}`),
      [multiaddr('/ip4/127.0.0.1/tcp/2'), multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${ID}`)],
      `http://${peerHostname(PEER)}/any`
    ] as FetchTarget[]) {
      expect(targetKey(target)).toBe(ID)
    }
  })

  it('targets without a peer are keyed by origin, or by address', () => {
    expect(targetKey('https://Example.com:443/a')).toBe('https://example.com')
    expect(targetKey('http://example.com:8080/')).toBe('http://example.com:8080')
    expect(targetKey('multiaddr:/ip4/127.0.0.1/tcp/1/http-path/x')).toBe('multiaddr:/ip4/127.0.0.1/tcp/1')
  })

  it('refuses what is not a target', () => {
    expect(() => targetKey('not a url')).toThrow(InvalidTargetError)
    expect(() => targetKey([])).toThrow(InvalidTargetError)
    expect(() => targetKey({ peer: 'nope' })).toThrow(InvalidTargetError)
  })
})
