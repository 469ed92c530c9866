/**
 * The HTTP/1.1 parser of the Web path: llhttp, the parser of Node's `http` module and of undici, run from
 * its WebAssembly build (the copy undici ships, `llhttp-wasm.ts`). A browser and Node therefore frame and
 * refuse exactly the same bytes. Nothing here needs Node: `WebAssembly`, `Uint8Array`, `atob`.
 *
 * The parser is push-driven: bytes go in with {@link HTTP1Parser.execute}, the message comes out through
 * callbacks (head, body chunks, end). It pauses after every complete message (except interim `1xx`
 * responses, which it skips over) and hands back the bytes it has not read, so that the caller decides
 * when the next message on the stream is parsed (a server answers one request before reading the next).
 *
 * How llhttp's WebAssembly build is driven was learnt from undici's `lib/dispatcher/client-h1.js`: the
 * `env.wasm_on_*` imports are its callbacks, `llhttp_alloc(type)` makes a parser, `llhttp_execute` runs
 * it over bytes copied into its memory, a callback returning `HPE_PAUSED` pauses it and
 * `llhttp_get_error_pos` tells where. The numeric constants below are llhttp's (`llhttp.h`, also in
 * `undici/lib/llhttp/constants.js`; `test/web/http1/parser.test.ts` checks them against that file).
 *
 * @module
 */
import { LLHTTP_WASM_BASE64 } from './llhttp-wasm.js'

/** llhttp's `llhttp_type_t`. */
const TYPE = { REQUEST: 1, RESPONSE: 2 } as const
/** llhttp's `llhttp_errno_t` values used here. */
const ERROR = { OK: 0, PAUSED: 21, PAUSED_UPGRADE: 22, USER: 24 } as const
/** What `on_headers_complete` returns to have llhttp skip a message's body (a response to `HEAD`). */
const SKIP_BODY = 1

/** Optional whitespace at either end of a field value (RFC 9110 §5.6.3). */
const OWS = /^[ \t]+|[ \t]+$/g

/** Which side of an exchange is parsed. */
export type HTTP1MessageType = 'request' | 'response'

/** The start line and header fields of a message, as received. */
export interface HTTP1Head {
  /** The request method (`''` for a response). */
  method: string
  /** The request target as sent (`''` for a response). */
  url: string
  /** The response status (`0` for a request). */
  status: number
  /** The response reason phrase (`''` for a request). */
  statusText: string
  /** `1.0` or `1.1`. */
  httpVersion: string
  /** Header fields in the order received, names as sent; values decoded as Latin-1 (RFC 9110 §5.5). */
  headers: Array<[string, string]>
  /** Whether the connection may carry another message after this one (HTTP/1.1 default, `Connection`). */
  keepAlive: boolean
  /** A request asking to switch protocols (`Upgrade` with `Connection: upgrade`, or `CONNECT`). */
  upgrade: boolean
}

/** Where a parsed message goes. A callback that throws stops the parser: `execute` rethrows the error. */
export interface HTTP1ParserCallbacks {
  /**
   * The head is complete. Return `'skip-body'` when the message has no body whatever its headers say
   * (a response to `HEAD`, RFC 9110 §9.3.2); llhttp itself knows that `1xx`, `204` and `304` have none.
   */
  onHead: (head: HTTP1Head) => 'body' | 'skip-body' | undefined
  /** A piece of the body (chunked framing removed); the bytes are the callee's. */
  onBody: (chunk: Uint8Array) => void
  /** The message is complete. */
  onComplete: () => void
}

/** Bounds of a parser. */
export interface HTTP1ParserOptions {
  /**
   * The most bytes the start line and header fields of one message may take (trailers count too). It
   * also bounds the chunked framing read between two pieces of body: a chunk-size line with its
   * extensions, or the last chunk with its trailers (`HPE_CHUNK_EXTENSIONS_OVERFLOW`).
   *
   * @default 16384
   */
  maxHeaderSize?: number
}

/**
 * The bytes are not a valid HTTP/1.1 message, or the head is over `maxHeaderSize`, or the input ended
 * inside a message. `code` is llhttp's error name (`HPE_INVALID_METHOD`, `HPE_INVALID_EOF_STATE`, …),
 * or, as Node names them, `HPE_HEADER_OVERFLOW` and `HPE_CHUNK_EXTENSIONS_OVERFLOW` (chunked framing
 * between two pieces of body over `maxHeaderSize`).
 */
