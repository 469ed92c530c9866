/**
 * Writing an HTTP/1.1 message (RFC 9112) on a libp2p stream: the head, then the body with
 * `Content-Length` or chunked framing. Parsing is llhttp's (`parser.ts`); this is the sending half,
 * which no maintained Web-platform package provides.
 *
 * The head goes out in one write together with the start of the body (or all of it when it is small
 * and at hand), because every stream write costs a muxer frame.
 *
 * @module
 */
import { concatBytes } from '../../util/bytes.js'
import { sendAll } from './stream-io.js'
import type { Stream } from '@libp2p/interface'

const CRLF = '\r\n'
const encoder = new TextEncoder()

/** Bytes of a body gathered to decide its framing before the head is sent. */
export const GATHER_LIMIT = 65_536

/**
 * The head of a message: `startLine`, the fields, the empty line. Field values are sent as Latin-1
 * (RFC 9110 §5.5); a character outside it, or CR, LF or NUL anywhere, is refused (WHATWG `Headers`
 * already refuses those, so this only guards names and values built here).
 *
 * @throws {TypeError} for a character that cannot be sent in a head
 */
export function encodeHead (startLine: string, fields: Iterable<[string, string]>): Uint8Array {
  const lines = [startLine]
  for (const [name, value] of fields) {
    lines.push(`${name}: ${value}`)
  }
  let length = 0
  for (const line of lines) length += line.length + 2
  const bytes = new Uint8Array(length + 2)
  let at = 0
  for (const line of lines) {
    for (let i = 0; i < line.length; i++) {
      const code = line.charCodeAt(i)
      if (code > 0xff || code === 0 || code === 10 || code === 13) {
        throw new TypeError(`cannot send character U+${code.toString(16).padStart(4, '0')} in an HTTP/1.1 head`)
      }
      bytes[at++] = code
    }
    bytes[at++] = 13
    bytes[at++] = 10
  }
  bytes[at++] = 13
  bytes[at] = 10
  return bytes
}

/** How a body is framed on the wire. */
export type Framing = { kind: 'none' } | { kind: 'length', length: number } | { kind: 'chunked' }

/** A body's first bytes, read to decide its framing, and the reader of the rest. */
export interface GatheredBody {
  framing: Framing
  /** The bytes already read (all of the body when `framing` is `length`). */
  head: Uint8Array[]
  /** The rest of the body, when there is more to read (`chunked` framing). */
  rest?: ReadableStreamDefaultReader<Uint8Array>
}

/**
 * Read the start of `body` to choose its framing: a body that ends within {@link GATHER_LIMIT} bytes,
 * each piece at hand without waiting for a timer tick, is sent with `Content-Length` (what a string or
 * bytes body gives); any other is sent chunked, starting with what was read. A WHATWG `Request` does not
 * say whether its body stream came from bytes at hand or from a producer that may pause, so reads are
 * taken only while they resolve at once (before a timer tick): the head is never held back waiting for a
 * producer (one that writes only after the response has begun would wait for ever).
 */
export async function gatherBody (body: ReadableStream<Uint8Array> | null, declaredLength?: number): Promise<GatheredBody> {
  if (body == null) {
    return { framing: { kind: 'none' }, head: [] }
  }
  const reader = body.getReader()
  const head: Uint8Array[] = []
  let size = 0
  let next = reader.read()
  for (;;) {
    // the first piece too: a producer that waits for the response before it writes must not hold back the head
    const result = await Promise.race([next, tick()])
    if (result === TICK) {
      break
    }
    if (result.done) {
      reader.releaseLock()
      return { framing: { kind: 'length', length: size }, head }
    }
    const chunk = toBytes(result.value)
    const full = size >= GATHER_LIMIT || (declaredLength != null && size >= declaredLength)
    if (chunk.byteLength > 0) {
      head.push(chunk)
      size += chunk.byteLength
    }
    next = reader.read()
    if (full) {
      // past the limit, one more piece was taken only to see whether the body ended with it (a body
      // at hand in one large piece does): it did not
      break
    }
  }
  const pending = next
  // the read in flight is handed on with the rest: a reader whose first read is the one already asked for
  const rest = withPendingRead(reader, pending)
  if (declaredLength != null) {
    return { framing: { kind: 'length', length: declaredLength }, head, rest }
  }
  return { framing: { kind: 'chunked' }, head, rest }
}

const TICK = Symbol('tick')

async function tick (): Promise<typeof TICK> {
  return await new Promise(resolve => setTimeout(() => { resolve(TICK) }, 0))
}

function toBytes (value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  throw new TypeError('a body stream must yield Uint8Array chunks')
}

