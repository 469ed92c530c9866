/**
 * The bytes Peer ID Authentication signs (spec §Signing): `libp2p-PeerID`, then each `name=value` part
 * in byte-wise order of name, each preceded by its length as an unsigned varint. Strings are UTF-8
 * (a challenge is signed as the base64 text seen in the header), public keys their raw protobuf bytes.
 *
 * @module
 */
import { varint } from 'multiformats'
import { PEER_ID_AUTH_SCHEME } from './params.js'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

/** One signed field: `[name, value]`. */
export type SignedPart = [string, string | Uint8Array]

/** The exact bytes signed for `parts`. */
export function dataToSign (parts: SignedPart[]): Uint8Array {
  const encoder = new TextEncoder()
  const chunks: Uint8Array[] = [encoder.encode(PEER_ID_AUTH_SCHEME)]
  // sorted by the bytes of the names (the spec's order), not by UTF-16 code units
  const named = parts.map(([name, value]) => ({ name: encoder.encode(name), value: typeof value === 'string' ? encoder.encode(value) : value }))
  named.sort((a, b) => compareBytes(a.name, b.name))
  for (const { name, value } of named) {
    const item = concat([name, EQUALS, value])
    chunks.push(varint.encodeTo(item.byteLength, new Uint8Array(varint.encodingLength(item.byteLength))), item)
  }
  return concat(chunks)
}

const EQUALS = Uint8Array.of(0x3d)

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i]
  }
  return a.length - b.length
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return out
}

/** Sign `parts` with `key`, by the algorithm of its key type. */
export async function signParts (key: PrivateKey, parts: SignedPart[]): Promise<Uint8Array> {
  return await key.sign(dataToSign(parts))
}

/** Whether `sig` is `key`'s signature over `parts`; a malformed signature is `false`, never a throw. */
export async function verifyParts (key: PublicKey, parts: SignedPart[], sig: Uint8Array): Promise<boolean> {
  try {
    return await key.verify(dataToSign(parts), sig)
  } catch {
    return false
  }
}
