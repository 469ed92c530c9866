/**
 * A libp2p {@link Stream} seen as a Node socket: a `Duplex` with the few socket members that Node's
 * `http.Server` and undici's HTTP/1.1 client touch. Both HTTP stacks run unchanged on top of it.
 *
 * Mapping (libp2p 3 streams are event based):
 * - incoming `message` events are pushed into the readable side; when the readable buffer is full the
 *   stream is paused (yamux then stops granting window) and resumed from `_read`;
 * - `end` (the remote closed its write side and everything was delivered) ends the readable side, so a
 *   peer that half-closes after its request (go-libp2p does) is seen as a normal half-close;
 * - writes go through `send()`, honouring `drain`; `end()` closes only our write side (`stream.close()`);
 * - `destroy(err)` resets the stream; `destroy()` without an error closes it gracefully: our write side
 *   is flushed and closed and unread input is discarded; the stream is reset only if the remote stops
 *   taking our output for `lingerMs`;
 * - a remote reset destroys the socket with a {@link StreamResetError} (`code: 'ERR_STREAM_RESET'`).
 *
 * @module
 */
import { Duplex } from 'node:stream'
import { Uint8ArrayList } from 'uint8arraylist'
import { StreamResetError } from '../errors.js'
import { STREAM_PEER } from '../identity.js'
import type { LibP2PHTTPError } from '../errors.js'
import type { StreamPreamble } from './optimistic.js'
import type { PeerId, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options for {@link StreamSocket}. */
export interface StreamSocketOptions {
  /** The authenticated peer at the other end of the stream's connection. */
  remotePeer: PeerId
  /** The remote address of the stream's connection. */
  remoteAddr: Multiaddr
  /**
   * After a graceful `destroy()`: how long flushing our output may take (the remote must keep reading)
   * before the stream is reset.
   *
   * @default 60000
   */
  lingerMs?: number
  /**
   * Bytes buffered on the readable side before the stream is paused.
   *
   * @default 65536
   */
  highWaterMark?: number
  /**
   * Errors that the HTTP stack on top uses to mean "done" rather than "failed". A `destroy(err)` with
   * such an error closes the stream gracefully instead of resetting it. Given the socket too, so that
   * the rule can be one function for all sockets rather than a closure per socket.
   */
  isGracefulClose?: (err: Error, socket: StreamSocket) => boolean
  /**
   * Whether our write side stays open after the remote ended its side, as with `net.Socket`. Node's
   * HTTP server expects `true` (it answers after the client's half-close); clients written for
   * `net.connect()` sockets, undici's WebSocket among them, expect the default `false` and wait for the
   * socket to close on its own once the remote has ended.
   *
   * @default false
   */
  allowHalfOpen?: boolean
  /**
   * Reset rather than close a stream that carried nothing either way. A client's unused stream has no
   * output to deliver, and a graceful close would keep it open until the remote, which is waiting for a
   * request, closes its side too.
   *
   * @default false
   */
  resetIfUnused?: boolean
  /**
   * Bytes exchanged before the socket's own (optimistic protocol negotiation): sent in front of the
   * first write; the remote's must match, within the preamble's timeout, before anything is delivered,
   * else the socket is destroyed with the preamble's error and the stream reset.
   */
  preamble?: StreamPreamble
  /**
   * Send a request head in a muxer frame of its own when body bytes follow it in the same write
   * (undici corks the head with the first body chunk), and, while an optimistic {@link preamble} is
   * unconfirmed, hold those body bytes until it is. For clients: @libp2p/http 2.0.6's server parses
   * the first message it reads whole and loses body bytes that came in it with the head, so the POST
   * never reaches its handler; and frames that arrive while the remote is still negotiating reach it
   * as one message. Costs one more frame per request with a body, and on a stream still being
   * negotiated optimistically, the round trip that negotiation would have saved; nothing otherwise.
   *
   * @default false
   */
  separateRequestHead?: boolean
  /**
   * What a reset of the stream means when it was not the peer's doing: on a relayed connection, the
   * relay's limit that cut it (`relay-limit.ts`). Without it, or when it gives nothing, a reset is a
   * {@link StreamResetError}.
   */
  resetReason?: (cause: Error) => LibP2PHTTPError | undefined
}

/** The end of an HTTP/1.1 message head (RFC 9112 section 2.1). */
const CRLF_CRLF = [13, 10, 13, 10]
const HEAD_END = Uint8Array.from(CRLF_CRLF)

/** Whether `chunk` ends an HTTP message head: what undici writes first, with the head complete. */
function endsHead (chunk: Uint8Array): boolean {
  const n = chunk.byteLength
  return n >= 4 && chunk[n - 4] === CRLF_CRLF[0] && chunk[n - 3] === CRLF_CRLF[1] && chunk[n - 2] === CRLF_CRLF[2] && chunk[n - 1] === CRLF_CRLF[3]
}

const DEFAULT_LINGER_MS = 60_000

/**
 * The most bytes of later writes in one event-loop turn gathered into one muxer frame (see
 * `StreamSocket#write`): four of the 64 KiB writes Node's HTTP stacks make, the spec's initial yamux
 * stream window.
 */
export const GATHER_BYTES = 256 * 1024

/**
 * Event-loop turns in which a socket wrote, counted by one shared immediate (not one per socket: a
 * small exchange pays nothing for gathering).
 */
let turn = 0
let turnEnd: NodeJS.Immediate | undefined
const nextTurn = (): void => { turnEnd = undefined; turn++ }

/** The current turn's number; its end is counted. */
function currentTurn (): number {
  turnEnd ??= setImmediate(nextTurn)
  return turn
}

function toBuffer (chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

/**
 * A Node `Duplex` over one libp2p stream, shaped like a `net.Socket` for HTTP servers and clients.
 */
export class StreamSocket extends Duplex {
  /** The underlying libp2p stream. */
  readonly stream: Stream
  /** The peer at the other end, authenticated by the connection's security handshake. */
  readonly remotePeer: PeerId
  /** The remote multiaddr of the connection. */
  readonly remoteAddr: Multiaddr

  /** The peer under the global-registry key that `remotePeer(req)` of any copy of the package reads. */
  get [STREAM_PEER] (): PeerId {
    return this.remotePeer
  }

  /** The remote multiaddr as a string (what `net.Socket#remoteAddress` holds for IP sockets). */
  readonly remoteAddress: string
  readonly remoteFamily = 'libp2p'
  readonly remotePort = undefined
  readonly localAddress = undefined
  readonly localPort = undefined
  /** Always false: the stream exists before the socket does. */
  readonly connecting = false
  /** Bytes received from the stream so far. */
  bytesRead = 0
  /** Bytes handed to the stream so far. */
  bytesWritten = 0

  #lingerMs: number
  #isGracefulClose: (err: Error, socket: StreamSocket) => boolean
  readonly #resetIfUnused: boolean
  readonly #separateRequestHead: boolean
  readonly #resetReason: ((cause: Error) => LibP2PHTTPError | undefined) | undefined
  /** Still to send in front of the first write. */
  #outgoingPreamble: Uint8Array | undefined
  /** Still expected from the remote, from `#expectedAt` on. */
  #expectedPreamble: StreamPreamble | undefined
  #expectedAt = 0
  /** Body bytes held back until the preamble is confirmed (see `separateRequestHead`). */
  #held: { data: Uint8ArrayList, callback: (error?: Error | null) => void } | undefined
  #preambleTimer: NodeJS.Timeout | undefined
  /** Our write side's close, started once (by `end()` or a graceful `destroy()`). */
  #closingWrite: Promise<void> | undefined
  /** The event-loop turn of our last send (see `#write`). */
  #sentInTurn = -1
  /** Later writes of that turn, accepted and not yet handed to the stream (fewer than `GATHER_BYTES`). */
  #gathered: Uint8ArrayList | undefined
  /** Sends what was gathered once the turn is over. */
  #gatheredFlush: NodeJS.Immediate | undefined
  #endPending = false
  /** The remote has ended, and our end waits for the reader to take what Node holds (see `read`). */
  #endAfterRead = false
  #timeoutMs = 0
  #timer: NodeJS.Timeout | undefined
  // The stream's listeners, bound once per socket. Bound methods rather than arrow functions: the
  // published build keeps function names (`keepNames`), which costs a `defineProperty` for each named
  // closure created per stream (issue 21).
  readonly #onMessage: (evt: StreamMessageEvent) => void
  readonly #onEnd: () => void
  readonly #onClose: (evt: StreamCloseEvent) => void

  constructor (stream: Stream, init: StreamSocketOptions) {
    super({ allowHalfOpen: init.allowHalfOpen ?? false, readableHighWaterMark: init.highWaterMark ?? 65536, decodeStrings: true })
    this.stream = stream
    this.remotePeer = init.remotePeer
    this.remoteAddr = init.remoteAddr
    this.remoteAddress = init.remoteAddr.toString()
    this.#lingerMs = init.lingerMs ?? DEFAULT_LINGER_MS
    this.#isGracefulClose = init.isGracefulClose ?? (() => false)
    this.#resetIfUnused = init.resetIfUnused ?? false
    this.#separateRequestHead = init.separateRequestHead ?? false
    this.#resetReason = init.resetReason
    this.#onMessage = this.#handleMessage.bind(this)
    this.#onEnd = this.#endSoon.bind(this)
    this.#onClose = this.#handleClose.bind(this)
    this.#outgoingPreamble = init.preamble?.outgoing
    this.#expectedPreamble = init.preamble
    if (init.preamble != null) {
      const preamble = init.preamble
      this.#preambleTimer = setTimeout(() => { this.#refusePreamble(preamble.refused('timeout')) }, preamble.timeout)
      this.#preambleTimer.unref()
    }

    stream.addEventListener('message', this.#onMessage)
    stream.addEventListener('end', this.#onEnd)
    stream.addEventListener('close', this.#onClose)
    if (stream.status === 'reset' || stream.status === 'aborted') {
      queueMicrotask(() => { this.destroy(new StreamResetError(`the libp2p stream was ${stream.status} before it was used`)) })
    } else if (stream.status === 'closed') {
      queueMicrotask(() => { this.#handleClose(new Event('close') as StreamCloseEvent) })
    } else if (stream.readableEnded) {
      this.#onEnd()
    }
  }

  /** The stream's `end`: delivered after the data the same frame carried (see {@link StreamSocket.#maybeEndReadable}). */
  #endSoon (): void {
    queueMicrotask(() => { this.#maybeEndReadable() })
  }

  #handleMessage (evt: StreamMessageEvent): void {
    this.#touch()
    let data: Uint8Array | Uint8ArrayList = evt.data
    if (this.#expectedPreamble != null) {
      const rest = this.#consumePreamble(data instanceof Uint8Array ? data : data.subarray())
      if (rest == null) {
        // all of it was preamble (or refused): an end that waited for this message may proceed
        if (this.#endPending) {
          this.#maybeEndReadable()
        }
        return
      }
      data = rest
    }
    let more = true
    if (data instanceof Uint8Array) {
      this.bytesRead += data.byteLength
      more = this.push(toBuffer(data))
    } else {
      for (const chunk of data) {
        this.bytesRead += chunk.byteLength
        more = this.push(toBuffer(chunk))
      }
    }
    if (!more && this.stream.readStatus === 'readable') {
      this.stream.pause()
    }
    if (this.#endPending) {
      this.#maybeEndReadable()
    }
  }

  /** Match the remote's first bytes against the preamble; returns what follows it, if anything. */
  #consumePreamble (bytes: Uint8Array): Uint8Array | undefined {
    const preamble = this.#expectedPreamble as StreamPreamble
    const expected = preamble.expected
    const n = Math.min(bytes.byteLength, expected.byteLength - this.#expectedAt)
    for (let i = 0; i < n; i++) {
      if (bytes[i] !== expected[this.#expectedAt + i]) {
        this.#refusePreamble(preamble.refused(this.#expectedAt + i))
        return undefined
      }
    }
    this.#expectedAt += n
    if (this.#expectedAt === expected.byteLength) {
      this.#settlePreamble()
      const held = this.#held
      this.#held = undefined
      if (held != null) {
        this.#send(held.data, held.callback)
      }
    }
    return n < bytes.byteLength ? bytes.subarray(n) : undefined
  }

  /** Fail with `err`; destroying with an error that is not a graceful close resets the stream. */
  #refusePreamble (err: Error): void {
    this.#settlePreamble(err)
    this.destroy(err)
  }

  /** The preamble's wait is over (`err`: it failed): its timer stopped, and its `onSettled` told, once. */
  #settlePreamble (err?: Error): void {
    const preamble = this.#expectedPreamble
    this.#expectedPreamble = undefined
    clearTimeout(this.#preambleTimer)
    preamble?.onSettled?.(err)
  }

  /**
   * `end` can be dispatched before the data of a frame that also carried FIN, so ending waits until
   * the stream's read buffer is empty.
   */
  #maybeEndReadable (): void {
    if (this.readableEnded || this.destroyed) {
      return
    }
    if (this.stream.readBufferLength > 0) {
      this.#endPending = true
      return
    }
    if (this.#expectedPreamble != null) {
      this.#refusePreamble(this.#expectedPreamble.refused('ended'))
      return
    }
    this.#endPending = false
    // A relayed connection that its relay cut closes its streams as if their peer had ended them; an
    // end that came with the connection's close, and not before it, is that cut, not a complete message.
    const cut = this.#resetReason?.(new Error('the stream ended with its connection'))
    if (cut != null) {
      this.destroy(cut)
      return
    }
    if (this.readableLength > 0) {
      // see `read`: the end waits until the reader has taken everything
      this.#endAfterRead = true
      return
    }
    this.push(null)
  }

  #handleClose (evt: StreamCloseEvent): void {
    this.#clearTimer()
    if (this.destroyed) {
      return
    }
    if (evt.error != null) {
      const reset = this.#resetReason?.(evt.error) ?? (evt.local === true
        ? new StreamResetError(`the libp2p stream was aborted locally: ${evt.error.message}`, { cause: evt.error })
        : new StreamResetError('the libp2p stream was reset by the remote peer', { cause: evt.error }))
      this.destroy(reset)
      return
    }
    // Closed in both directions without an error: deliver what is buffered, then end.
    this.#maybeEndReadable()
    if (!this.writableFinished && !this.writableEnded) {
      // The remote closed its read side under us; further writes cannot succeed.
      this.end()
    }
  }

  /**
   * Node emits `end` right after a `read()` that empties a buffer already ended. undici's HTTP/1.1
   * client calls `read()`, hands the chunk to its parser, and the parser may pause on it (the body's
   * consumer is full); an `end` then makes undici run `Parser.finish()` on the paused parser, which
   * asserts and throws from the event handler (undici 7 `client-h1.js` `onHttpSocketEnd`). A response
   * whose last bytes arrived with the remote's FIN hit it (the `libp2phttp fetch` command died with exit
   * 1). So the readable side ends only once its buffer is empty: after the `read()` that empties it, in
   * a microtask, when undici has paused or not; a paused undici then sees the end from the `read()` it
   * makes when it resumes, with the message complete.
   */
  override read (size?: number): any {
    const chunk: unknown = super.read(size)
    if (this.#endAfterRead && this.readableLength === 0) {
      this.#endAfterRead = false
      queueMicrotask(() => { this.#maybeEndReadable() })
    }
    return chunk
  }

  override _read (): void {
    if (this.stream.readStatus === 'paused') {
      this.stream.resume()
    }
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#write(chunk, callback)
  }

  override _writev (chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    // Node corks the status line, headers and first body chunk: send them as one muxer frame, or the
    // head alone first (see `separateRequestHead`); splitting never changes the bytes, only framing.
    let list = new Uint8ArrayList()
    for (const { chunk } of chunks) {
      list.append(chunk)
    }
    const headEnd = this.#separateRequestHead && chunks.length > 1 ? this.#requestHeadEnd(chunks[0].chunk, list) : -1
    if (headEnd <= 0 || headEnd >= list.byteLength) {
      this.#write(list, callback)
      return
    }
    const head = list.sublist(0, headEnd)
    list = list.sublist(headEnd)
    // the body's callback reports a failure of either send; Node holds further writes until it runs
    this.#send(head, (err) => { if (err != null) this.destroy(err) })
    if (this.#expectedPreamble != null) {
      this.#held = { data: list, callback }
      return
    }
    this.#send(list, callback)
  }

  /**
   * Where the request head ends in a corked write (`list`, whose first chunk is `first`), or -1. undici
   * writes a head of known body length as a chunk of its own; for a chunked body it writes the head up
   * to `transfer-encoding: chunked\r\n` and the blank line that ends it with the first chunk's size
   * (undici 7 `client-h1.js` `AsyncWriter`), so in the stream's first write the head ends at the first
   * blank line (a head holds none before its end, RFC 9112 section 2.1).
   */
  #requestHeadEnd (first: Uint8Array, list: Uint8ArrayList): number {
    if (endsHead(first)) {
      return first.byteLength
    }
    if (this.bytesWritten > 0) {
      return -1
    }
    const at = list.indexOf(HEAD_END)
    return at < 0 ? -1 : at + HEAD_END.byteLength
  }

  /**
   * The first write of an event-loop turn goes to the stream at once (a response or request is never
   * held back); later writes in the same turn, what a bulk writer makes while the stream takes its data
   * (each 64 KiB `write` resolves its `drain` in a microtask), are accepted and gathered, up to
   * {@link GATHER_BYTES}, into one muxer frame, sent when that much is gathered, at the end of the turn
   * or before our write side closes. A 64 KiB frame is two noise messages and eight TCP writes with the
   * yamux window update that answers it; four of them in one frame take half the TCP writes, a quarter
   * of the frames, window updates and message events (issue 21, `bench/bulk-path.ts`). Writes made
   * while an optimistic preamble is unconfirmed are not gathered (the held body has its own rule).
   */
  #write (data: Uint8Array | Uint8ArrayList, callback: (error?: Error | null) => void): void {
    const now = currentTurn()
    if (this.#sentInTurn !== now || this.#expectedPreamble != null || this.#held != null) {
      this.#sentInTurn = now
      this.#send(data, callback)
      return
    }
    this.#touch()
    let gathered = this.#gathered
    if (gathered == null) {
      gathered = this.#gathered = new Uint8ArrayList()
      // an anonymous closure, made only when a turn gathers: no per-socket field (see `#onMessage`)
      this.#gatheredFlush = setImmediate(() => { this.#sendGathered() })
    }
    gathered.append(data)
    if (gathered.byteLength < GATHER_BYTES) {
      callback()
      return
    }
    this.#gathered = undefined
    clearImmediate(this.#gatheredFlush)
    this.#send(gathered, callback)
  }

  /**
   * Hand what was gathered to the stream (at the end of the turn, or before our write side closes, a
   * graceful `destroy()` included); a failure fails the socket, as the writes were accepted.
   */
  #sendGathered (): void {
    const gathered = this.#gathered
    this.#gathered = undefined
    clearImmediate(this.#gatheredFlush)
    if (gathered != null && this.stream.writeStatus === 'writable') {
      this.#send(gathered, (err) => { if (err != null) this.destroy(err) })
    }
  }

  #send (data: Uint8Array | Uint8ArrayList, callback: (error?: Error | null) => void): void {
    this.#touch()
    try {
      this.bytesWritten += data.byteLength
      if (this.#outgoingPreamble != null) {
        // The proposal and the first bytes in one muxer frame: that is the round trip saved.
        data = new Uint8ArrayList(this.#outgoingPreamble, data)
        this.#outgoingPreamble = undefined
      }
      if (this.stream.send(data)) {
        callback()
      } else {
        this.#waitForDrain(callback)
      }
    } catch (err) {
      callback(this.#mapError(err as Error))
    }
  }

  /**
   * Hold the write callback until the stream can take more. `stream.onDrain()` is not used: in
   * @libp2p/utils 7.4 its promise stays resolved after the first drain, so it stops applying
   * backpressure and a fast writer queues its whole output in memory. After a `drain` the stream
   * flushes its queue in a microtask, so the state is read after that.
   */
  #waitForDrain (callback: (error?: Error | null) => void): void {
    const stream = this.stream
    let done = false
    const finish = (err?: Error): void => {
      if (done) return
      done = true
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      callback(err)
    }
    const onDrain = (): void => {
      queueMicrotask(() => {
        if (!stream.writableNeedsDrain) {
          finish()
        }
      })
    }
    const onClose = (evt: StreamCloseEvent): void => {
      finish(this.#mapError(evt.error ?? new Error('the libp2p stream closed before it could take more data')))
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  }

  #mapError (err: Error): Error {
    if (this.stream.status === 'reset' || this.stream.status === 'aborted') {
      return this.#resetReason?.(err) ?? new StreamResetError(`the libp2p stream was ${this.stream.status}`, { cause: err })
    }
    return err
  }

  override _final (callback: (error?: Error | null) => void): void {
    this.#closeWrite().then(() => { callback() }, (err: Error) => { callback(this.#mapError(err)) })
  }

  /**
   * Close our write side once: a second `stream.close()` returns at once while the first still waits
   * for the remote to take our output, and the linger bound must follow the one that waits.
   */
  async #closeWrite (): Promise<void> {
    if (this.#closingWrite == null) {
      this.#sendGathered()
    }
    this.#closingWrite ??= this.stream.close()
    await this.#closingWrite
  }

  /**
   * Node's streams read `error.stack` in `destroy(error)`, and formatting a V8 stack trace costs tens of
   * µs. undici ends every `Connection: close` exchange, the ordinary end of a request on a stream, with
   * such an error (`InformationalError('reset')`), which only means "done" ({@link StreamSocketOptions.isGracefulClose})
   * and is never handed to a caller: its stack is set to its name and message before Node reads it
   * (issue 21: 8–10 % of the client's CPU per small request). The other graceful closes get the same:
   * undici's `other side closed` after the server ended may fail a request whose response was cut short,
   * and the server's `HPE_*` errors reach `clientError` listeners first; the frames they lose are those
   * of undici's or Node's event handlers, which tell a caller nothing.
   */
  override destroy (error?: Error | null): this {
    if (error != null && !this.destroyed && this.#isGracefulClose(error, this)) {
      error.stack = `${error.name}: ${error.message}`
    }
    return super.destroy(error ?? undefined)
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearTimer()
    clearTimeout(this.#preambleTimer)
    clearImmediate(this.#gatheredFlush)
    if (this.#expectedPreamble != null || this.#held != null) {
      const unconfirmed = error ?? new StreamResetError('the socket was destroyed before the stream was confirmed')
      this.#settlePreamble(unconfirmed)
      this.#held?.callback(unconfirmed)
      this.#held = undefined
    }
    const stream = this.stream
    stream.removeEventListener('message', this.#onMessage)
    stream.removeEventListener('end', this.#onEnd)
    stream.removeEventListener('close', this.#onClose)
    if (stream.status === 'open' || stream.status === 'closing') {
      if (this.#resetIfUnused && this.bytesWritten === 0 && this.bytesRead === 0) {
        stream.abort(error ?? new Error('closed unused'))
      } else if (error == null || this.#isGracefulClose(error, this)) {
        this.#closeGracefully()
      } else {
        stream.abort(error)
      }
    }
    // Like a TCP socket, whose 'close' comes from the event loop after destroy(): undici's fetch loses
    // a parser error reported in the same tick as the headers (the body never errors) otherwise.
    setImmediate(() => { callback(error) })
  }

  /**
   * Close without losing data: stop reading, flush what we wrote and send FIN. Flushing needs the
   * remote to keep granting window; a remote that stops reading for `lingerMs` is reset. Once our bytes
   * are all in the remote's hands the stream is never reset by us: the remote may take as long as it
   * likes to read what it has buffered (resetting would discard it), and the half-open stream costs only
   * a slot of that remote's own inbound stream limit until it closes or the connection ends.
   */
  #closeGracefully (): void {
    const stream = this.stream
    // Discard anything the remote still sends; we are done reading.
    stream.closeRead().catch(() => {})
    // A plain timer rather than `AbortSignal.timeout`: this runs once per exchange, and a signal with
    // its timer costs several times more.
    const linger = setTimeout(() => {
      stream.abort(new StreamResetError(`the remote did not take our last ${stream.writeBufferLength} bytes within ${this.#lingerMs} ms`))
    }, this.#lingerMs)
    linger.unref()
    this.#closeWrite().then(() => { clearTimeout(linger) }, (err: Error) => {
      clearTimeout(linger)
      stream.abort(err)
    })
  }

  /**
   * Like `net.Socket#setTimeout`: emit `'timeout'` after `ms` without reads or writes (0 disables).
   * Node's HTTP server uses this for its idle timeouts.
   */
  setTimeout (ms: number, callback?: () => void): this {
    this.#timeoutMs = ms
    if (callback != null) {
      if (ms === 0) {
        this.removeListener('timeout', callback)
      } else {
        this.once('timeout', callback)
      }
    }
    this.#clearTimer()
    if (ms > 0 && !this.destroyed) {
      this.#timer = setTimeout(() => { this.emit('timeout') }, ms)
      this.#timer.unref()
    }
    return this
  }

  #touch (): void {
    if (this.#timer != null && this.#timeoutMs > 0) {
      this.#timer.refresh()
    }
  }

  #clearTimer (): void {
    if (this.#timer != null) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  /** No-op: the muxer decides how frames are batched. */
  setNoDelay (_noDelay?: boolean): this {
    return this
  }

  /** No-op: liveness is the libp2p connection's business. */
  setKeepAlive (_enable?: boolean, _initialDelay?: number): this {
    return this
  }

  /** No-op: a stream does not hold the event loop open by itself. */
  ref (): this {
    return this
  }

  /** No-op, see {@link StreamSocket.ref}. */
  unref (): this {
    return this
  }

  /** Like `net.Socket#destroySoon`: finish writing, then destroy. Node's HTTP server calls it after a last response. */
  destroySoon (): void {
    if (this.writable) {
      this.end()
    }
    if (this.writableFinished) {
      this.destroy()
    } else {
      this.once('finish', () => { this.destroy() })
    }
  }

  address (): Record<string, never> {
    return {}
  }
}
