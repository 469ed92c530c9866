import { describe, expect, it } from 'vitest'
import { isExpired, openToken, parseDuration, sealToken } from '../../src/auth/tokens.js'
import { HMAC_KEY, V2, V3 } from '../fixtures/peer-id-auth.js'

describe('sealed state', () => {
  it('opens go\'s blobs from the spec (V4: HMAC-SHA256 || JSON, zero key)', () => {
    expect(openToken([HMAC_KEY], V3.opaque)).toEqual({ 'challenge-client': 'ERERERERERERERERERERERERERERERERERERERERERE=', hostname: 'example.com', 'created-time': '1969-12-31T16:00:00-08:00' })
    expect(openToken([HMAC_KEY], V2.bearer)).toMatchObject({ 'is-token': true, 'peer-id': '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq' })
    expect(openToken([HMAC_KEY], V2.opaque)).toMatchObject({ 'client-public-key': 'CAESIIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU' })
  })

  it('rotation: the first key seals, any key opens; a tampered or foreign blob opens to nothing', () => {
    const old = new Uint8Array(32).fill(1)
    const fresh = new Uint8Array(32).fill(2)
    const blob = sealToken(old, { hostname: 'h', 'created-time': new Date(0).toISOString() })
    expect(openToken([fresh, old], blob)?.hostname).toBe('h')
    expect(openToken([fresh], blob)).toBeUndefined()
    const bytes = Buffer.from(blob, 'base64url')
    bytes[bytes.length - 3] ^= 1
    expect(openToken([old], bytes.toString('base64url'))).toBeUndefined()
    for (const junk of ['', '!!!', 'AAAA', Buffer.alloc(40).toString('base64url')]) {
      expect(openToken([old], junk)).toBeUndefined()
    }
  })

  it('expiry: at the TTL, from the future, undated', () => {
    const state = { hostname: 'h', 'created-time': new Date(1000).toISOString() }
    expect(isExpired(state, 500, 1499)).toBe(false)
    expect(isExpired(state, 500, 1500)).toBe(true)
    expect(isExpired({ ...state, 'created-time': new Date(10 * 60_000).toISOString() }, 500, 0)).toBe(true)
    expect(isExpired({ ...state, 'created-time': 'yesterday' }, 500, 0)).toBe(true)
  })
})

describe('parseDuration', () => {
  it('numbers are ms; s, m, h, d suffixes', () => {
    expect(parseDuration(250)).toBe(250)
    expect(parseDuration('1h')).toBe(3_600_000)
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('1.5m')).toBe(90_000)
    expect(() => parseDuration('soon')).toThrow(TypeError)
    expect(() => parseDuration(-1)).toThrow(TypeError)
  })

  it('refuses durations whose expiry could not be written as a date (over 100 years)', () => {
    expect(parseDuration('36500d')).toBe(36_500 * 86_400_000)
    expect(() => parseDuration(Number.MAX_SAFE_INTEGER)).toThrow(/over 100 years/)
    expect(() => parseDuration('40000d')).toThrow(/over 100 years/)
  })
})