function withPendingRead (reader: ReadableStreamDefaultReader<Uint8Array>, pending: Promise<ReadableStreamReadResult<Uint8Array>>): ReadableStreamDefaultReader<Uint8Array> {
  let first: Promise<ReadableStreamReadResult<Uint8Array>> | undefined = pending
  return {
    read: async () => {
      const read = first ?? reader.read()
      first = undefined
      return await read
    },
    releaseLock: () => { reader.releaseLock() },
    cancel: async (reason?: unknown) => { await reader.cancel(reason) },
    closed: reader.closed
  }
}

/** A chunk framed for `framing`. */
function frame (chunk: Uint8Array, framing: Framing): Uint8Array {
  if (framing.kind !== 'chunked' || chunk.byteLength === 0) {
    return chunk
  }
  // RFC 9112 §7.1: chunk-size is hexadecimal
  return concatBytes([encoder.encode(chunk.byteLength.toString(16) + CRLF), chunk, encoder.encode(CRLF)])
}

/** The last chunk and an empty trailer section (RFC 9112 §7.1). */
const LAST_CHUNK = encoder.encode(`0${CRLF}${CRLF}`)

/** A body that sent a different number of bytes than its `Content-Length`. */
export class BodyLengthError extends Error {
  constructor (declared: number, sent: number) {
    super(`the body has ${sent > declared ? 'more' : 'fewer'} bytes than its Content-Length (${declared})`)
    this.name = 'BodyLengthError'
  }
}

/** Options of {@link sendMessage}. */
export interface SendOptions {
  /** Stop sending the rest of the body (the exchange is over). */
  isCancelled?: () => boolean
  /**
   * Send the head in a muxer frame of its own when body bytes follow: @libp2p/http 2.0.6's server loses
   * body bytes that arrive in one message with the head (see `stream/socket.ts`, `separateRequestHead`,
   * the Node client's answer to the same problem). One more frame per request with a body.
   */
  separateHead?: boolean
  /** Called after each write: a body that keeps flowing keeps the stream busy (the server's idle timer). */
  onWrite?: () => void
  /**
   * What the body waits for once the head is out: the peer's confirmation of an optimistic proposal,
   * so that no body byte reaches a peer that has not agreed to the protocol (as `StreamSocket` holds
   * it). Its rejection ends the send with that error.
   */
  beforeBody?: Promise<void>
}

/**
 * Send `head` and the body gathered in `body` on `stream`: the head and the bytes at hand in one (or two, `separateHead`)
 * write, then the rest as it is read. `Content-Length` framing is checked (a body that yields more or
 * fewer bytes fails with {@link BodyLengthError}, and the stream must then be reset).
 */
export async function sendMessage (stream: Stream, head: Uint8Array, body: GatheredBody, { isCancelled = () => false, separateHead = false, onWrite = () => {}, beforeBody }: SendOptions = {}): Promise<void> {
  const { framing } = body
  let sent = 0
  const first = body.head.map(chunk => frame(chunk, framing))
  for (const chunk of body.head) sent += chunk.byteLength
  if (framing.kind === 'length' && sent > framing.length) {
    throw new BodyLengthError(framing.length, sent)
  }
  const rest = body.rest
  const hasBody = first.length > 0 || rest != null
  if (hasBody && (beforeBody != null || (separateHead && first.length > 0))) {
    await sendAll(stream, head)
    head = new Uint8Array(0)
  }
  if (hasBody && beforeBody != null) {
    try {
      await beforeBody
    } catch (err) {
      await rest?.cancel(err).catch(() => {})
      throw err
    }
    if (isCancelled()) return
  }
  if (rest == null) {
    await sendAll(stream, concatBytes([head, ...first, ...(framing.kind === 'chunked' ? [LAST_CHUNK] : [])]))
    return
  }
  await sendAll(stream, concatBytes([head, ...first]))
  onWrite()
  try {
    for (;;) {
      if (isCancelled()) return
      const { done, value } = await rest.read()
      if (done) break
      const chunk = toBytes(value)
      sent += chunk.byteLength
      if (framing.kind === 'length' && sent > framing.length) {
        throw new BodyLengthError(framing.length, sent)
      }
      if (chunk.byteLength > 0) {
        await sendAll(stream, frame(chunk, framing))
        onWrite()
      }
    }
  } catch (err) {
    await rest.cancel(err).catch(() => {})
    throw err
  }
  if (framing.kind === 'length' && sent !== framing.length) {
    throw new BodyLengthError(framing.length, sent)
  }
  if (framing.kind === 'chunked') {
    await sendAll(stream, LAST_CHUNK)
  }
}
