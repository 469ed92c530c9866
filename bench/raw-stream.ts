/**
 * The raw libp2p stream protocol the bench compares HTTP against: the least work anything carried on
 * streams can do. One stream per exchange; the request is a line (`small`, `bytes N`, `upload`,
 * `first`), the reply raw bytes; each side closes its write side when done.
 */
import type { Stream } from '@libp2p/interface'

export const RAW_PROTOCOL = '/libp2phttp-bench/raw/1'

const CHUNK = new Uint8Array(64 * 1024)
export const SMALL_BODY = new TextEncoder().encode('hello from the bench server\n')

function bytesOf (data: Uint8Array | Iterable<Uint8Array>): Uint8Array[] {
  return data instanceof Uint8Array ? [data] : [...data]
}

/** Send `data`, waiting for `drain` when the stream's buffer is full (not `onDrain()`: see socket.ts). */
export async function send (stream: Stream, data: Uint8Array): Promise<void> {
  if (stream.send(data)) return
  await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => { queueMicrotask(() => { if (!stream.writableNeedsDrain) { done(); resolve() } }) }
    const onClose = (): void => { done(); reject(new Error('stream closed while waiting for drain')) }
    const done = (): void => { stream.removeEventListener('drain', onDrain); stream.removeEventListener('close', onClose) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}

/**
 * Read a stream with events (its async iterator misses data that arrived before it started):
 * `onData` per chunk; resolves when the remote closes its write side.
 */
export async function receive (stream: Stream, onData: (chunk: Uint8Array) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.addEventListener('message', (evt) => { for (const chunk of bytesOf(evt.data)) onData(chunk) })
    stream.addEventListener('remoteCloseWrite', () => { resolve() })
    stream.addEventListener('close', (evt) => { evt.error == null ? resolve() : reject(evt.error) })
    if (stream.readStatus !== 'readable') resolve()
  })
}

/** The server side of the raw protocol. */
export async function serveRaw (stream: Stream): Promise<void> {
  let head = ''
  let uploaded = 0
  let command: Promise<void> | undefined
  const decoder = new TextDecoder()
  const run = async (line: string): Promise<void> => {
    const [op, arg] = line.split(' ')
    if (op === 'small') {
      await send(stream, SMALL_BODY)
    } else if (op === 'bytes') {
      let left = Number(arg)
      while (left > 0) {
        const n = Math.min(left, CHUNK.byteLength)
        await send(stream, n === CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, n))
        left -= n
      }
    } else if (op === 'first') {
      await send(stream, new TextEncoder().encode('first'))
      await new Promise(resolve => setImmediate(resolve))
      await send(stream, new TextEncoder().encode('rest'))
    }
  }
  let line: string | undefined
  await receive(stream, (chunk) => {
    if (line != null) {
      uploaded += chunk.byteLength
      return
    }
    const newline = chunk.indexOf(10)
    if (newline === -1) {
      head += decoder.decode(chunk, { stream: true })
      return
    }
    line = head + decoder.decode(chunk.subarray(0, newline))
    uploaded += chunk.byteLength - newline - 1
    if (line !== 'upload') command = run(line)
  })
  await command
  if (line === 'upload') {
    await send(stream, new TextEncoder().encode(String(uploaded)))
  }
  await stream.close()
}
