/**
 * X25519 for a js-libp2p node's noise handshakes without re-importing a DER key for every
 * Diffie-Hellman. `@chainsafe/libp2p-noise`'s Node crypto (17.0.0) turns each raw private key into a
 * PKCS#8 DER document and imports it (`crypto.createPrivateKey`) for every DH, and each public key from
 * SPKI DER. Under Node 20's OpenSSL 3.0 a PKCS#8 import costs ~370 µs and an SPKI one ~80 µs, so a DH
 * costs ~450–490 µs where the operation itself is ~36 µs; a handshake makes three on each side, on the
 * critical path of every first request to a peer (`bench/noise-dh.ts`). Node 22 and 24 import in ~40 µs.
 *
 * {@link withKeptX25519Keys} makes the key pairs noise asks for as Node `KeyObject`s and keeps them (a
 * `WeakMap` from the raw private key noise holds to its `KeyObject`, the bytes compared at each use),
 * and imports the peer's public key from a JWK (~7 µs). The bytes on the wire are the same; everything
 * else is the crypto it wraps.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, timingSafeEqual } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

/** Bytes as noise hands them over: a `Uint8Array`, or its (uint8arraylist) list of them. */
type NoiseBytes = Uint8Array | { subarray: () => Uint8Array }

/** A noise key pair: raw 32-byte X25519 keys. */
interface NoiseKeyPair {
  publicKey: Uint8Array
  privateKey: Uint8Array
}

/**
 * The X25519 part of `@chainsafe/libp2p-noise`'s `ICryptoInterface` (its documented `crypto` option).
 * Methods, not function properties: noise's own interface takes its `Uint8ArrayList` where this names
 * only what is used of it, and method parameters are compared both ways.
 */
export interface NoiseX25519 {
  generateX25519KeyPair (): NoiseKeyPair
  generateX25519KeyPairFromSeed (seed: Uint8Array): NoiseKeyPair
  generateX25519SharedKey (privateKey: NoiseBytes, publicKey: NoiseBytes): Uint8Array
}

/**
 * The DER prefix of an X25519 private key in PKCS#8 (RFC 8410 section 7), the raw 32 bytes following:
 * for a seed and a private key this module did not make (imported once), and to read the keys it makes.
 */
const PKCS8_X25519_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])

/** The length of the DER prefix of an X25519 public key in SPKI (RFC 8410 section 4), the raw 32 bytes following. */
const SPKI_X25519_PREFIX_LENGTH = 12

/** A kept `KeyObject` and a copy of the bytes it was made from (or imported from). */
interface Kept {
  key: KeyObject
  bytes: Uint8Array
}

/**
 * The `KeyObject` of each raw private key handed to noise (or imported once), keyed by the array's
 * identity. The bytes are kept too and compared at each use: an array is mutable, and one overwritten in
 * place (a caller reusing a buffer, a noise that zeroes or reuses its keys) must never get the
 * `KeyObject` of the bytes it held before, which would agree on a wrong secret without any error.
 */
const privateKeys = new WeakMap<Uint8Array, Kept>()

function bytesOf (data: NoiseBytes): Uint8Array {
  return data instanceof Uint8Array ? data : data.subarray()
}

/** Remembers `key` for `raw`, with a copy of `raw`'s bytes. */
function keep (raw: Uint8Array, key: KeyObject): void {
  const bytes = new Uint8Array(raw.byteLength)
  bytes.set(raw)
  privateKeys.set(raw, { key, bytes })
}

/**
 * `privateKey` as noise's raw key pair, remembered for its DHs. Exported as DER, never as a JWK: under
 * Node 20 a private JWK export of a key from `generateKeyPairSync` holds the key's mutex while it
 * allocates, and a garbage collection then that collects the key's generation job locks the same mutex
 * in the job's destructor, freezing the process (within a few thousand key pairs). The private key is
 * copied into memory of its own, the export zeroed.
 */
function keyPairOf (privateKey: KeyObject, publicKey: KeyObject): NoiseKeyPair {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' })
  const raw = new Uint8Array(32)
  raw.set(der.subarray(PKCS8_X25519_PREFIX.byteLength, PKCS8_X25519_PREFIX.byteLength + 32))
  der.fill(0)
  keep(raw, privateKey)
  return { publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519_PREFIX_LENGTH), privateKey: raw }
}

function importPrivateKey (raw: Uint8Array): KeyObject {
  const der = Buffer.alloc(PKCS8_X25519_PREFIX.byteLength + raw.byteLength)
  der.set(PKCS8_X25519_PREFIX)
  der.set(raw, PKCS8_X25519_PREFIX.byteLength)
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  der.fill(0)
  keep(raw, key)
  return key
}

/** The `KeyObject` of `raw`'s bytes as they are now: the kept one if they have not changed, else imported. */
function privateKeyOf (raw: Uint8Array): KeyObject {
  const kept = privateKeys.get(raw)
  if (kept != null && kept.bytes.byteLength === raw.byteLength && timingSafeEqual(kept.bytes, raw)) return kept.key
  return importPrivateKey(raw)
}

/**
 * `crypto` (noise's `defaultCrypto`, or any `ICryptoInterface`) with its X25519 on kept Node
 * `KeyObject`s: about 2.5–3 ms less CPU per new connection (both ends) under Node 20, the same handshake
 * on the wire. The command's node uses it; for your own node:
 *
 * ```ts
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
 * import { withKeptX25519Keys } from 'libp2phttp'
 *
 * const libp2p = await createLibp2p({ connectionEncrypters: [noise({ crypto: withKeptX25519Keys(defaultCrypto) })], … })
 * ```
 */
export function withKeptX25519Keys<C extends NoiseX25519> (crypto: C): C {
  const x25519: NoiseX25519 = {
    generateX25519KeyPair () {
      const { privateKey, publicKey } = generateKeyPairSync('x25519')
      return keyPairOf(privateKey, publicKey)
    },
    generateX25519KeyPairFromSeed (seed) {
      const privateKey = importPrivateKey(seed)
      return keyPairOf(privateKey, createPublicKey(privateKey))
    },
    generateX25519SharedKey (privateKey, publicKey) {
      const raw = bytesOf(privateKey)
      const key = privateKeyOf(raw)
      const peer = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(bytesOf(publicKey)).toString('base64url') }, format: 'jwk' })
      return diffieHellman({ privateKey: key, publicKey: peer })
    }
  }
  return { ...crypto, ...x25519 }
}