export class HTTP1ParseError extends Error {
  /** llhttp's error name. */
  readonly code: string
  /** llhttp's explanation (`'Invalid method encountered'`). */
  readonly reason: string

  constructor (code: string, reason: string) {
    super(`${code}: ${reason}`)
    this.name = 'HTTP1ParseError'
    this.code = code
    this.reason = reason
  }
}

/** An HTTP/1.1 parser for one direction of one stream. */
export interface HTTP1Parser {
  /**
   * Parse `data`. Returns `undefined` when all of it was read, or the bytes after a complete message,
   * where the parser paused (possibly empty): call {@link HTTP1Parser.resume} and execute them later.
   * After an upgrade request, nothing more can be parsed: what follows it comes back and stays unread.
   *
   * @throws {HTTP1ParseError} for bytes that are not HTTP/1.1, or a head over `maxHeaderSize`
   */
  execute: (data: Uint8Array) => Uint8Array | undefined
  /**
   * The input ended. A response delimited by the end of the stream completes here.
   *
   * @throws {HTTP1ParseError} (`HPE_INVALID_EOF_STATE`) when the input ended inside a message
   */
  finish: () => void
  /** Continue after the pause at the end of a message. */
  resume: () => void
  /** Whether a message has begun and not completed. */
  readonly inMessage: boolean
  /** Free the parser's memory; it cannot be used afterwards. Idempotent. */
  destroy: () => void
}

interface LLHTTPExports {
  memory: WebAssembly.Memory
  malloc: (size: number) => number
  free: (ptr: number) => void
  llhttp_alloc: (type: number) => number
  llhttp_free: (ptr: number) => void
  llhttp_execute: (ptr: number, data: number, len: number) => number
  llhttp_finish: (ptr: number) => number
  llhttp_resume: (ptr: number) => void
  llhttp_get_error_pos: (ptr: number) => number
  llhttp_get_error_reason: (ptr: number) => number
  llhttp_errno_name: (errno: number) => number
  llhttp_get_method: (ptr: number) => number
  llhttp_method_name: (method: number) => number
  llhttp_get_http_major: (ptr: number) => number
  llhttp_get_http_minor: (ptr: number) => number
}

/** The callbacks llhttp's WebAssembly module imports, routed to the parser executing at the time. */
interface Receiver {
  onMessageBegin: () => number
  onSpan: (kind: Span, bytes: Uint8Array) => number
  onHeadersComplete: (status: number, upgrade: boolean, keepAlive: boolean) => number
  onMessageComplete: () => number
}

type Span = 'url' | 'status' | 'field' | 'value' | 'body'

/** One instance serves every parser (as in undici): only one executes at a time, JavaScript being single-threaded. */
interface Engine {
  exports: LLHTTPExports
  receivers: Map<number, Receiver>
  /** The input buffer in the module's memory, grown as needed. */
  input: { ptr: number, size: number }
}

let engine: Promise<Engine> | undefined

function decodeBase64 (text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i)
  }
  return bytes
}

/**
 * The llhttp module, compiled and instantiated once, asynchronously: browsers refuse to compile large
 * modules synchronously on the main thread.
 */
async function loadEngine (): Promise<Engine> {
  const receivers = new Map<number, Receiver>()
  let exports: LLHTTPExports | undefined
  const view = (at: number, len: number): Uint8Array => new Uint8Array((exports as LLHTTPExports).memory.buffer, at, len)
  const span = (kind: Span) => (p: number, at: number, len: number): number => receivers.get(p)?.onSpan(kind, view(at, len)) ?? ERROR.USER
  const env = {
    wasm_on_message_begin: (p: number) => receivers.get(p)?.onMessageBegin() ?? ERROR.USER,
    wasm_on_url: span('url'),
    wasm_on_status: span('status'),
    wasm_on_header_field: span('field'),
    wasm_on_header_value: span('value'),
    wasm_on_headers_complete: (p: number, status: number, upgrade: number, keepAlive: number) =>
      receivers.get(p)?.onHeadersComplete(status, upgrade === 1, keepAlive === 1) ?? ERROR.USER,
    wasm_on_body: span('body'),
    wasm_on_message_complete: (p: number) => receivers.get(p)?.onMessageComplete() ?? ERROR.USER
  }
  const bytes = decodeBase64(LLHTTP_WASM_BASE64)
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes), { env })
  exports = instance.exports as unknown as LLHTTPExports
  return { exports, receivers, input: { ptr: 0, size: 0 } }
}

