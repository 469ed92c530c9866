import { describe, expect, it } from 'vitest'
import { appendVia, endToEnd, headerValue, isForwardingHeader, isLoop } from '../../src/proxy/headers.js'

describe('endToEnd', () => {
  it('drops the hop-by-hop headers of RFC 9110 §7.6.1 and those Connection names, keeps case and order', () => {
    const raw = [
      'Host', 'a', 'Connection', 'keep-alive, X-Hop', 'Keep-Alive', 'timeout=5', 'Proxy-Connection', 'keep-alive',
      'TE', 'trailers', 'Trailer', 'X-T', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'X-Hop', 'secret',
      'X-Keep', '1', 'x-keep', '2'
    ]
    expect(endToEnd(raw)).toEqual(['Host', 'a', 'X-Keep', '1', 'x-keep', '2'])
  })

  it('drops what it is told to, whatever the case', () => {
    expect(endToEnd(['X-Libp2p-Peer-Id', 'spoofed', 'A', 'b'], new Set(['x-libp2p-peer-id']))).toEqual(['A', 'b'])
  })
})

describe('Via', () => {
  it('appends this hop and finds itself in a loop', () => {
    expect(appendVia(undefined, 'p1')).toBe('1.1 p1')
    expect(appendVia('1.0 fred, 1.1 p0', 'p1')).toBe('1.0 fred, 1.1 p0, 1.1 p1')
    expect(isLoop('1.0 fred, 1.1 p1', 'p1')).toBe(true)
    expect(isLoop('1.1 p10', 'p1')).toBe(false)
    expect(isLoop(undefined, 'p1')).toBe(false)
  })

  it('joins repeated headers', () => {
    expect(headerValue(['Via', '1.1 a', 'via', '1.1 b'], 'via')).toBe('1.1 a, 1.1 b')
  })
})

describe('isForwardingHeader (issue 14)', () => {
  it.each([
    ['X-Forwarded-For', true], ['x-forwarded-host', true], ['X-Forwarded-Proto', true], ['X-Forwarded-Port', true],
    ['X-Forwarded-Prefix', true], ['X_Forwarded_For', true], ['Forwarded', true], ['X-Real-IP', true], ['x_real_ip', true],
    ['X-Forwarding', false], ['Forwarded-By', false], ['X-Request-Id', false], ['x-libp2p-peer-id', false]
  ])('%s: %s', (name, expected) => {
    expect(isForwardingHeader(name)).toBe(expected)
  })
})
