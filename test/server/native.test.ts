import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { InsecureHTTPError, InvalidListenAddressError } from '../../src/index.js'
import { parseListenAddress } from '../../src/server/native.js'

const ID = '12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5'

describe('parseListenAddress', () => {
  it.each([
    ['/ip4/0.0.0.0/tcp/8443/tls/http', { host: '0.0.0.0', port: 8443, tls: true }],
    ['/ip4/127.0.0.1/tcp/0/https', { host: '127.0.0.1', port: 0, tls: true }],
    ['/ip6/::1/tcp/0/tls/http', { host: '::1', port: 0, tls: true }],
    ['/dns4/localhost/tcp/0/tls/http', { host: 'localhost', port: 0, tls: true }],
    ['/dns/example.com/tls/http', { host: 'example.com', port: 443, tls: true }],
    ['/ip4/127.0.0.1/tcp/0/tls/sni/example.test/http', { host: '127.0.0.1', port: 0, tls: true, sni: 'example.test' }],
    [`/ip4/127.0.0.1/tcp/0/tls/http/p2p/${ID}`, { host: '127.0.0.1', port: 0, tls: true }]
  ])('%s', (addr, expected) => {
    const { host, port, tls, sni } = parseListenAddress(addr, { peerId: peerIdFromString(ID) })
    expect({ host: host.value, port, tls, ...(sni == null ? {} : { sni }) }).toEqual(expected)
  })

  it('plain /http only with insecureAllowHTTP', () => {
    expect(() => parseListenAddress('/ip4/127.0.0.1/tcp/0/http')).toThrow(InsecureHTTPError)
    expect(parseListenAddress('/ip4/127.0.0.1/tcp/0/http', { insecureAllowHTTP: true })).toMatchObject({ port: 0, tls: false })
    expect(parseListenAddress('/ip4/127.0.0.1/http', { insecureAllowHTTP: true }).port).toBe(80)
  })

  it.each([
    ['/dnsaddr/example.com/tls/http', /dnsaddr names TXT records/],
    ['/ip4/127.0.0.1/udp/0/quic-v1/http', /unexpected \/udp\/0 .*HTTP\/3/],
    ['/ip4/127.0.0.1/tcp/0/tls/http/http-path/x', /host\.handle/],
    ['/ip4/127.0.0.1/tcp/0/tls/http/p2p/12D3KooWRzCVDwHUkgdK7eRgnoXbjDAELhxPErjHzbRLguSV1aRt', /not this host's peer id/],
    ['/ip4/127.0.0.1/tcp/0', /ends in \/tls\/http/],
    ['/ip4/127.0.0.1/tcp/0/ws/http', /unexpected \/ws/],
    ['not a multiaddr', /invalid listen multiaddr/]
  ])('%s is refused', (addr, message) => {
    expect(() => parseListenAddress(addr, { peerId: peerIdFromString(ID) })).toThrow(InvalidListenAddressError)
    expect(() => parseListenAddress(addr, { peerId: peerIdFromString(ID) })).toThrow(message)
  })
})
