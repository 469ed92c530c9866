import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { InvalidTargetError } from '../../src/index.js'
import { peerHostname } from '../../src/addr/addressing.js'
import { describeTarget } from '../../src/client/target.js'
import { protocolPath, targetKey, withPath } from '../../src/client/target-path.js'
import type { FetchTarget } from '../../src/index.js'

const PEER = peerIdFromString('12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5')
const ID = PEER.toString()
/** What routing sees of a target (the origin of a URL): a re-pointed one must differ from the original only in `path`. */
function seen (target: FetchTarget): { peer?: string, url?: string, addrs: string[], path: string } {
  const d = describeTarget(target)
  return { peer: d.peer?.toString(), url: d.url?.origin, addrs: d.addrs.map(String), path: d.path }
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
  it('a peer without addresses becomes { peer, path }', () => {
    expect(withPath(PEER, '/a?b')).toEqual({ peer: PEER, path: '/a?b' })
    expect(seen(withPath({ peer: ID, path: '/old' }, '/new'))).toEqual({ ...seen(PEER), path: '/new' })
    expect(seen(withPath(`http://${peerHostname(PEER)}/old`, '/a?b'))).toEqual({ peer: ID, url: undefined, addrs: [], path: '/a?b' })
  })

  it('multiaddr: URIs and Multiaddrs keep their addresses, /http-path replaced or added', () => {
    const base = `/ip4/127.0.0.1/tcp/4001/p2p/${ID}`
    const tls = '/dns4/example.com/tcp/443/tls/http'
    for (const [target, path] of [
      [`multiaddr:${base}`, '/kv/1.0.0/keys/a?x=1'],
      [`multiaddr:${base}/http-path/old`, '/new'],
      [`multiaddr:${base}/http-path/old`, '/'],
      [multiaddr(`${base}/http-path/old`), '/a%20b?c=d'],
      [multiaddr(`${tls}/http-path/old`), '/x'],
      [[multiaddr(base), multiaddr('/ip4/10.0.0.1/tcp/1')], '/x'],
      [[multiaddr('/ip4/10.0.0.1/tcp/1'), multiaddr(`/p2p/${ID}`)], '/y']
    ] as Array<[FetchTarget, string]>) {
      expect(seen(withPath(target, path))).toEqual({ ...seen(target), path })
    }
    expect((withPath(multiaddr(`${base}/http-path/old`), '/a%20b') as unknown[]).map(String)).toEqual([`${base}/http-path/a%2520b`])
  })

  it('URLs keep their origin; a path starting with // stays a path', () => {
    expect(withPath('https://example.com:8443/old?q', '/new?x')).toBe('https://example.com:8443/new?x')
    expect(seen(withPath('https://example.com:8443/old?q', '/new?x'))).toEqual({ ...seen('https://example.com:8443/'), path: '/new?x' })
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
      `http://${peerHostname(PEER)}/any`,
      `multiaddr:/ip4/127.0.0.1/tcp/443/tls/http/p2p/${ID}`
    ] as FetchTarget[]) {
      expect(targetKey(target)).toBe(ID)
    }
  })

  it('targets without a peer are keyed by origin, or by address', () => {
    expect(targetKey('https://Example.com:443/a')).toBe('https://example.com')
    expect(targetKey('http://example.com:8080/')).toBe('http://example.com:8080')
    expect(targetKey('multiaddr:/ip4/127.0.0.1/tcp/1/http-path/x')).toBe('multiaddr:/ip4/127.0.0.1/tcp/1')
    expect(targetKey('multiaddr:/ip4/127.0.0.1/tcp/8443/https')).toBe('multiaddr:/ip4/127.0.0.1/tcp/8443/tls/http')
  })

  it('refuses what is not a target', () => {
    expect(() => targetKey('not a url')).toThrow(InvalidTargetError)
    expect(() => targetKey([])).toThrow(InvalidTargetError)
    expect(() => targetKey({ peer: 'nope' })).toThrow(InvalidTargetError)
  })
})
