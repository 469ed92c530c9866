/**
 * The `libp2p-PeerID` header syntax: RFC 9110 §11.2 `auth-param`s after the scheme name, and the
 * base64url (RFC 4648 §5) encoding of every binary parameter.
 *
 * @module
 */
import { base64url } from 'multiformats/bases/base64'
import { PeerAuthHeaderError } from '../errors.js'

/** The HTTP authentication scheme of Peer ID Authentication. */
export const PEER_ID_AUTH_SCHEME = 'libp2p-PeerID'

/** Longest auth header accepted (the spec's suggested cap; go and @libp2p/http enforce it too). */
export const MAX_AUTH_HEADER_BYTES = 2048

/** Shortest challenge this implementation signs (go-libp2p's rule; the spec sets none). */
export const MIN_CHALLENGE_LENGTH = 32

/** Auth parameters by (lowercased) name. */
export type AuthParams = Record<string, string>

// RFC 9110 §5.6.2 tchar
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Whether `header` uses the `libp2p-PeerID` scheme (scheme names are case-insensitive, RFC 9110 §11.1). */
export function isPeerIdAuth (header: string | undefined): header is string {
  return header != null && header.slice(0, PEER_ID_AUTH_SCHEME.length + 1).toLowerCase() === `${PEER_ID_AUTH_SCHEME.toLowerCase()} `
}

/**
 * Parse `libp2p-PeerID name="value", name=value …`: values quoted (with `\` escapes) or tokens,
 * parameters separated by commas and/or spaces (the spec's `Authentication-Info` examples omit commas).
 *
 * @throws {PeerAuthHeaderError} over {@link MAX_AUTH_HEADER_BYTES}, another scheme, bad syntax, a repeated name
 */
export function parseAuthHeader (header: string): AuthParams {
  if (header.length > MAX_AUTH_HEADER_BYTES || new TextEncoder().encode(header).byteLength > MAX_AUTH_HEADER_BYTES) {
    throw new PeerAuthHeaderError(`the ${PEER_ID_AUTH_SCHEME} header is over ${MAX_AUTH_HEADER_BYTES} bytes`)
  }
  if (!isPeerIdAuth(header)) {
    throw new PeerAuthHeaderError(`not a ${PEER_ID_AUTH_SCHEME} header`)
  }
  const params: AuthParams = Object.create(null)
  const text = header.slice(PEER_ID_AUTH_SCHEME.length + 1)
  let i = 0
  const skipSeparators = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === ',')) i++
  }
  skipSeparators()
  while (i < text.length) {
    const eq = text.indexOf('=', i)
    const name = eq < 0 ? '' : text.slice(i, eq).trim().toLowerCase()
    if (!TOKEN.test(name)) {
      throw new PeerAuthHeaderError(`malformed auth-param at offset ${i}`)
    }
    i = eq + 1
    while (text[i] === ' ' || text[i] === '\t') i++
    let value = ''
    if (text[i] === '"') {
      i++
      for (;;) {
        if (i >= text.length) {
          throw new PeerAuthHeaderError(`unterminated quoted value of ${name}`)
        }
        const c = text[i++]
        if (c === '"') break
        value += c === '\\' && i < text.length ? text[i++] : c
      }
    } else {
      const start = i
      while (i < text.length && text[i] !== ',' && text[i] !== ' ' && text[i] !== '\t') i++
      value = text.slice(start, i)
      if (!TOKEN.test(value)) {
        throw new PeerAuthHeaderError(`malformed value of ${name}`)
      }
    }
    if (name in params) {
      // two values for one name could be read differently by two parsers: refuse
      throw new PeerAuthHeaderError(`${name} appears twice`)
    }
    params[name] = value
    const before = i
    skipSeparators()
    if (i === before && i < text.length) {
      throw new PeerAuthHeaderError(`missing separator after ${name}`)
    }
  }
  return params
}

/** `libp2p-PeerID a="…", b="…"`: every value quoted, in the given order, comma-separated (what go parses). */
export function formatAuthHeader (params: Array<[string, string]>): string {
  return `${PEER_ID_AUTH_SCHEME} ${params.map(([name, value]) => `${name}="${value.replace(/["\\]/g, '\\$&')}"`).join(', ')}`
}

/** Padded base64url: go-libp2p cannot decode unpadded input. */
export function toBase64url (bytes: Uint8Array): string {
  return base64url.baseEncode(bytes).padEnd(Math.ceil(bytes.byteLength / 3) * 4, '=')
}

/**
 * Decode base64url, padded or not (the spec allows both). Strict: any character outside the
 * alphabet, a misplaced `=` or an impossible length is refused (Node's decoder would skip them).
 *
 * @throws {PeerAuthHeaderError}
 */
export function fromBase64url (text: string, what: string): Uint8Array {
  const bare = text.replace(/={1,2}$/, '')
  if (!/^[A-Za-z0-9_-]*$/.test(bare) || bare.length % 4 === 1 || (bare.length !== text.length && text.length % 4 !== 0)) {
    throw new PeerAuthHeaderError(`${what} is not base64url`)
  }
  try {
    return base64url.baseDecode(bare)
  } catch {
    throw new PeerAuthHeaderError(`${what} is not base64url`)
  }
}

/** The value of `name`, or a header error naming it. */
export function required (params: AuthParams, name: string): string {
  const value = params[name]
  if (value == null || value === '') {
    throw new PeerAuthHeaderError(`missing ${name}`)
  }
  return value
}
