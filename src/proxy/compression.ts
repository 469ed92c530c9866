/**
 * Compression across the peer hop. The peer link is the slow part of a tunnel; the local hops are not.
 * So a consumer whose local client asked for no coding asks the provider for one and decodes the answer
 * ({@link decodeForClient}), and a provider compresses what its upstream sent uncompressed
 * ({@link encodeForCaller}). Node's `zlib` does the coding; `negotiator` reads `Accept-Encoding`.
 *
 * The rules, in the order they are checked (RFC 9110 §8.4, §12.5.3; RFC 9111 §5.2.2.6):
 * 1. A response that says `Cache-Control: no-transform`, or already has a `Content-Encoding`, is left alone.
 * 2. No body to code: 1xx, `204`, `304`; and a `206` or any `Content-Range` (ranges address the
 *    bytes as the upstream has them) is left alone. A `HEAD` answer gets the header fields the coded
 *    `GET` would have (RFC 9110 §9.3.2: a cache or client reads them as the `GET`'s), with no body to code.
 * 3. Only types that compress: `text/*`, JSON, XML, JavaScript and the `+json`/`+xml`/`+text` suffixes;
 *    images, video, archives and unknown types are left alone.
 * 4. A declared `Content-Length` under {@link MIN_COMPRESSED_SIZE} is left alone (the coding's framing
 *    costs more than it saves).
 * 5. Then the caller's `Accept-Encoding` chooses among {@link WIRE_ENCODINGS} (its q-values first, then
 *    our order); none acceptable: left
 *    alone, with `Vary: Accept-Encoding` all the same (another caller would have had it coded).
 *
 * A coded answer loses `Content-Length` (it streams chunked), `Accept-Ranges` and the digests of its
 * bytes, gains `Vary: Accept-Encoding`, and its strong `ETag` becomes weak (`W/"…"`): RFC 9110 §8.8.1
 * makes a strong validator change with the content coding, and a weak one is what the coded and the
 * plain forms share (§8.8.3). Weak, not suffixed: `If-None-Match` compares weakly (§13.1.2), so a
 * cache's revalidation with `W/"x"` still gets the upstream's `304` for `"x"` with nothing rewritten on
 * the way in; nginx's gzip does the same.
 *
 * Each chunk the upstream sends is flushed through the coder on its own (`Z_SYNC_FLUSH` and its
 * brotli/zstd equivalents), so a server-sent event leaves as soon as it came; both sides stream, so
 * memory stays at the coders' windows whatever the body's size.
 *
 * @module
 */
import zlib from 'node:zlib'
import Negotiator from 'negotiator'
import { headerValue } from './headers.js'
import type { Transform } from 'node:stream'

/** A coding the peer hop can carry. */
export type WireEncoding = 'zstd' | 'br' | 'gzip'

/** zlib's zstd functions and constants, present from Node 22.15 / 23.8 (not in Node 20's types). */
const zstd = zlib as unknown as {
  createZstdCompress?: (options?: { flush?: number }) => Transform
  createZstdDecompress?: (options?: { flush?: number }) => Transform
}
const ZSTD_E_FLUSH = (zlib.constants as unknown as Record<string, number | undefined>).ZSTD_e_flush

/**
 * The codings this runtime codes both ways, in our order of preference: zstd where `zlib` has it (Node
 * 22.15+, 23.8+), then gzip, then brotli. Each chunk is flushed on its own, and a brotli flush is dear:
 * 10 MiB of JSON in 16 KiB chunks took brotli (quality 4) about 4× the CPU of gzip (level 6), for a
 * slightly larger result (`bench/compression.ts`, decisions.md). A caller that prefers br by q-value gets br.
 */
export const WIRE_ENCODINGS: readonly WireEncoding[] = [
  ...(typeof zstd.createZstdCompress === 'function' && typeof zstd.createZstdDecompress === 'function' && ZSTD_E_FLUSH != null ? ['zstd' as const] : []),
  'gzip',
  'br'
]

/** The `Accept-Encoding` a consumer asks the provider with. */
export const WIRE_ACCEPT_ENCODING = WIRE_ENCODINGS.join(', ')

/** Bodies declared smaller than this many bytes are sent as they are (nginx's `gzip_min_length` spirit; 1 KiB). */
export const MIN_COMPRESSED_SIZE = 1024

