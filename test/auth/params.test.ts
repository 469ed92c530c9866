import { describe, expect, it } from 'vitest'
import { formatAuthHeader, fromBase64url, parseAuthHeader, toBase64url } from '../../src/auth/params.js'
import { PeerAuthHeaderError } from '../../src/errors.js'

describe('parseAuthHeader (RFC 9110 auth-param)', () => {
  it('quoted and token values, commas or spaces, case-insensitive scheme and names', () => {
    expect({ ...parseAuthHeader('libp2p-PeerID a="1", b=2 C="x y"  ,d="q\\"uote"') }).toEqual({ a: '1', b: '2', c: 'x y', d: 'q"uote' })
    expect({ ...parseAuthHeader('LIBP2P-peerid sig="s" bearer="b"') }).toEqual({ sig: 's', bearer: 'b' })
  })

  it('round-trips what formatAuthHeader writes', () => {
    const header = formatAuthHeader([['opaque', 'a=b'], ['sig', 'x"y']])
    expect(header).toBe('libp2p-PeerID opaque="a=b", sig="x\\"y"')
    expect({ ...parseAuthHeader(header) }).toEqual({ opaque: 'a=b', sig: 'x"y' })
  })

  it('refuses another scheme, over 2048 bytes, repeated names, bad syntax', () => {
    for (const bad of ['Bearer x', `libp2p-PeerID a="${'x'.repeat(2040)}"`, 'libp2p-PeerID a="1", a="2"', 'libp2p-PeerID a="1', 'libp2p-PeerID ="1"', 'libp2p-PeerID a="1"b="2"', 'libp2p-PeerID a=x"y']) {
      expect(() => parseAuthHeader(bad), bad).toThrow(PeerAuthHeaderError)
    }
  })
})

describe('base64url', () => {
  it('emits padding; reads padded and unpadded', () => {
    expect(toBase64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8=')
    expect([...fromBase64url('-_8=', 'x')]).toEqual([0xfb, 0xff])
    expect([...fromBase64url('-_8', 'x')]).toEqual([0xfb, 0xff])
  })

  it('refuses the standard alphabet, stray characters, bad padding and impossible lengths', () => {
    for (const bad of ['+/8=', 'ab c', 'a=bc', '-_8==', 'abcde', '-_=']) {
      expect(() => fromBase64url(bad, 'x'), bad).toThrow(PeerAuthHeaderError)
    }
  })
})
