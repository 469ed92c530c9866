/**
 * Just enough CARv1 (https://ipld.io/specs/transport/car/carv1/) to check what a trustless gateway sent:
 * the header's bytes and each block, every block's bytes hashed and compared with its CID's digest.
 */
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

export interface CarBlock { cid: CID, bytes: Uint8Array }

/** An unsigned LEB128 varint (multiformats' own varint is not exported) and the bytes after it. */
function varint (bytes: Uint8Array): [number, Uint8Array] {
  let value = 0
  for (let i = 0; i < 9 && i < bytes.length; i++) {
    value += (bytes[i] & 0x7f) * 2 ** (7 * i)
    if ((bytes[i] & 0x80) === 0) return [value, bytes.subarray(i + 1)]
  }
  throw new Error('bad varint in the CAR')
}

/** The header's dag-cbor bytes and the blocks, in order. */
export function readCar (car: Uint8Array): { header: Uint8Array, blocks: CarBlock[] } {
  let [length, rest] = varint(car)
  const header = rest.subarray(0, length)
  rest = rest.subarray(length)
  const blocks: CarBlock[] = []
  while (rest.length > 0) {
    [length, rest] = varint(rest)
    const section = rest.subarray(0, length)
    rest = rest.subarray(length)
    const [cid, bytes] = CID.decodeFirst(section)
    blocks.push({ cid, bytes })
  }
  return { header, blocks }
}

/** Whether `bytes` are what `cid` names (sha2-256 CIDs only). */
export async function matchesCid (cid: CID, bytes: Uint8Array): Promise<boolean> {
  if (cid.multihash.code !== sha256.code) throw new Error(`not a sha2-256 CID: ${cid.toString()}`)
  const digest = await sha256.digest(bytes)
  return Buffer.from(digest.digest).equals(Buffer.from(cid.multihash.digest))
}