/** `text/*`, and the application types and suffixes that are text (RFC 6839 suffixes). */
const COMPRESSIBLE = /^(?:text\/[^;]+|application\/(?:json|javascript|ecmascript|x-javascript|xml|x-ndjson|ndjson|jsonl|graphql|wasm|x-www-form-urlencoded)|[a-z]+\/[^;]+\+(?:json|xml|text))\s*(?:;|$)/i

/** Whether a `Content-Type` is one worth compressing (rule 3). */
export function isCompressibleType (contentType: string | undefined): boolean {
  return contentType != null && COMPRESSIBLE.test(contentType.trim())
}

/** Codings that leave a body unchanged. */
function isIdentity (coding: string | undefined): boolean {
  return coding == null || coding.trim() === '' || coding.trim().toLowerCase() === 'identity'
}

/** Whether `raw` (a flat header list) has a `Cache-Control` with `no-transform`. */
function noTransform (raw: readonly string[]): boolean {
  return /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(headerValue(raw, 'cache-control') ?? '')
}

/** Rules 1, 2 and 4: whether an answer with `status` and `raw` headers may be coded for the wire at all. */
function codable (status: number, raw: readonly string[]): boolean {
  if (noTransform(raw) || !isIdentity(headerValue(raw, 'content-encoding'))) return false
  if (status < 200 || status === 204 || status === 206 || status === 304) return false
  if (headerValue(raw, 'content-range') != null) return false
  const length = headerValue(raw, 'content-length')
  return length == null || !(Number(length) < MIN_COMPRESSED_SIZE)
}

/** `W/"x"` for a strong `"x"`; a weak or absent tag as it is. */
export function weakETag (etag: string): string {
  const tag = etag.trim()
  return tag.startsWith('W/') ? tag : `W/${tag}`
}

/** `raw` with `Vary` naming `Accept-Encoding` (unless it is there already, or `*`). */
function varyOnAcceptEncoding (raw: string[]): string[] {
  const vary = (headerValue(raw, 'vary') ?? '').split(',').map(v => v.trim().toLowerCase())
  if (vary.includes('accept-encoding') || vary.includes('*')) return raw
  return [...raw, 'Vary', 'Accept-Encoding']
}

/** Headers that describe the bytes as they were, not as coded. */
const OF_THE_BYTES = new Set(['content-length', 'content-encoding', 'accept-ranges', 'content-md5', 'digest', 'content-digest', 'repr-digest'])

/** `raw` as it reads once its body is coded (`coding`) or decoded (`undefined`): see the module header. */
function recoded (raw: readonly string[], coding: WireEncoding | undefined): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    if (OF_THE_BYTES.has(name)) continue
    out.push(raw[i], name === 'etag' ? weakETag(raw[i + 1]) : raw[i + 1])
  }
  if (coding != null) out.push('Content-Encoding', coding)
  return varyOnAcceptEncoding(out)
}

/** The coder for `coding`, flushing each chunk written to it. */
function encoder (coding: WireEncoding): Transform {
  switch (coding) {
    case 'gzip':
      return zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH })
    case 'br':
      // quality 4: most of brotli's gain on text at a fraction of its default (11) CPU, which a stream cannot wait for
      return zlib.createBrotliCompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT } })
    case 'zstd':
      return (zstd.createZstdCompress as NonNullable<typeof zstd.createZstdCompress>)({ flush: ZSTD_E_FLUSH })
  }
}

/** The decoder for `coding`, passing on what each chunk decodes to at once. */
function decoder (coding: WireEncoding): Transform {
  switch (coding) {
    case 'gzip':
      return zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH })
    case 'br':
      return zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH })
    case 'zstd':
      return (zstd.createZstdDecompress as NonNullable<typeof zstd.createZstdDecompress>)({ flush: ZSTD_E_FLUSH })
  }
}

/** negotiator 1.x's `encoding(available, { preferred })` (its types are of 0.6, without the second argument). */
type Negotiate = (available: string[], options: { preferred: string[] }) => string | undefined

/** The coding of {@link WIRE_ENCODINGS} that `acceptEncoding` prefers (ties go to our order), `identity`, or `undefined`. */
function negotiate (acceptEncoding: string): string | undefined {
  const negotiator = new Negotiator({ headers: { 'accept-encoding': acceptEncoding } })
  return (negotiator.encoding.bind(negotiator) as unknown as Negotiate)([...WIRE_ENCODINGS], { preferred: [...WIRE_ENCODINGS] })
}

