/**
 * The client side of Peer ID Authentication (`libp2p-PeerID`, libp2p specs `http/peer-id-auth.md`) as a
 * pure state machine, and what both sides share: header strings in, header strings out, the clock and
 * the randomness injected. No Node imports: the Web path's native fetch (`web/native-fetch.ts`) runs it
 * in browsers. The server side is in `handshake.ts`.
 *
 * @module
 */
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { PeerAuthError, PeerAuthHeaderError } from '../errors.js'
import { MIN_CHALLENGE_LENGTH, formatAuthHeader, fromBase64url, parseAuthHeader, required, toBase64url } from './params.js'
import { signParts, verifyParts } from './sign.js'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

/** The clock and the randomness a handshake uses. */
export interface HandshakeEnv {
  /** Milliseconds since the epoch. */
  now: () => number
  /** `n` random bytes; challenges are made of 32. */
  randomBytes: (n: number) => Uint8Array
}

/** How long a challenge (`opaque`) may be answered: go-libp2p's fixed 5 minutes. */
export const CHALLENGE_TTL = 5 * 60_000

const CHALLENGE_BYTES = 32

/** @internal A fresh challenge. */
export function challengeOf (env: HandshakeEnv): string {
  return toBase64url(env.randomBytes(CHALLENGE_BYTES))
}

/** @internal A challenge long enough, or a header error naming it. */
export function checkChallenge (challenge: string, name: string): string {
  if (challenge.length < MIN_CHALLENGE_LENGTH) {
    throw new PeerAuthHeaderError(`${name} is shorter than ${MIN_CHALLENGE_LENGTH} characters`)
  }
  return challenge
}

/**
 * A peer's public key from its header value: a key type that can name a peer (not ECDSA), and for RSA
 * the sizes go's `crypto/rsa` accepts (2048–8192-bit modulus, exponent 65537), so a key chosen to be slow
 * to verify (a huge exponent) cannot make every request expensive. The RSA parameters are read with
 * WebCrypto (`importKey` of the SPKI form), in Node and in browsers alike.
 *
 * @internal
 */
export async function publicKeyOf (encoded: string, what: string): Promise<{ key: PublicKey, bytes: Uint8Array, peer: PeerId }> {
  const bytes = fromBase64url(encoded, what)
  let key: PublicKey
  let peer: PeerId
  try {
    key = publicKeyFromProtobuf(bytes)
    peer = peerIdFromPublicKey(key)
  } catch {
    throw new PeerAuthHeaderError(`${what} is not a libp2p public key of a type that names a peer`)
  }
  if (key.type === 'RSA') {
    let algorithm: { modulusLength?: number, publicExponent?: Uint8Array }
    try {
      const imported = await globalThis.crypto.subtle.importKey('spki', key.raw as Uint8Array<ArrayBuffer>, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['verify'])
      algorithm = imported.algorithm as { modulusLength?: number, publicExponent?: Uint8Array }
    } catch {
      throw new PeerAuthHeaderError(`${what} is not a usable RSA key`)
    }
    const bits = algorithm.modulusLength ?? 0
    if (bits < 2048 || bits > 8192 || !isF4(algorithm.publicExponent)) {
      throw new PeerAuthHeaderError(`${what}: RSA keys must have a 2048–8192-bit modulus and exponent 65537`)
    }
  }
  return { key, bytes, peer }
}

/** Whether a big-endian exponent is 65537 (leading zero bytes allowed). */
function isF4 (exponent: Uint8Array | undefined): boolean {
  if (exponent == null) return false
  const digits = exponent.subarray(exponent.findIndex(b => b !== 0))
  return digits.length === 3 && digits[0] === 1 && digits[1] === 0 && digits[2] === 1
}
/** Options of {@link ClientHandshake}. */
export interface ClientHandshakeOptions extends HandshakeEnv {
  /** The client's identity key. */
  privateKey: PrivateKey
  /** What the signatures bind: the `Host` the requests carry. */
  hostname: string
}

/** A token the server issued. */
export interface IssuedToken {
  bearer: string
  /** The authenticated server. */
  serverPeer: PeerId
  /** The server's advisory expiry (ms since the epoch), when it sent one. */
  expires?: number
}

