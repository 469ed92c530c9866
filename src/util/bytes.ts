/**
 * Byte arrays joined, without Node's `Buffer` (the Web path and the Node path share it).
 *
 * @module
 */

/** `parts` joined into one array; a single part is returned as it is (no copy). */
export function concatBytes (parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]
  let length = 0
  for (const part of parts) length += part.byteLength
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return out
}
