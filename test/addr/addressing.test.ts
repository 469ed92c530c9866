import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { InvalidTargetError } from '../../src/index.js'
import { isCircuitAddress, parseMultiaddr, parseMultiaddrURI, peerFromHostname, peerHostname, peerOfURL } from '../../src/addr/addressing.js'
import {
  httpEndpoint, isHTTPTransportAddress, multiaddrFromBytes, multiaddrToBytes, multiaddrToURL, normalizeHTTPAddress,
  requestTarget, urlToMultiaddr, withHTTPPath
} from '../../src/addr/addressing.js'

const PEER = '12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5'

describe('parseMultiaddrURI', () => {
  it('splits address, peer and /http-path', () => {
    const parsed = parseMultiaddrURI(`multiaddr:/ip4/1.2.3.4/tcp/4001/p2p/${PEER}/http-path/items%3Fx%3D1`)
    expect(parsed.addr.toString()).toBe(`/ip4/1.2.3.4/tcp/4001/p2p/${PEER}`)
    expect(parsed.peer?.toString()).toBe(PEER)
    expect(parsed.path).toBe('/items?x=1')
  })

  it('defaults the path to / and the peer to undefined', () => {
    const parsed = parseMultiaddrURI('multiaddr:/ip4/1.2.3.4/tcp/4001')
    expect(parsed.path).toBe('/')
    expect(parsed.peer).toBeUndefined()
  })

  it('accepts the scheme in any case', () => {
    expect(parseMultiaddrURI(`MultiAddr:/p2p/${PEER}`).peer?.toString()).toBe(PEER)
  })

  // The examples table of multiaddr `protocols/http-path.md` (string form → request target).
  it.each([
    ['/http-path/user', '/user'],
    ['/http-path/api%2Fv0%2Flogin', '/api/v0/login'],
    ['/http-path/tmp%2Ffoo%2F..%2Fbar', '/tmp/bar'],
    ['/http-path/a%2520space', '/a%20space'],
    ['/http-path/a%252Fslash', '/a%2Fslash'],
    ['/http-path/.well-known%2Flibp2p', '/.well-known/libp2p'],
    ['', '/']
  ])('%s → %s', (component, target) => {
    expect(parseMultiaddrURI(`multiaddr:/p2p/${PEER}${component}`).path).toBe(target)
  })

  it('rejects what is not a multiaddr URI, naming the problem', () => {
    expect(() => parseMultiaddrURI('http://example.com')).toThrow(InvalidTargetError)
    expect(() => parseMultiaddrURI('multiaddr:/ip4/999.1.1.1/tcp/1')).toThrow(/invalid multiaddr/)
    expect(() => parseMultiaddrURI('multiaddr:/ip4/1.2.3.4/tcp/1/http-path/a/p2p/' + PEER)).toThrow(/must be the last component/)
  })
})

describe('isCircuitAddress', () => {
  it('is true for a /p2p-circuit component only, not for a host name that contains the word', () => {
    const id = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
    expect(isCircuitAddress(multiaddr(`/ip4/203.0.113.7/tcp/4001/p2p/${id}/p2p-circuit`))).toBe(true)
    expect(isCircuitAddress(multiaddr(`/ip4/203.0.113.7/tcp/4001/p2p/${id}`))).toBe(false)
    expect(isCircuitAddress(multiaddr(`/dns4/p2p-circuit.example.com/tcp/4001/p2p/${id}`))).toBe(false)
  })
})

describe('requestTarget', () => {
  it('keeps a request on the same origin whatever the path says', () => {
    expect(requestTarget('//evil.example/x')).toBe('//evil.example/x')
    expect(requestTarget('../../etc/passwd')).toBe('/etc/passwd')
    expect(requestTarget('a b')).toBe('/a%20b')
    expect(requestTarget('/q?x=1&y=2')).toBe('/q?x=1&y=2')
  })
})

describe('parseMultiaddr', () => {
  it('has no peer without /p2p', () => {
    const ma = multiaddr('/ip4/1.2.3.4/tcp/1')
    expect(parseMultiaddr(ma).peer).toBeUndefined()
  })
})

