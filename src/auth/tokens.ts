/**
 * The server's state, kept by the client: `opaque` (a handshake in progress) and `bearer` (an
 * authenticated client). Stateless: go-libp2p's layout, `base64url(HMAC-SHA256(key, json) || json)`
 * with go's JSON field names, so a go server and this one sharing a key read each other's blobs. A blob
 * is bound to the hostname it was issued for and carries its creation time; the server checks both on
 * every use.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { fromBase64url, toBase64url } from './params.js'

/** What a blob holds (go's `opaqueState`). */
export interface TokenState {
  /** `true` for a bearer token, absent for an `opaque` handshake state. */
  'is-token'?: boolean
  /** Client-initiated flow: the client's public key (protobuf), standard base64 as go's JSON writes `[]byte`. */
  'client-public-key'?: string
  /** Bearer: the authenticated client. */
  'peer-id'?: string
  /** The challenge the client must sign. */
  'challenge-client'?: string
  hostname: string
  /** RFC 3339. */
  'created-time': string
}

const MAC_BYTES = 32

function mac (key: Uint8Array, json: Buffer): Buffer {
  return createHmac('sha256', key).update(json).digest()
}

/** Seal `state` with `key`. */
export function sealToken (key: Uint8Array, state: TokenState): string {
  const json = Buffer.from(JSON.stringify(state))
  return toBase64url(Buffer.concat([mac(key, json), json]))
}

/**
 * The state sealed in `blob` if one of `keys` made it (several keys allow rotation: the first seals, all
 * open), else `undefined`. Never throws on hostile input.
 */
export function openToken (keys: readonly Uint8Array[], blob: string): TokenState | undefined {
  let bytes: Buffer
  try {
    bytes = Buffer.from(fromBase64url(blob, 'token'))
  } catch {
    return undefined
  }
  if (bytes.byteLength <= MAC_BYTES) {
    return undefined
  }
  const json = bytes.subarray(MAC_BYTES)
  if (!keys.some(key => timingSafeEqual(mac(key, json), bytes.subarray(0, MAC_BYTES)))) {
    return undefined
  }
  try {
    const state = JSON.parse(json.toString('utf8')) as TokenState
    return typeof state === 'object' && state != null && typeof state.hostname === 'string' && typeof state['created-time'] === 'string' ? state : undefined
  } catch {
    return undefined
  }
}

/** Whether a blob created at `state['created-time']` is older than `ttl` ms at `now` (or from the future, or undated). */
export function isExpired (state: TokenState, ttl: number, now: number): boolean {
  const created = Date.parse(state['created-time'])
  return !Number.isFinite(created) || created > now + 60_000 || now - created >= ttl
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const MAX_DURATION = 100 * 365 * UNITS.d

/**
 * Milliseconds from a number (ms) or a duration such as `'90s'`, `'5m'`, `'1h'`, `'1d'`.
 *
 * @throws {TypeError} for anything else
 */
export function parseDuration (value: number | string): number {
  let ms: number | undefined
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    ms = value
  } else {
    const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value) : null
    if (match != null) ms = Number(match[1]) * UNITS[match[2]]
  }
  if (ms == null) {
    throw new TypeError(`not a duration: ${String(value)} (a number of ms, or e.g. '30s', '5m', '1h', '1d')`)
  }
  // an `expires` timestamp must stay a valid date: refused here rather than as a 500 on every handshake
  if (ms > MAX_DURATION) {
    throw new TypeError(`duration ${String(value)} is over 100 years`)
  }
  return ms
}

