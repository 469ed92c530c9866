/**
 * Response `Content-Encoding` decoders as undici's `fetch` builds them (`lib/web/fetch/index.js`,
 * undici 7.30): the codings of the header, case-folded, decoded last-applied first; `gzip`/`x-gzip`,
 * `deflate` (zlib-wrapped or raw, told apart by the first byte as undici's `InflateStream` does), `br`,
 * and `zstd` where Node has it, each with undici's lenient flush options; a coding it does not know
 * means none is decoded (the body is given as sent); more than five codings fail the request. zlib does
 * the decoding.
 *
 * @module
 */
import { Transform } from 'node:stream'
import zlib from 'node:zlib'
import type { TransformCallback } from 'node:stream'

/** undici's bound on the codings of one response (its fix after urllib3's GHSA-gm62-xv2j-4w53). */
const MAX_CONTENT_ENCODINGS = 5

/** zlib's options as undici passes them: sync flush, as browsers and curl accept slightly truncated bodies. */
const ZLIB_OPTIONS = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }
const BROTLI_OPTIONS = { flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }

/** `deflate` as servers send it: zlib-wrapped (RFC 1950, what RFC 9110 §8.4.1.2 means) or raw (RFC 1951). */
class Inflate extends Transform {
  #inflate: zlib.Inflate | zlib.InflateRaw | undefined

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#inflate == null) {
      if (chunk.length === 0) {
        callback()
        return
      }
      // a zlib header's first byte has compression method 8 (deflate) in its low nibble
      const inflate = this.#inflate = (chunk[0] & 0x0F) === 0x08 ? zlib.createInflate(ZLIB_OPTIONS) : zlib.createInflateRaw(ZLIB_OPTIONS)
      inflate.on('data', (data: Buffer) => this.push(data))
      inflate.on('end', () => this.push(null))
      inflate.on('error', (err) => this.destroy(err))
    }
    this.#inflate.write(chunk, callback)
  }

  override _final (callback: TransformCallback): void {
    this.#inflate?.end()
    callback()
  }

  override _destroy (err: Error | null, callback: (error?: Error | null) => void): void {
    this.#inflate?.destroy()
    callback(err)
  }
}

/**
 * The decoders for a response's `content-encoding` value, in the order to pipe the body through; empty
 * when nothing is decoded; an `Error` when there are too many codings (the request fails with it).
 */
export function contentDecoders (contentEncoding: string | undefined): Transform[] | Error {
  if (contentEncoding == null || contentEncoding === '') {
    return []
  }
  const codings = contentEncoding.toLowerCase().split(',')
  if (codings.length > MAX_CONTENT_ENCODINGS) {
    return new Error(`too many content-encodings in response: ${codings.length}, maximum allowed is ${MAX_CONTENT_ENCODINGS}`)
  }
  const decoders: Transform[] = []
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i].trim()
    if (coding === 'gzip' || coding === 'x-gzip') {
      decoders.push(zlib.createGunzip(ZLIB_OPTIONS))
    } else if (coding === 'deflate') {
      decoders.push(new Inflate())
    } else if (coding === 'br') {
      decoders.push(zlib.createBrotliDecompress(BROTLI_OPTIONS))
    } else if (coding === 'zstd' && typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function') {
      const { createZstdDecompress, constants } = zlib as unknown as { createZstdDecompress: (options: object) => Transform, constants: Record<string, number> }
      decoders.push(createZstdDecompress({ flush: constants.ZSTD_e_continue, finishFlush: constants.ZSTD_e_end }))
    } else {
      for (const decoder of decoders) decoder.destroy()
      return []
    }
  }
  return decoders
}