describe('peer hostnames', () => {
  it('round-trips a peer id through a URL, which lowercases hostnames', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const url = new URL(`http://${peerHostname(peer)}/x`)
    expect(peerFromHostname(url.hostname)?.equals(peer)).toBe(true)
  })

  it('is the base36 CIDv1 that @libp2p/http sends as Host', () => {
    expect(peerHostname(peerIdFromString(PEER))).toMatch(/^k51qzi5uqu5[0-9a-z]+$/)
  })

  it('never mistakes a DNS name or a mangled id for a peer', () => {
    expect(peerFromHostname('example.com')).toBeUndefined()
    expect(peerFromHostname('localhost')).toBeUndefined()
    expect(peerFromHostname('k51qzi5uqu5dinvalid')).toBeUndefined()
    expect(peerFromHostname(PEER.toLowerCase())).toBeUndefined()
  })
})

// the one rule for which URLs name a peer (issue 14: https://<base36>/ was taken for that peer, unproven)
describe('peerOfURL', () => {
  const HOST = peerHostname(peerIdFromString(PEER))
  it.each([
    [`http://${HOST}/x`, PEER],
    [`http://${HOST}:8080/x?y`, PEER],
    [`HTTP://${HOST.toUpperCase()}/`, PEER],
    [new URL(`http://${HOST}/`), PEER],
    [{ protocol: 'http:', hostname: HOST }, PEER],
    [`https://${HOST}/x`, undefined],
    [`https://${HOST}:8443/`, undefined],
    [new URL(`https://${HOST}/`), undefined],
    [{ protocol: 'https:', hostname: HOST }, undefined],
    [`ws://${HOST}/`, undefined],
    ['http://example.com/', undefined],
    ['http://k51qzi5uqu5dinvalid/', undefined],
    ['not a url', undefined]
  ])('%s names %s', (url, peer) => {
    expect(peerOfURL(url)?.toString()).toBe(peer)
  })
})

describe('multiaddr → URL', () => {
  // spec-notes §2.2/§2.3: the forms, the examples of @multiformats/multiaddr-to-uri, and the defaults
  it.each([
    ['/ip4/1.2.3.4/tcp/443/tls/http', 'https://1.2.3.4/'],
    ['/ip4/1.2.3.4/tcp/8443/tls/http', 'https://1.2.3.4:8443/'],
    ['/ip4/0.0.7.6/tcp/1234/tls/http', 'https://0.0.7.6:1234/'],
    ['/ip4/1.2.3.4/tcp/8443/https', 'https://1.2.3.4:8443/'],
    ['/ip6/::1/tcp/8443/tls/http', 'https://[::1]:8443/'],
    ['/ip6/2001:0db8:85a3:0000:0000:8a2e:0370:7334/tcp/443/tls/http', 'https://[2001:db8:85a3::8a2e:370:7334]/'],
    ['/ip6/fc00::/http', 'http://[fc00::]/'],
    ['/dns/example.com/tls/http', 'https://example.com/'],
    ['/dns4/example.com/tcp/80/http', 'http://example.com/'],
    ['/dns6/example.com/tcp/8080/http', 'http://example.com:8080/'],
    ['/dns/example.com/http', 'http://example.com/'],
    ['/ip4/1.2.3.4/tcp/443/tls/sni/ipfs.io/http', 'https://ipfs.io/'],
    ['/ip4/1.2.3.4/tcp/1234/tls/sni/ipfs.io/http/http-path/foo%2fbar', 'https://ipfs.io:1234/foo/bar'],
    ['/dns/example.com/tcp/443/tls/http/http-path/.well-known%2Flibp2p%2Fprotocols', 'https://example.com/.well-known/libp2p/protocols'],
    [`/ip4/1.2.3.4/tcp/443/tls/http/p2p/${PEER}/http-path/a%2520space`, 'https://1.2.3.4/a%20space'],
    ['/dns/example.com/tls/http/http-path/items%3Fx%3D1', 'https://example.com/items?x=1']
  ])('%s → %s', (ma, url) => {
    expect(multiaddrToURL(multiaddr(ma))).toBe(url)
  })

  it('an SNI address connects to the IP and names the server', () => {
    expect(httpEndpoint(multiaddr('/ip4/1.2.3.4/tcp/1234/tls/sni/ipfs.io/http'))).toEqual({
      protocol: 'https:', hostname: 'ipfs.io', port: 1234, origin: 'https://ipfs.io:1234', connectHost: '1.2.3.4'
    })
  })

  it.each([
    ['/dnsaddr/example.com/tls/http', /\/dnsaddr\/example\.com .*resolve it/],
    ['/ip4/1.2.3.4/udp/443/quic-v1/http', /unexpected \/udp\/443 .*HTTP\/3/],
    ['/ip4/1.2.3.4/tcp/443/ws/http', /unexpected \/ws /],
    ['/ip4/1.2.3.4/tcp/443', /not an HTTP transport address/],
    ['/ip4/1.2.3.4/tcp/0/tls/http', /\/tcp\/0 .*not a port/],
    [`/p2p/${PEER}`, /no host/],
    ['/unix/tmp%2Fs.sock/http', /\/unix cannot start/]
  ])('%s is refused, naming the component', (ma, message) => {
    expect(() => httpEndpoint(multiaddr(ma))).toThrow(message)
  })

  it('tells HTTP transport addresses from libp2p ones', () => {
    expect(isHTTPTransportAddress(multiaddr('/dns/example.com/tls/http'))).toBe(true)
    expect(isHTTPTransportAddress(multiaddr('/dns/example.com/https'))).toBe(true)
    expect(isHTTPTransportAddress(multiaddr(`/ip4/1.2.3.4/tcp/1/p2p/${PEER}`))).toBe(false)
  })

  it('writes /https as /tls/http', () => {
    expect(normalizeHTTPAddress(multiaddr(`/dns/x.com/tcp/1/https/p2p/${PEER}`)).toString()).toBe(`/dns/x.com/tcp/1/tls/http/p2p/${PEER}`)
  })
})

