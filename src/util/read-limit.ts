/**
 * Reading a body without trusting its size.
 *
 * @module
 */
import { concatBytes } from './bytes.js'

/**
 * Read `body` whole if it holds at most `limit` bytes. Past the limit the stream is cancelled (its
 * source stops sending) and `undefined` is returned; at most one chunk beyond the limit is ever held.
 */
export async function readAtMost (body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | undefined> {
  if (body == null) {
    return new Uint8Array(0)
  }
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      size += next.value.byteLength
      if (size > limit) {
        await reader.cancel(new Error(`body larger than ${limit} bytes`)).catch(() => {})
        return undefined
      }
      chunks.push(next.value)
    }
  } finally {
    reader.releaseLock()
  }
  return chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks)
}
