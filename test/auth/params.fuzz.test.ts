/**
 * The `libp2p-PeerID` header parser takes text from any client or server. Property-based (fast-check):
 * any input parses or throws our typed error, and what we format parses back to the same parameters.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatAuthHeader, parseAuthHeader } from '../../src/auth/params.js'
import { LibP2PHTTPError } from '../../src/errors.js'

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed)
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000)

/** Only our typed errors may escape. */
function parsesOrRefuses (header: string): void {
  try {
    parseAuthHeader(header)
  } catch (err) {
    if (!(err instanceof LibP2PHTTPError)) throw err
    expect(err.code).toBe('ERR_PEER_AUTH_HEADER')
  }
}

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/)
const value = fc.string({ maxLength: 60 })
// pieces a hostile header might be made of
const token = fc.oneof(
  fc.constantFrom('libp2p-PeerID ', 'LIBP2P-PEERID ', 'Basic ', '=', '"', '\\', ',', ' ', '\t', 'sig', 'bearer', 'opaque', 'challenge-client', 'public-key'),
  fc.string({ maxLength: 10 }),
  fc.fullUnicodeString({ maxLength: 5 })
)

describe(`parseAuthHeader, property-based (seed ${SEED}, ${RUNS} runs)`, () => {
  it('any text: parsed, or refused with ERR_PEER_AUTH_HEADER', () => {
    fc.assert(fc.property(fc.array(token, { maxLength: 30 }).map(parts => parts.join('')), parsesOrRefuses), { seed: SEED, numRuns: RUNS })
    fc.assert(fc.property(fc.fullUnicodeString({ maxLength: 300 }), (text) => { parsesOrRefuses(`libp2p-PeerID ${text}`) }), { seed: SEED, numRuns: RUNS })
  })

  it('what formatAuthHeader writes, parseAuthHeader reads back (distinct names, any value)', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.tuple(name, value), { minLength: 1, maxLength: 6, selector: ([n]) => n }), (params) => {
      const header = formatAuthHeader(params)
      if (Buffer.byteLength(header) > 2048) return
      expect(parseAuthHeader(header)).toEqual(Object.fromEntries(params))
    }), { seed: SEED, numRuns: RUNS })
  })
})
