import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { InvalidTargetError, parseMultiaddr, parseMultiaddrURI, peerFromHostname, peerHostname } from '../src/index.js'
import { requestTarget } from '../src/addressing.js'

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