/** A NUL-terminated string in the module's memory. */
function cString (exports: LLHTTPExports, ptr: number): string {
  if (ptr === 0) return ''
  const memory = new Uint8Array(exports.memory.buffer)
  const end = memory.indexOf(0, ptr)
  return latin1(memory.subarray(ptr, end < 0 ? ptr : end))
}

/** Bytes as Latin-1 text: each byte one character (RFC 9110 §5.5 field values are octets). */
export function latin1 (bytes: Uint8Array): string {
  let text = ''
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192))
  }
  return text
}

/**
 * A parser for requests (a server) or responses (a client). The first call compiles llhttp (about
 * 50 kB of WebAssembly); later calls reuse it.
 */
export async function createHTTP1Parser (type: HTTP1MessageType, callbacks: HTTP1ParserCallbacks, options: HTTP1ParserOptions = {}): Promise<HTTP1Parser> {
  engine ??= loadEngine()
  let loaded: Engine
  try {
    loaded = await engine
  } catch (err) {
    engine = undefined
    throw err
  }
  return new LLHTTPParser(loaded, type, callbacks, options.maxHeaderSize ?? 16_384)
}

class LLHTTPParser implements HTTP1Parser {
  readonly #engine: Engine
  readonly #type: HTTP1MessageType
  readonly #callbacks: HTTP1ParserCallbacks
  readonly #maxHeaderSize: number
  #ptr: number
  #headerBytes = 0
  /**
   * Bytes read in a message's body phase that were not body: chunk-size lines, their extensions,
   * trailers. Reset by each piece of body. undici's llhttp build reports no callback for chunk
   * extensions (Node's parser bounds them at 16 KiB), so an endless extension would otherwise be read
   * until the request timed out, costing CPU all along.
   */
  #framing = 0
  /** Body bytes handed out during the current `execute`. */
  #bodyInCall = 0
  #inHead = false
  #inMessage = false
  #url = ''
  #statusText = ''
  #headers: Array<[string, string]> = []
  #lastSpan: Span | undefined
  #status = 0
  /** An error thrown by a callback, or our own, to be thrown from `execute` once llhttp has returned. */
  #failure: Error | undefined
  #upgraded = false