describe('URL → multiaddr', () => {
  it.each([
    ['https://example.com/', '/dns/example.com/tcp/443/tls/http'],
    ['https://example.com/a/b?x=1', '/dns/example.com/tcp/443/tls/http/http-path/a%2Fb%3Fx%3D1'],
    ['http://[::1]:8080/', '/ip6/::1/tcp/8080/http'],
    ['https://1.2.3.4:8443/a%20space', '/ip4/1.2.3.4/tcp/8443/tls/http/http-path/a%2520space'],
    ['http://10.0.0.1/#frag', '/ip4/10.0.0.1/tcp/80/http']
  ])('%s → %s', (url, ma) => {
    expect(urlToMultiaddr(url).toString()).toBe(ma)
  })

  it('a peer URL becomes /p2p', () => {
    const peer = peerIdFromString(PEER)
    expect(urlToMultiaddr(`http://${peerHostname(peer)}/x`).toString()).toBe(`/p2p/${PEER}/http-path/x`)
  })

  it('round-trips through multiaddrToURL', () => {
    for (const url of ['https://example.com/a/b?x=1', 'https://[::1]:8443/', 'http://1.2.3.4:81/%E2%82%AC']) {
      expect(multiaddrToURL(urlToMultiaddr(url))).toBe(url)
    }
  })

  it('refuses other schemes and credentials', () => {
    expect(() => urlToMultiaddr('ftp://x.com/')).toThrow(InvalidTargetError)
    expect(() => urlToMultiaddr('https://u:p@x.com/')).toThrow(/credentials/)
  })

  it('withHTTPPath replaces the path; / leaves none (multiaddr http-path.md)', () => {
    const ma = multiaddr(`/ip4/1.2.3.4/tcp/1/p2p/${PEER}/http-path/old`)
    expect(withHTTPPath(ma, '/new?x=1').toString()).toBe(`/ip4/1.2.3.4/tcp/1/p2p/${PEER}/http-path/new%3Fx%3D1`)
    expect(withHTTPPath(ma, '/').toString()).toBe(`/ip4/1.2.3.4/tcp/1/p2p/${PEER}`)
  })
})

describe('binary /http-path (spec-notes §2.5)', () => {
  const GO_BYTES = '04010203040601bbc003e003e1030c6170692f76302f6c6f67696e' // go-multiaddr: no leading '/'
  const JS_BYTES = '04010203040601bbc003e003e1030d2f6170692f76302f6c6f67696e' // js-multiaddr 13: with '/'

  it('reads the spec/go encoding and the js one alike', () => {
    for (const hex of [GO_BYTES, JS_BYTES]) {
      const ma = multiaddrFromBytes(Buffer.from(hex, 'hex'))
      expect(ma.toString()).toBe('/ip4/1.2.3.4/tcp/443/tls/http/http-path/api%2Fv0%2Flogin')
      expect(multiaddrToURL(ma)).toBe('https://1.2.3.4/api/v0/login')
    }
  })

  it('writes the spec/go encoding', () => {
    const ma = multiaddr('/ip4/1.2.3.4/tcp/443/tls/http/http-path/api%2Fv0%2Flogin')
    expect(Buffer.from(multiaddrToBytes(ma)).toString('hex')).toBe(GO_BYTES)
    expect(Buffer.from(multiaddrToBytes(multiaddr('/ip4/1.2.3.4/tcp/443/tls/http'))).toString('hex')).toBe('04010203040601bbc003e003')
  })
})
