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
  const chunks: Buffer[] = [Buffer.from(PEER_ID_AUTH_SCHEME)]
  const sorted = [...parts].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  for (const [name, value] of sorted) {
    const item = Buffer.concat([Buffer.from(`${name}=`), typeof value === 'string' ? Buffer.from(value, 'utf8') : value])
    chunks.push(Buffer.from(varint.encodeTo(item.byteLength, new Uint8Array(varint.encodingLength(item.byteLength)))), item)
  }
  return new Uint8Array(Buffer.concat(chunks))
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