  constructor (engine: Engine, type: HTTP1MessageType, callbacks: HTTP1ParserCallbacks, maxHeaderSize: number) {
    this.#engine = engine
    this.#type = type
    this.#callbacks = callbacks
    this.#maxHeaderSize = maxHeaderSize
    this.#ptr = engine.exports.llhttp_alloc(type === 'request' ? TYPE.REQUEST : TYPE.RESPONSE)
    engine.receivers.set(this.#ptr, {
      onMessageBegin: () => this.#onMessageBegin(),
      onSpan: (kind, bytes) => this.#onSpan(kind, bytes),
      onHeadersComplete: (status, upgrade, keepAlive) => this.#onHeadersComplete(status, upgrade, keepAlive),
      onMessageComplete: () => this.#onMessageComplete()
    })
  }

  get inMessage (): boolean {
    return this.#inMessage
  }

  execute (data: Uint8Array): Uint8Array | undefined {
    const ptr = this.#live()
    if (this.#upgraded) {
      return data
    }
    const { exports, input } = this.#engine
    if (data.byteLength > input.size) {
      if (input.ptr !== 0) exports.free(input.ptr)
      input.size = Math.ceil(data.byteLength / 4096) * 4096
      input.ptr = exports.malloc(input.size)
    }
    new Uint8Array(exports.memory.buffer, input.ptr, data.byteLength).set(data)
    const inBody = this.#inBody()
    this.#bodyInCall = 0
    const ret = exports.llhttp_execute(ptr, input.ptr, data.byteLength)
    if (ret === ERROR.OK && inBody && this.#inBody()) {
      // the whole call was body phase (no head, no message end in it): what was not body is framing
      this.#framing = this.#bodyInCall > 0 ? 0 : this.#framing + data.byteLength
      if (this.#framing > this.#maxHeaderSize) {
        this.#failure ??= new HTTP1ParseError('HPE_CHUNK_EXTENSIONS_OVERFLOW', `more than ${this.#maxHeaderSize} bytes of chunk framing (extensions or trailers) without body`)
      }
    }
    return this.#outcome(ret, () => data.subarray(exports.llhttp_get_error_pos(ptr) - input.ptr))
  }

  #inBody (): boolean {
    return this.#inMessage && !this.#inHead
  }

  finish (): void {
    const ptr = this.#live()
    if (this.#upgraded) return
    this.#outcome(this.#engine.exports.llhttp_finish(ptr), () => new Uint8Array(0))
  }

  resume (): void {
    this.#engine.exports.llhttp_resume(this.#live())
  }

  destroy (): void {
    if (this.#ptr === 0) return
    this.#engine.receivers.delete(this.#ptr)
    this.#engine.exports.llhttp_free(this.#ptr)
    this.#ptr = 0
  }

  #live (): number {
    if (this.#ptr === 0) {
      throw new Error('the HTTP/1.1 parser was destroyed')
    }
    return this.#ptr
  }

  #outcome (ret: number, rest: () => Uint8Array): Uint8Array | undefined {
    const failure = this.#failure
    if (failure != null) {
      this.#failure = undefined
      throw failure
    }
    switch (ret) {
      case ERROR.OK:
        return undefined
      case ERROR.PAUSED:
        return rest()
      case ERROR.PAUSED_UPGRADE:
        this.#upgraded = true
        return rest()
      default: {
        const { exports } = this.#engine
        throw new HTTP1ParseError(cString(exports, exports.llhttp_errno_name(ret)), cString(exports, exports.llhttp_get_error_reason(this.#ptr)))
      }
    }
  }

  #fail (err: Error): number {
    this.#failure ??= err
    return ERROR.USER
  }

  #onMessageBegin (): number {
    this.#inMessage = true
    this.#inHead = true
    this.#headerBytes = 0
    this.#framing = 0
    this.#url = ''
    this.#statusText = ''
    this.#headers = []
    this.#lastSpan = undefined
    return ERROR.OK
  }

  #onSpan (kind: Span, bytes: Uint8Array): number {
    if (kind === 'body') {
      this.#bodyInCall += bytes.byteLength
      try {
        // a copy: the bytes are in llhttp's memory, overwritten by the next execute
        this.#callbacks.onBody(bytes.slice())
        return ERROR.OK
      } catch (err) {
        return this.#fail(err as Error)
      }
    }
    this.#headerBytes += bytes.byteLength
    if (this.#headerBytes > this.#maxHeaderSize) {
      return this.#fail(new HTTP1ParseError('HPE_HEADER_OVERFLOW', `the ${this.#inHead ? 'head' : 'trailer section'} is larger than ${this.#maxHeaderSize} bytes`))
    }
    if (!this.#inHead) {
      return ERROR.OK // trailer fields: bounded above, not kept
    }
    const text = latin1(bytes)
    const continued = this.#lastSpan === kind
    this.#lastSpan = kind
    const headers = this.#headers
    switch (kind) {
      case 'url':
        this.#url += text
        break
      case 'status':
        this.#statusText += text
        break
      case 'field':
        if (continued) headers[headers.length - 1][0] += text
        else headers.push([text, ''])
        break
      case 'value':
        headers[headers.length - 1][1] += text
        break
    }
    return ERROR.OK
  }

  #onHeadersComplete (status: number, upgrade: boolean, keepAlive: boolean): number {
    this.#inHead = false
    const { exports } = this.#engine
    const ptr = this.#ptr
    this.#status = status
    const head: HTTP1Head = {
      method: this.#type === 'request' ? cString(exports, exports.llhttp_method_name(exports.llhttp_get_method(ptr))) : '',
      url: this.#url,
      status: this.#type === 'response' ? status : 0,
      statusText: this.#statusText,
      httpVersion: `${exports.llhttp_get_http_major(ptr)}.${exports.llhttp_get_http_minor(ptr)}`,
      // OWS (SP, HTAB) around a value is not part of it (RFC 9110 §5.5); llhttp leaves the trailing one.
      // Not String#trim: it would also take 0xA0, a Latin-1 octet of the value
      headers: this.#headers.map(([name, value]) => [name, value.replace(OWS, '')]),
      keepAlive,
      upgrade
    }
    this.#headers = []
    try {
      return this.#callbacks.onHead(head) === 'skip-body' ? SKIP_BODY : ERROR.OK
    } catch (err) {
      return this.#fail(err as Error)
    }
  }

  #onMessageComplete (): number {
    this.#inMessage = false
    try {
      this.#callbacks.onComplete()
    } catch (err) {
      return this.#fail(err as Error)
    }
    // an interim response is followed by the final one on the same bytes: no pause
    const interim = this.#type === 'response' && this.#status >= 100 && this.#status < 200 && this.#status !== 101
    return interim ? ERROR.OK : ERROR.PAUSED
  }
}
