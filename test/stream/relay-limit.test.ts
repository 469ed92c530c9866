import { describe, expect, it } from 'vitest'
import { DATA_SLACK, exhaustedLimit, relayLimitCheck } from '../../src/stream/relay-limit.js'
import { RelayLimitError } from '../../src/errors.js'
import type { LimitedConnection } from '../../src/stream/relay-limit.js'

const NOW = 1_000_000

/** A connection opened `ageMs` ago with these limits left, in `status`. */
function conn (limits: { bytes?: bigint, seconds?: number } | undefined, status: LimitedConnection['status'] = 'closed', ageMs = 1000): LimitedConnection {
  return { limits, status, timeline: { open: NOW - ageMs } } as LimitedConnection
}

describe('exhaustedLimit: which relay limit ended a relayed connection', () => {
  it.each([
    ['a direct connection (no limits)', conn(undefined), undefined],
    ['a relayed connection still open, limits used up', conn({ bytes: 0n, seconds: 0 }, 'open'), undefined],
    ['data used up, time left', conn({ bytes: 0n, seconds: 100 }), 'data'],
    ['data left within the slack (the dropped frame, bytes in flight)', conn({ bytes: BigInt(DATA_SLACK), seconds: 100 }), 'data'],
    ['data left past the slack: closed for another reason', conn({ bytes: BigInt(DATA_SLACK) + 1n, seconds: 100 }), undefined],
    ['seconds used up (a relay that counts seconds, as the spec says)', conn({ bytes: 1n << 30n, seconds: 0 }), 'duration'],
    ['time first when both ran out', conn({ bytes: 0n, seconds: 1 }), 'duration'],
    // js-libp2p's relay advertises milliseconds that its client reads as seconds: 1500 "s" for 1.5 s
    ['js-libp2p relay: the advertised number reached as milliseconds', conn({ bytes: 1n << 30n, seconds: 1499 }, 'aborted', 1500), 'duration'],
    ['js-libp2p-sized number not yet reached as milliseconds', conn({ bytes: 1n << 30n, seconds: 59_990 }, 'aborted', 10_000), undefined],
    ['a small number (go seconds) is never read as milliseconds', conn({ bytes: 1n << 30n, seconds: 110 }, 'closed', 10_000), undefined]
  ])('%s', (_name, connection, expected) => {
    expect(exhaustedLimit(connection, NOW)).toBe(expected)
  })

  it('relayLimitCheck: nothing for direct connections, a RelayLimitError naming the limit for cut relayed ones', () => {
    expect(relayLimitCheck(conn(undefined))).toBeUndefined()
    const err = relayLimitCheck(conn({ bytes: 0n }))?.(new Error('reset'))
    expect(err).toBeInstanceOf(RelayLimitError)
    expect(err?.code).toBe('ERR_RELAY_LIMIT')
    expect(err?.limit).toBe('data')
    expect(relayLimitCheck(conn({ bytes: 1n << 30n }))?.(new Error('reset'))).toBeUndefined()
  })
})
