/**
 * Which limit of a circuit relay (circuit v2 `Limit`: `data` bytes, `duration`) ended a relayed
 * connection, read from what js-libp2p's relay transport tracks for it (`connection.limits`: the bytes
 * left, counted both ways, and the seconds left). The relay says nothing when it cuts a circuit: it
 * resets the hop streams, and the connection over them closes under every stream it carried. So a
 * stream that fails on a limited connection that is no longer open, with a limit (nearly) used up,
 * failed because of that limit.
 *
 * @module
 */
import { RelayLimitError } from '../errors.js'
import type { Connection } from '@libp2p/interface'

/**
 * Bytes that may be left on our count when the relay cut for data: the relay drops the message that
 * overflowed it (one muxer frame of the sender, ≤ 64 KiB for yamux's default, 1 MiB for the largest a
 * go-libp2p yamux sends), and what was in flight towards it when it cut is on our count and not on its.
 */
export const DATA_SLACK = 1024 * 1024 + 64 * 1024

/** Seconds that may be left on our count when the relay cut for time: the relay's clock started first. */
const DURATION_SLACK_S = 2

/** The part of a connection the check reads. */
export type LimitedConnection = Pick<Connection, 'limits' | 'status' | 'timeline'>

/**
 * The limit that ended `connection`, if it was a limited (relayed) connection that is closed and whose
 * data or time is used up.
 *
 * The duration is read two ways: circuit v2 gives it in seconds, which go-libp2p sends, but
 * js-libp2p's relay (@libp2p/circuit-relay-v2 4.x) sends its `defaultDurationLimit` in milliseconds
 * and enforces it as milliseconds while its client reads the number as seconds. So a relayed connection
 * whose age reached the advertised number read as milliseconds (for numbers of 1000 or more, which as
 * seconds would be over 16 minutes) was cut for duration too.
 */
export function exhaustedLimit (connection: LimitedConnection, now = Date.now()): 'data' | 'duration' | undefined {
  const limits = connection.limits
  if (limits == null || connection.status === 'open') {
    return undefined
  }
  // time first: its count is exact, where the bytes left have a wide slack
  if (limits.seconds != null) {
    if (limits.seconds <= DURATION_SLACK_S) {
      return 'duration'
    }
    const ageMs = now - connection.timeline.open
    const advertised = limits.seconds + ageMs / 1000
    if (advertised >= 1000 && ageMs >= advertised - DURATION_SLACK_S * 1000) {
      return 'duration'
    }
  }
  if (limits.bytes != null && limits.bytes <= BigInt(DATA_SLACK)) {
    return 'data'
  }
  return undefined
}

/**
 * For a stream on `connection`: the error its reset means when a relay limit ended the connection
 * (undefined on connections without limits, which is every direct one).
 */
export function relayLimitCheck (connection: LimitedConnection): ((cause: Error) => RelayLimitError | undefined) | undefined {
  if (connection.limits == null) {
    return undefined
  }
  return (cause) => {
    const limit = exhaustedLimit(connection)
    if (limit == null) {
      return undefined
    }
    const what = limit === 'data' ? 'data limit (bytes per relayed connection)' : 'duration limit (time per relayed connection)'
    return new RelayLimitError(limit, `the relay cut the connection: its ${what} ran out before the exchange was complete`, { cause })
  }
}
