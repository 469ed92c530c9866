import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { InsecureHTTPError, NoLibp2pError, NoTransportError, PeerAuthRequiredError } from '../../src/index.js'
import { selectTransport } from '../../src/client/select.js'
import type { SelectionOptions, SelectionState, SelectionTarget } from '../../src/client/select.js'

const PEER = peerIdFromString('12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5')
const STREAM = multiaddr(`/ip4/10.0.0.1/tcp/4001/p2p/${PEER.toString()}`)
const HTTPS = multiaddr('/ip4/10.0.0.1/tcp/8443/tls/http')
const PLAIN = multiaddr('/ip4/10.0.0.1/tcp/8080/http')
const QUIC = multiaddr('/ip4/10.0.0.1/udp/443/quic-v1/http')
const base: SelectionState = { hasLibp2p: true, connected: false, canAuthenticateServer: false }

interface Case {
  name: string
  target: SelectionTarget
  options?: SelectionOptions
  state?: Partial<SelectionState>
  expect: 'native' | 'stream' | (new (...args: any[]) => Error)
  rule?: string
  addr?: string
}

// One case per rule of selectTransport, then its constraints, in the order of its doc comment.
const cases: Case[] = [
  { name: 'an http(s) URL', target: { url: new URL('https://example.com/'), addrs: [] }, expect: 'native', rule: 'rule 1' },
  { name: 'only HTTP addresses (explicit)', target: { addrs: [HTTPS] }, expect: 'native', rule: 'rule 2', addr: HTTPS.toString() },
  { name: 'an open connection beats a first HTTP address', target: { peer: PEER, addrs: [HTTPS, STREAM] }, state: { connected: true }, expect: 'stream', rule: 'rule 3' },
  { name: 'preferNativeHTTP beats an open connection', target: { peer: PEER, addrs: [STREAM, HTTPS] }, options: { preferNativeHTTP: true }, state: { connected: true, canAuthenticateServer: true }, expect: 'native', rule: 'rule 4' },
  { name: 'preferNativeHTTP with the HTTP address second', target: { addrs: [multiaddr('/ip4/10.0.0.1/tcp/4001'), HTTPS] }, options: { preferNativeHTTP: true }, expect: 'native', rule: 'rule 4' },
  { name: 'stream addresses only', target: { peer: PEER, addrs: [STREAM] }, expect: 'stream', rule: 'rule 5' },
  { name: 'just a peer id', target: { peer: PEER, addrs: [] }, expect: 'stream', rule: 'rule 5' },
  { name: 'the first address is HTTP, no connection', target: { peer: PEER, addrs: [HTTPS, STREAM] }, state: { canAuthenticateServer: true }, expect: 'native', rule: 'rule 6' },
  { name: 'the first address is a libp2p one', target: { peer: PEER, addrs: [STREAM, HTTPS] }, expect: 'stream', rule: 'rule 7' },
  // constraints
  { name: 'plain /http ignored without the opt-in, stream used', target: { peer: PEER, addrs: [PLAIN, STREAM] }, expect: 'stream', rule: 'rule 5' },
  { name: 'plain /http only, no opt-in', target: { addrs: [PLAIN] }, expect: InsecureHTTPError },
  { name: 'plain /http with insecureAllowHTTP', target: { addrs: [PLAIN] }, options: { insecureAllowHTTP: true }, expect: 'native', rule: 'rule 2' },
  { name: '/http/p2p/<id> given alone needs peer auth', target: { peer: PEER, addrs: [HTTPS] }, expect: PeerAuthRequiredError },
  { name: 'a named peer with an HTTP address first falls back to a stream without peer auth', target: { peer: PEER, addrs: [HTTPS, STREAM] }, expect: 'stream', rule: 'rule 6' },
  { name: 'a named peer whose HTTPS server does not authenticate falls back to a stream (rule 6)', target: { peer: PEER, addrs: [HTTPS, STREAM] }, state: { canAuthenticateServer: true, nativeUnproven: 'the HTTPS server does not run Peer ID Authentication' }, expect: 'stream', rule: 'rule 6' },
  { name: 'a named peer whose HTTPS server does not authenticate falls back to a stream (rule 4)', target: { peer: PEER, addrs: [STREAM, HTTPS] }, options: { preferNativeHTTP: true }, state: { canAuthenticateServer: true, nativeUnproven: 'the HTTPS server does not run Peer ID Authentication' }, expect: 'stream', rule: 'rule 4' },
  { name: 'a named peer given only at its HTTPS address that does not authenticate: still native (the caller gets the auth error)', target: { peer: PEER, addrs: [HTTPS] }, state: { canAuthenticateServer: true, nativeUnproven: 'the HTTPS server does not run Peer ID Authentication' }, expect: 'native', rule: 'rule 2' },
  { name: 'a stream without a libp2p node', target: { peer: PEER, addrs: [STREAM] }, state: { hasLibp2p: false }, expect: NoLibp2pError },
  { name: 'a stream without a peer or a libp2p address', target: { addrs: [] }, expect: NoTransportError },
  { name: 'HTTP/3 addresses are ignored: the TCP one is used', target: { addrs: [QUIC, HTTPS] }, options: { insecureAllowHTTP: true }, expect: 'native', rule: 'rule 2', addr: HTTPS.toString() },
  { name: 'only HTTP/3 addresses', target: { addrs: [QUIC] }, expect: NoTransportError },
  { name: 'no libp2p node: rule 7 falls back to the HTTP address', target: { addrs: [multiaddr('/ip4/10.0.0.1/tcp/4001'), HTTPS] }, state: { hasLibp2p: false }, expect: 'native', rule: 'rule 7', addr: HTTPS.toString() }
]

describe('selectTransport', () => {
  it.each(cases)('$name', (c) => {
    const run = (): ReturnType<typeof selectTransport> => selectTransport(c.target, c.options ?? {}, { ...base, ...c.state })
    if (typeof c.expect !== 'string') {
      expect(run).toThrow(c.expect)
      return
    }
    const selection = run()
    expect(selection.transport).toBe(c.expect)
    expect(selection.reason).toContain(c.rule)
    if (c.addr != null) {
      expect(selection.addr?.toString()).toBe(c.addr)
    }
  })

  it('says why plain addresses were left out', () => {
    expect(selectTransport({ peer: PEER, addrs: [PLAIN, STREAM] }, {}, base).reason).toMatch(/insecureAllowHTTP is off/)
  })

  it('says why a named peer went over a stream', () => {
    expect(selectTransport({ peer: PEER, addrs: [HTTPS, STREAM] }, {}, base).reason).toMatch(/needs Peer ID Authentication: using a stream/)
  })
})
