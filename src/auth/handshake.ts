/**
 * Peer ID Authentication (`libp2p-PeerID`, libp2p specs `http/peer-id-auth.md`) as pure state machines:
 * header strings in, header strings out. The clock and the randomness are injected, so the spec's
 * example handshakes replay byte for byte.
 *
 * Server: {@link ServerHandshake.respond} answers any `Authorization` value with exactly one outcome
 * (serve, 401 with a fresh challenge, 400). Client: {@link ClientHandshake} starts the client-initiated
 * flow and follows the server-initiated one when the server ignores its challenge (no `sig`).
 *
 * @module
 */
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { PeerAuthHeaderError } from '../errors.js'
import { CHALLENGE_TTL, challengeOf, checkChallenge, publicKeyOf } from './client-handshake.js'
import { MAX_AUTH_HEADER_BYTES, formatAuthHeader, fromBase64url, isPeerIdAuth, parseAuthHeader, required, toBase64url } from './params.js'
import { signParts, verifyParts } from './sign.js'
import { isExpired, openToken, sealToken } from './tokens.js'
import type { HandshakeEnv } from './client-handshake.js'
import type { AuthParams } from './params.js'
import type { TokenState } from './tokens.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

// the client side and what both sides share live in a module without Node imports (browsers run it)
export { CHALLENGE_TTL, ClientHandshake } from './client-handshake.js'
export type { ClientHandshakeOptions, HandshakeEnv, IssuedToken } from './client-handshake.js'

function rfc3339 (ms: number): string {
  return new Date(ms).toISOString()
}

/** Options of {@link ServerHandshake}. */
export interface ServerHandshakeOptions extends HandshakeEnv {
  /** The server's identity key. */
  privateKey: PrivateKey
  /** HMAC keys for `opaque` and `bearer`: the first seals, every one opens (rotation). */
  hmacKeys: readonly Uint8Array[]
  /** How long a bearer token is accepted, in ms. */
  tokenTTL: number
  /**
   * Add the advisory `expires` parameter to `Authentication-Info`.
   *
   * @default true
   */
  expires?: boolean
}

/** What the server does with a request. */
export type ServerOutcome =
  /** Serve it: the client is `peer`; send `authenticationInfo` (when set) as `Authentication-Info`. */
  | { type: 'authenticated', peer: PeerId, authenticationInfo?: string }
  /** Answer 401 with `wwwAuthenticate` as `WWW-Authenticate`. */
  | { type: 'challenge', wwwAuthenticate: string, reason: string }
  /** Answer 400: the request cannot be part of a handshake. */
  | { type: 'invalid', reason: string }

/** The server side, stateless: everything it must remember travels in HMAC-sealed `opaque` and `bearer`. */
export class ServerHandshake {
  readonly #init: ServerHandshakeOptions
  readonly #publicKeyBytes: Uint8Array
  readonly #publicKey: string

  constructor (init: ServerHandshakeOptions) {
    if (init.hmacKeys.length === 0) {
      throw new TypeError('at least one HMAC key is needed')
    }
    this.#init = init
    this.#publicKeyBytes = publicKeyToProtobuf(init.privateKey.publicKey)
    this.#publicKey = toBase64url(this.#publicKeyBytes)
  }