/**
 * The client side of one handshake: {@link start} (client-initiated step 1), {@link respond} to the
 * server's `WWW-Authenticate`, {@link finish} with its `Authentication-Info`.
 */
export class ClientHandshake {
  readonly #init: ClientHandshakeOptions
  readonly #publicKeyBytes: Uint8Array
  readonly #publicKey: string
  #challengeServer: string | undefined
  #serverKey: Awaited<ReturnType<typeof publicKeyOf>> | undefined
  #responded = false
  /** The server's peer id once its signature has verified. */
  serverPeer: PeerId | undefined

  constructor (init: ClientHandshakeOptions) {
    this.#init = init
    this.#publicKeyBytes = publicKeyToProtobuf(init.privateKey.publicKey)
    this.#publicKey = toBase64url(this.#publicKeyBytes)
  }

  /** Client-initiated step 1: the `Authorization` value that challenges the server. */
  start (): string {
    this.#challengeServer = challengeOf(this.#init)
    return formatAuthHeader([['challenge-server', this.#challengeServer], ['public-key', this.#publicKey]])
  }

  /**
   * The `Authorization` value answering the server's `WWW-Authenticate`. With a `sig` (the server took our
   * challenge) the signature is verified first and {@link serverPeer} set; without one the server
   * started its own flow, and we challenge it in return.
   *
   * @throws {PeerAuthHeaderError} | {PeerAuthError}
   */
  async respond (wwwAuthenticate: string): Promise<string> {
    if (this.#responded) {
      throw new PeerAuthError('the server challenged again after our answer')
    }
    this.#responded = true
    const params = parseAuthHeader(wwwAuthenticate)
    const challengeClient = checkChallenge(required(params, 'challenge-client'), 'challenge-client')
    const opaque = required(params, 'opaque')
    this.#serverKey = await publicKeyOf(required(params, 'public-key'), 'public-key')
    const sig = toBase64url(await signParts(this.#init.privateKey, [['challenge-client', challengeClient], ['hostname', this.#init.hostname], ['server-public-key', this.#serverKey.bytes]]))
    if (params.sig != null && this.#challengeServer != null) {
      await this.#verifyServer(params.sig)
      return formatAuthHeader([['opaque', opaque], ['sig', sig]])
    }
    this.#challengeServer = challengeOf(this.#init)
    return formatAuthHeader([['public-key', this.#publicKey], ['challenge-server', this.#challengeServer], ['sig', sig], ['opaque', opaque]])
  }

  /**
   * Read the server's `Authentication-Info`: verify its signature if not done yet, and return the token.
   *
   * @throws {PeerAuthHeaderError} | {PeerAuthError}
   */
  async finish (authenticationInfo: string): Promise<IssuedToken> {
    const params = parseAuthHeader(authenticationInfo)
    if (this.serverPeer == null) {
      if (params.sig == null) {
        throw new PeerAuthError('the server answered without sig: its peer id is not proven')
      }
      await this.#verifyServer(params.sig)
    }
    const serverPeer = this.serverPeer
    if (serverPeer == null) {
      throw new PeerAuthError('the server is not authenticated')
    }
    const expires = params.expires == null ? undefined : Date.parse(params.expires)
    return { bearer: required(params, 'bearer'), serverPeer, expires: expires != null && Number.isFinite(expires) ? expires : undefined }
  }

  async #verifyServer (sig: string): Promise<void> {
    if (this.#serverKey == null || this.#challengeServer == null) {
      throw new PeerAuthError('a server signature arrived before the server sent its key')
    }
    const parts: Array<[string, string | Uint8Array]> = [['challenge-server', this.#challengeServer], ['client-public-key', this.#publicKeyBytes], ['hostname', this.#init.hostname]]
    if (!await verifyParts(this.#serverKey.key, parts, fromBase64url(sig, 'sig'))) {
      throw new PeerAuthError(`the server's signature does not verify for ${this.#init.hostname}`)
    }
    this.serverPeer = this.#serverKey.peer
  }
}
