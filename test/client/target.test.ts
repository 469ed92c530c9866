import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { InvalidTargetError } from '../../src/index.js'
import { peerHostname } from '../../src/addr/addressing.js'
import { describeTarget, routeLocation, routeTarget } from '../../src/client/target.js'
import type { RouterContext } from '../../src/client/target.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const PEER = peerIdFromString('12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5')
const OTHER = peerIdFromString('12D3KooWRzCVDwHUkgdK7eRgnoXbjDAELhxPErjHzbRLguSV1aRt')
const HOST = peerHostname(PEER)

/** A routing context that records what routing asked of the host. */
function context (overrides: Partial<RouterContext> = {}): RouterContext & { remembered: Map<string, Multiaddr[]>, pins: Map<string, string>, plain: Set<string> } {
  const remembered = new Map<string, Multiaddr[]>()
  const plain = new Set<string>()
  const pins = new Map<string, string>()
  return {
    selection: {},
    hasLibp2p: true,
    canAuthenticateServer: false,
    isConnected: () => false,
    identify: async (): Promise<PeerId> => { throw new Error('should not dial') },
    resolveTxt: async () => { throw new Error('should not resolve') },
    rememberAddresses: (peer, addrs, { replace }) => {
      if (replace || !remembered.has(peer.toString())) remembered.set(peer.toString(), addrs)
    },
    allowPlainOrigin: (origin) => { plain.add(origin) },
    sniHostname: (connectHost, servername) => {
      pins.set(servername, connectHost)
      return 'pinned.sni.invalid'
    },
    remembered,
    pins,
    plain,
    ...overrides
  }
}

describe('describeTarget', () => {
  it('multiaddr: URI with /p2p and /http-path', () => {
    const d = describeTarget(`multiaddr:/ip4/127.0.0.1/tcp/4001/p2p/${PEER.toString()}/http-path/a%2Fb%3Fc%3Dd`)
    expect(d.peer?.equals(PEER)).toBe(true)
    expect(d.path).toBe('/a/b?c=d')
    expect(d.addrs.map(String)).toEqual([`/ip4/127.0.0.1/tcp/4001/p2p/${PEER.toString()}`])
  })

  it('a bare /p2p/<id> gives no addresses (the peer store is used)', () => {
    const d = describeTarget(multiaddr(`/p2p/${PEER.toString()}`))
    expect(d.addrs).toEqual([])
    expect(d.peer?.equals(PEER)).toBe(true)
  })

  it('/https is read as /tls/http', () => {
    expect(describeTarget('multiaddr:/dns/example.com/https').addrs.map(String)).toEqual(['/dns/example.com/tls/http'])
  })

  it('rejects multiaddrs naming different peers', () => {
    expect(() => describeTarget([multiaddr(`/p2p/${PEER.toString()}`), multiaddr(`/p2p/${OTHER.toString()}`)])).toThrow(InvalidTargetError)
  })

  it('PeerId, { peer, path } with a query, and peer URLs', () => {
    expect(describeTarget(PEER)).toMatchObject({ path: '/', addrs: [] })
    expect(describeTarget({ peer: PEER, path: '/items?x=1' }).path).toBe('/items?x=1')
    expect(describeTarget({ peer: PEER.toString(), path: 'rel' }).path).toBe('/rel')
    expect(describeTarget({ peer: `/p2p/${PEER.toString()}` }).peer?.equals(PEER)).toBe(true)
    expect(describeTarget(`http://${HOST}/x?y`)).toMatchObject({ path: '/x?y', peer: PEER })
    expect(describeTarget(`http://${HOST}/x?y`).url).toBeUndefined()
    expect(() => describeTarget({ peer: 'https://example.com' })).toThrow(InvalidTargetError)
    expect(() => describeTarget({ peer: '/ip4/not-an-ip/tcp/1' })).toThrow(InvalidTargetError)
  })

  it('http(s) URLs are kept as URLs', () => {
    expect(describeTarget('https://example.com/a?b').url?.toString()).toBe('https://example.com/a?b')
  })

  it('rejects other schemes and shapes', () => {
    expect(() => describeTarget('ftp://example.com')).toThrow(InvalidTargetError)
    expect(() => describeTarget('not a url')).toThrow(InvalidTargetError)
    expect(() => describeTarget([])).toThrow(InvalidTargetError)
    expect(() => describeTarget(42 as never)).toThrow(InvalidTargetError)
  })
})