  /** A fresh server-initiated challenge (`WWW-Authenticate` value) for `hostname`. */
  challenge (hostname: string): string {
    const challenge = challengeOf(this.#init)
    const opaque = this.#seal({ 'challenge-client': challenge, hostname, 'created-time': rfc3339(this.#init.now()) })
    return formatAuthHeader([['challenge-client', challenge], ['public-key', this.#publicKey], ['opaque', opaque]])
  }

  /**
   * The outcome of a request to `hostname` carrying `authorization` (the `Authorization` header, if any).
   * A bad signature, a stale or foreign token, another hostname's state: 401 with a fresh challenge
   * (the spec's MUST). A header that cannot be part of any handshake: 400.
   */
  async respond (authorization: string | undefined, hostname: string): Promise<ServerOutcome> {
    if (!isPeerIdAuth(authorization)) {
      return this.#unauthorized(hostname, authorization == null ? 'no Authorization header' : 'another authentication scheme')
    }
    try {
      const params = parseAuthHeader(authorization)
      if (params.bearer != null) {
        return this.#bearer(params.bearer, hostname)
      }
      if (params.opaque != null) {
        return await this.#answered(params, hostname)
      }
      if (params['challenge-server'] != null) {
        return await this.#clientInitiated(params, hostname)
      }
      return { type: 'invalid', reason: 'a libp2p-PeerID header with none of bearer, opaque, challenge-server' }
    } catch (err) {
      if (err instanceof PeerAuthHeaderError) {
        return { type: 'invalid', reason: err.message }
      }
      throw err
    }
  }

  #seal (state: TokenState): string {
    return sealToken(this.#init.hmacKeys[0], state)
  }

  #unauthorized (hostname: string, reason: string): ServerOutcome {
    return { type: 'challenge', wwwAuthenticate: this.challenge(hostname), reason }
  }

  #bearer (bearer: string, hostname: string): ServerOutcome {
    const state = openToken(this.#init.hmacKeys, bearer)
    if (state?.['is-token'] !== true || typeof state['peer-id'] !== 'string') {
      return this.#unauthorized(hostname, 'not a bearer token of this server')
    }
    if (state.hostname !== hostname) {
      return this.#unauthorized(hostname, `a token for ${state.hostname}`)
    }
    if (isExpired(state, this.#init.tokenTTL, this.#init.now())) {
      return this.#unauthorized(hostname, 'the token has expired')
    }
    try {
      return { type: 'authenticated', peer: peerIdFromString(state['peer-id']) }
    } catch {
      return this.#unauthorized(hostname, 'the token names no peer')
    }
  }

  /** Client-initiated step 1 → step 2: sign the client's challenge, challenge it back. */
  async #clientInitiated (params: AuthParams, hostname: string): Promise<ServerOutcome> {
    const challengeServer = checkChallenge(params['challenge-server'], 'challenge-server')
    const client = await publicKeyOf(required(params, 'public-key'), 'public-key')
    const sig = await signParts(this.#init.privateKey, [['challenge-server', challengeServer], ['client-public-key', client.bytes], ['hostname', hostname]])
    const challenge = challengeOf(this.#init)
    const opaque = this.#seal({
      'client-public-key': Buffer.from(client.bytes).toString('base64'),
      'challenge-client': challenge,
      hostname,
      'created-time': rfc3339(this.#init.now())
    })
    const wwwAuthenticate = formatAuthHeader([['challenge-client', challenge], ['public-key', this.#publicKey], ['sig', toBase64url(sig)], ['opaque', opaque]])
    if (Buffer.byteLength(wwwAuthenticate) > MAX_AUTH_HEADER_BYTES) {
      // large keys (RSA) on both sides: the client would refuse it; the plain server-initiated
      // challenge is smaller, and the spec lets a server answer a client-initiated attempt with it
      return this.#unauthorized(hostname, 'client-initiated challenge too large; server-initiated instead')
    }
    return { type: 'challenge', reason: 'client-initiated handshake', wwwAuthenticate }
  }

  /** Step 3 of either flow: the client answered our challenge. */
  async #answered (params: AuthParams, hostname: string): Promise<ServerOutcome> {
    const clientSig = fromBase64url(required(params, 'sig'), 'sig')
    const state = openToken(this.#init.hmacKeys, params.opaque)
    if (state == null || state['is-token'] === true || typeof state['challenge-client'] !== 'string') {
      return this.#unauthorized(hostname, 'opaque is not a challenge of this server')
    }
    if (isExpired(state, CHALLENGE_TTL, this.#init.now())) {
      return this.#unauthorized(hostname, 'the challenge has expired')
    }
    if (state.hostname !== hostname) {
      return this.#unauthorized(hostname, `a challenge for ${state.hostname}`)
    }
    const clientInitiated = state['client-public-key'] != null
    const client = clientInitiated
      ? await publicKeyOf(Buffer.from(state['client-public-key'] ?? '', 'base64').toString('base64url'), 'client-public-key')
      : await publicKeyOf(required(params, 'public-key'), 'public-key')
    const challengeServer = clientInitiated ? undefined : checkChallenge(required(params, 'challenge-server'), 'challenge-server')
    const valid = await verifyParts(client.key, [['challenge-client', state['challenge-client']], ['hostname', hostname], ['server-public-key', this.#publicKeyBytes]], clientSig)
    if (!valid) {
      return this.#unauthorized(hostname, 'the client signature does not verify')
    }
    const peer = client.peer
    const now = this.#init.now()
    const info: Array<[string, string]> = []
    if (challengeServer != null) {
      const sig = await signParts(this.#init.privateKey, [['challenge-server', challengeServer], ['client-public-key', client.bytes], ['hostname', hostname]])
      info.push(['sig', toBase64url(sig)])
    }
    info.push(['bearer', this.#seal({ 'is-token': true, 'peer-id': peer.toString(), hostname, 'created-time': rfc3339(now) })])
    if (this.#init.expires !== false) {
      info.push(['expires', rfc3339(now + this.#init.tokenTTL)])
    }
    return { type: 'authenticated', peer, authenticationInfo: formatAuthHeader(info) }
  }
}
