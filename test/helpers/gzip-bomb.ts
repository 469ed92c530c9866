/**
 * A gzip bomb: 256 MiB of zeros, gzipped (about 260 KB). Built once per test file, streamed through
 * zlib so that the 256 MiB are never in memory at once.
 */
import { createGzip } from 'node:zlib'

export const BOMB_DECODED_SIZE = 256 * 1024 * 1024

let cached: Promise<Buffer> | undefined

export async function gzipBomb (): Promise<Buffer> {
  cached ??= (async () => {
    const gzip = createGzip({ level: 9 })
    const chunks: Buffer[] = []
    gzip.on('data', (chunk: Buffer) => { chunks.push(chunk) })
    const done = new Promise(resolve => gzip.on('end', resolve))
    const zeros = Buffer.alloc(1024 * 1024)
    for (let written = 0; written < BOMB_DECODED_SIZE; written += zeros.length) {
      if (!gzip.write(zeros)) await new Promise(resolve => gzip.once('drain', resolve))
    }
    gzip.end()
    await done
    return Buffer.concat(chunks)
  })()
  return await cached
}