describe('routeTarget', () => {
  it('a stream target: peer URL, addresses remembered with /p2p added', async () => {
    const ctx = context()
    const route = await routeTarget([multiaddr(`/ip4/10.0.0.1/tcp/1/p2p/${PEER.toString()}`), multiaddr('/ip4/10.0.0.2/tcp/2')], ctx)
    expect(route.url).toBe(`http://${HOST}/`)
    expect(route.choice.transport).toBe('stream')
    expect(ctx.remembered.get(PEER.toString())?.map(String)).toEqual([`/ip4/10.0.0.1/tcp/1/p2p/${PEER.toString()}`, `/ip4/10.0.0.2/tcp/2/p2p/${PEER.toString()}`])
  })

  it('a stream multiaddr without /p2p is dialled to learn the peer', async () => {
    const route = await routeTarget('multiaddr:/ip4/127.0.0.1/tcp/9/http-path/x', context({
      identify: async (addr) => {
        expect(addr.toString()).toBe('/ip4/127.0.0.1/tcp/9')
        return PEER
      }
    }))
    expect(route.url).toBe(`http://${HOST}/x`)
  })

  it('a native target: the URL of the HTTP address', async () => {
    const route = await routeTarget('multiaddr:/ip6/::1/tcp/8443/tls/http/http-path/a%2Fb', context())
    expect(route.url).toBe('https://[::1]:8443/a/b')
    expect(route.choice.transport).toBe('native')
  })

  it('an SNI address gets a hostname of its own for (IP, name), never the plain name', async () => {
    const ctx = context()
    const route = await routeTarget('multiaddr:/ip6/::1/tcp/8443/tls/sni/example.test/http/http-path/a%2Fb', ctx)
    expect(route.url).toBe('https://pinned.sni.invalid:8443/a/b')
    expect(ctx.pins.get('example.test')).toBe('::1')
  })

  it('/dnsaddr is resolved, never used as a host', async () => {
    const ctx = context({
      resolveTxt: async (name) => {
        expect(name).toBe('_dnsaddr.example.com')
        return [['dnsaddr=/ip4/127.0.0.1/tcp/8443/tls/http']]
      }
    })
    const route = await routeTarget('multiaddr:/dnsaddr/example.com/http-path/x', ctx)
    expect(route.url).toBe('https://127.0.0.1:8443/x')
  })

  it('a /dnsaddr listing several peers: the first peer named, with only its addresses', async () => {
    const ctx = context({
      resolveTxt: async () => [
        [`dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/${PEER.toString()}`],
        [`dnsaddr=/ip4/10.0.0.2/tcp/2/p2p/${OTHER.toString()}`],
        ['dnsaddr=/ip4/10.0.0.3/tcp/3']
      ]
    })
    const route = await routeTarget('multiaddr:/dnsaddr/bootstrap.example', ctx)
    expect(route.peer?.equals(PEER)).toBe(true)
    expect(ctx.remembered.get(PEER.toString())?.map(String)).toEqual([`/ip4/10.0.0.1/tcp/1/p2p/${PEER.toString()}`, `/ip4/10.0.0.3/tcp/3/p2p/${PEER.toString()}`])
  })

  it('a failed identify dial is a DialError', async () => {
    const err = await routeTarget('multiaddr:/ip4/127.0.0.1/tcp/9', context({ identify: async () => { throw new Error('connection refused') } })).catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('ERR_DIAL_FAILED')
  })

  it('a plain http: URL the caller asked for is allowed, and only that origin', async () => {
    const ctx = context()
    await routeTarget('http://127.0.0.1:8080/x', ctx)
    expect([...ctx.plain]).toEqual(['http://127.0.0.1:8080'])
  })

  it('a Location never replaces addresses the caller gave for a peer', async () => {
    const ctx = context()
    await routeTarget(`multiaddr:/ip4/10.0.0.1/tcp/1/p2p/${PEER.toString()}`, ctx)
    routeLocation(`multiaddr:/ip4/6.6.6.6/tcp/1/p2p/${PEER.toString()}/http-path/y`, ctx)
    expect(ctx.remembered.get(PEER.toString())?.map(String)).toEqual([`/ip4/10.0.0.1/tcp/1/p2p/${PEER.toString()}`])
    routeLocation(`multiaddr:/ip4/10.0.0.9/tcp/1/p2p/${OTHER.toString()}/http-path/y`, ctx)
    expect(ctx.remembered.get(OTHER.toString())?.map(String)).toEqual([`/ip4/10.0.0.9/tcp/1/p2p/${OTHER.toString()}`])
  })

  it('routeLocation refuses what it cannot route without a lookup', () => {
    expect(() => routeLocation('multiaddr:/ip4/127.0.0.1/tcp/9/http-path/x', context())).toThrow(/must name its peer/)
    expect(() => routeLocation('multiaddr:/dnsaddr/example.com', context())).toThrow(/dnsaddr/)
    expect(routeLocation(`multiaddr:/p2p/${PEER.toString()}/http-path/y`, context()).url).toBe(`http://${HOST}/y`)
  })
})
