/**
 * Bytes in and out of a libp2p 3 stream for the Web path's HTTP/1.1, without Node streams: a pull
 * reader that pauses the libp2p stream while its caller is not reading (backpressure reaches the remote
 * through the muxer's window), and a writer that waits for `drain`.
 *
 * @module
 */
import { StreamResetError } from '../../errors.js'
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/** The error a stream closed with an error is seen as. */
export function resetError (stream: Stream, evt?: StreamCloseEvent): StreamResetError {
  if (evt?.error != null) {
    return evt.local === true
      ? new StreamResetError(`the libp2p stream was aborted locally: ${evt.error.message}`, { cause: evt.error })
      : new StreamResetError('the libp2p stream was reset by the remote peer', { cause: evt.error })
  }
  return new StreamResetError(`the libp2p stream was ${stream.status}`)
}

/** Bytes held before the libp2p stream is paused. */
const HIGH_WATER = 65_536

/**
 * Reads a libp2p stream chunk by chunk. Messages that arrive while nobody reads are queued up to
 * {@link HIGH_WATER} bytes; past that the stream is paused (the muxer stops granting the remote window).
 */
export class StreamReader {
  readonly #stream: Stream
  readonly #queue: Uint8Array[] = []
  #queued = 0
  #ended = false
  #failure: Error | undefined
  #wake: (() => void) | undefined

  constructor (stream: Stream) {
    this.#stream = stream
    stream.addEventListener('message', this.#onMessage)
    stream.addEventListener('end', this.#onEnd)
    stream.addEventListener('remoteCloseWrite', this.#onEnd)
    stream.addEventListener('close', this.#onClose)
    if (stream.status === 'reset' || stream.status === 'aborted') {
      this.#failure = resetError(stream)
    } else if (stream.readableEnded || stream.status === 'closed') {
      this.#ended = true
    }
  }

  #onMessage = (evt: StreamMessageEvent): void => {
    const data = evt.data
    if (data instanceof Uint8Array) {
      this.#push(data)
    } else {
      for (const chunk of data) this.#push(chunk)
    }
    if (this.#queued >= HIGH_WATER && this.#stream.readStatus === 'readable') {
      this.#stream.pause()
    }
    this.#notify()
  }

  #onEnd = (): void => {
    this.#ended = true
    this.#notify()
  }

  #onClose = (evt: StreamCloseEvent): void => {
    if (evt.error != null) {
      this.#failure ??= resetError(this.#stream, evt)
    }
    this.#ended = true
    this.#notify()
  }

  #push (chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    this.#queue.push(chunk)
    this.#queued += chunk.byteLength
  }

  #notify (): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  /** Whether the remote has ended its side and everything it sent has been read. */
  get done (): boolean {
    return this.#queue.length === 0 && this.#ended && this.#stream.readBufferLength === 0
  }

  /**
   * The next bytes; `null` once the remote has closed its write side and all was read.
   *
   * @throws {StreamResetError} the stream was reset or aborted (bytes queued before are still returned first)
   */
  async read (): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.#queue.shift()
      if (chunk != null) {
        this.#queued -= chunk.byteLength
        return chunk
      }
      if (this.#failure != null) {
        throw this.#failure
      }
      if (this.#stream.readStatus === 'paused') {
        this.#stream.resume() // delivers the stream's own buffer as message events
        continue
      }
      if (this.#ended && this.#stream.readBufferLength === 0) {
        return null
      }
      await new Promise<void>(resolve => { this.#wake = resolve })
    }
  }

  /** Put bytes back in front (what the parser did not read). */
  unshift (chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    this.#queue.unshift(chunk)
    this.#queued += chunk.byteLength
  }

  /** Stop listening. */
  release (): void {
    const stream = this.#stream
    stream.removeEventListener('message', this.#onMessage)
    stream.removeEventListener('end', this.#onEnd)
    stream.removeEventListener('remoteCloseWrite', this.#onEnd)
    stream.removeEventListener('close', this.#onClose)
    this.#failure ??= new StreamResetError('the stream reader was released')
    this.#notify()
  }
}

/**
 * Send `data`, waiting for the stream to drain when its write buffer is full.
 *
 * @throws {StreamResetError} the stream closed (reset, aborted) before it drained
 */
export async function sendAll (stream: Stream, data: Uint8Array): Promise<void> {
  if (stream.status !== 'open') {
    throw resetError(stream)
  }
  if (stream.send(data)) {
    return
  }
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
    }
    const onDrain = (): void => { done(); resolve() }
    const onClose = (evt: StreamCloseEvent): void => { done(); reject(resetError(stream, evt)) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}

/** Reset the stream (the remote sees a reset), unless it is already closed or reset. */
export function resetStream (stream: Stream, reason: Error): void {
  if (stream.status === 'open' || stream.status === 'closing') {
    stream.abort(reason)
  }
}
