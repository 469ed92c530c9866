/**
 * `Content-Encoding` decoders as undici's fetch builds them (issue 21); the differential test in
 * `lean-fetch.test.ts` compares whole responses with undici's fetch.
 */
import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { pipeline } from 'node:stream/promises'
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { contentDecoders } from '../../src/client/content-decoding.js'
import type { Transform } from 'node:stream'

async function decode (header: string, bytes: Buffer): Promise<string> {
  const decoders = contentDecoders(header)
  if (decoders instanceof Error) throw decoders
  if (decoders.length === 0) return bytes.toString()
  const out = text(decoders[decoders.length - 1])
  await pipeline(Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]), ...decoders as [Transform])
  return await out
}

describe('contentDecoders', () => {
  it.each([
    ['gzip', gzipSync('abc')],
    ['X-Gzip', gzipSync('abc')],
    ['deflate', deflateSync('abc')],
    ['deflate', deflateRawSync('abc')],
    ['br', brotliCompressSync('abc')],
    ['gzip, br', brotliCompressSync(gzipSync('abc'))],
    [' deflate ,gzip', gzipSync(deflateSync('abc'))]
  ])('%s decodes, last-applied coding first (deflate zlib-wrapped or raw)', async (header, bytes) => {
    expect(await decode(header, bytes)).toBe('abc')
  })

  it('an unknown coding anywhere: nothing is decoded', () => {
    expect(contentDecoders('gzip, x-unknown')).toEqual([])
    expect(contentDecoders('identity')).toEqual([])
    expect(contentDecoders(undefined)).toEqual([])
  })

  it('more than five codings fail the request, as undici does', () => {
    expect(contentDecoders('gzip,gzip,gzip,gzip,gzip')).toHaveLength(5)
    expect(contentDecoders('gzip,gzip,gzip,gzip,gzip,gzip')).toEqual(new Error('too many content-encodings in response: 6, maximum allowed is 5'))
  })
})