/** An answer's new headers and the transform its body goes through. */
export interface Recoding {
  headers: string[]
  body: Transform
}

/** The coding rules 3 and 5 choose for a body of `raw`'s type, asked for with `acceptEncoding`; `undefined` for none. */
function chosen (acceptEncoding: string | undefined, raw: readonly string[]): WireEncoding | undefined {
  if (acceptEncoding == null || !isCompressibleType(headerValue(raw, 'content-type'))) return undefined
  const coding = negotiate(acceptEncoding)
  return coding == null || coding === 'identity' ? undefined : coding as WireEncoding
}

/** The entity-tags of an `If-None-Match` value (a tag may hold a comma, so they are matched, not split). */
function entityTags (ifNoneMatch: string): string[] {
  return ifNoneMatch.match(/(?:W\/)?"[^"]*"/g) ?? []
}

/**
 * Whether a `304` with `raw` headers stands for a `200` that would have been coded for this caller, so
 * that its `ETag` is to be weakened as that `200`'s was. A `304` rarely carries `Content-Type`: when it
 * does, the rules decide as for the `200`; when not, only the caller's `If-None-Match` naming the weak
 * form of the tag says so (what a cache holding our coded `200` sends), and its `Accept-Encoding` must
 * still choose a coding (a cache holding both forms names both tags).
 */
function standsForCoded (acceptEncoding: string | undefined, raw: readonly string[], ifNoneMatch: string | undefined): boolean {
  const etag = headerValue(raw, 'etag')?.trim()
  if (etag == null || etag.startsWith('W/') || !codable(200, raw) || acceptEncoding == null) return false
  if (headerValue(raw, 'content-type') != null) return chosen(acceptEncoding, raw) != null
  const coding = negotiate(acceptEncoding)
  return coding != null && coding !== 'identity' && ifNoneMatch != null && entityTags(ifNoneMatch).includes(weakETag(etag))
}

/**
 * The provider's side: how to answer a caller that sent `acceptEncoding` (and `ifNoneMatch`) with the
 * upstream's `status` and `raw` headers to `method`. A {@link Recoding} when the body is to be coded;
 * otherwise the headers to send as they are (with `Vary: Accept-Encoding` when only the caller's
 * `Accept-Encoding` kept it plain), the body untouched. A `HEAD` answer gets the coded `GET`'s header
 * fields and no body stage. A `304` gets its `ETag` weakened where the `200` it stands for would have
 * been coded (see `standsForCoded`).
 */
export function encodeForCaller (acceptEncoding: string | undefined, method: string, status: number, raw: string[], ifNoneMatch?: string): Recoding | { headers: string[] } {
  if (status === 304) {
    // a cache holding our coded 200 (W/"x") must find its tag in the 304 (RFC 9111 §4.3.4); one holding
    // a plain 200 ("x") must not have W/"x" merged into it (If-Range needs the strong tag)
    if (!standsForCoded(acceptEncoding, raw, ifNoneMatch)) return { headers: raw }
    return { headers: raw.map((v, i) => i % 2 === 1 && raw[i - 1].toLowerCase() === 'etag' ? weakETag(v) : v) }
  }
  if (!codable(status, raw) || !isCompressibleType(headerValue(raw, 'content-type'))) return { headers: raw }
  const coding = chosen(acceptEncoding, raw)
  if (coding == null) return { headers: varyOnAcceptEncoding(raw) }
  const headers = recoded(raw, coding)
  // a HEAD answer has no body: only the header fields the GET's coded body would have
  return method === 'HEAD' ? { headers } : { headers, body: encoder(coding) }
}

/**
 * The consumer's side, for an answer to a request it added `Accept-Encoding` to (its client asked for
 * no coding): a {@link Recoding} that decodes a body in one of {@link WIRE_ENCODINGS}. A `206` (its
 * bytes are a range of the coded form) or a coding it did not ask for is passed on as it came.
 */
export function decodeForClient (method: string, status: number, raw: string[]): Recoding | { headers: string[] } {
  const coding = headerValue(raw, 'content-encoding')?.trim().toLowerCase()
  if (coding == null || !(WIRE_ENCODINGS as readonly string[]).includes(coding) || status === 206) return { headers: raw }
  const headers = recoded(raw, undefined)
  // a HEAD answer has no body to decode, only headers to read as the GET's would
  return method === 'HEAD' || status === 204 || status === 304 ? { headers } : { headers, body: decoder(coding as WireEncoding) }
}
