/**
 * Raw bytes on a real `/http/1.1` stream, and how the exchange ended. For feeding a server input no HTTP
 * client would send.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface RawExchange {
  /** Everything the server sent, as latin1 text. */
  text: string
  /** The status codes of the responses in `text`, in order (a `100` first, then the final one). */
  statuses: number[]
  /** How the stream ended: closed by the server, reset, or still open when the bound passed. */
  end: 'close' | 'reset' | 'timeout'
}

export interface RawSend {
  /** Bytes (or chunks written one after the other) to send. */
  send: string | Buffer | Array<string | Buffer>
  /** What we do after sending: close our write side (the default), leave it open, or reset the stream. */
  then?: 'close-write' | 'keep-open' | 'reset'
  /** The stream protocol to open. @default '/http/1.1' */
  protocol?: string
}

const STATUS = /HTTP\/\d\.\d (\d{3})/g

/** Open a `/http/1.1` (or `input.protocol`) stream from `node` to `addrs`, send `input`, and read until the stream ends or `bound` ms pass. */
export async function rawExchange (node: Libp2p, addrs: Multiaddr[], input: RawSend, bound = 5000): Promise<RawExchange> {
  const stream = await node.dialProtocol(addrs, input.protocol ?? '/http/1.1')
  // listen before writing: a server that answers early (431 while we still send) may finish before we read
  const done = collect(stream, bound)
  const chunks = Array.isArray(input.send) ? input.send : [input.send]
  for (const chunk of chunks) {
    if (stream.status !== 'open') break
    if (!stream.send(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk)) {
      // a server that answered early and stopped reading may never drain: stop writing, read its answer
      await new Promise(resolve => {
        stream.addEventListener('drain', resolve, { once: true })
        stream.addEventListener('close', resolve, { once: true })
        stream.addEventListener('remoteCloseWrite', resolve, { once: true })
      })
      if (stream.writeStatus !== 'writable' || stream.remoteWriteStatus !== 'writable') break
    }
  }
  const then = input.then ?? 'close-write'
  if (then === 'close-write') {
    await stream.close().catch(() => {})
  } else if (then === 'reset') {
    stream.abort(new Error('the test resets the stream'))
  }
  return await done
}

async function collect (stream: Stream, bound: number): Promise<RawExchange> {
  let text = ''
  stream.addEventListener('message', (evt) => {
    for (const chunk of evt.data instanceof Uint8Array ? [evt.data] : evt.data) {
      text += Buffer.from(chunk).toString('latin1')
    }
  })
  const end = await new Promise<RawExchange['end']>((resolve) => {
    const timer = setTimeout(() => { resolve('timeout'); stream.abort(new Error('bound passed')) }, bound)
    const finish = (how: RawExchange['end']): void => { clearTimeout(timer); resolve(how) }
    stream.addEventListener('close', (evt) => { finish(evt.error == null ? 'close' : 'reset') })
    // the server closed its side: the exchange is over, we close ours
    stream.addEventListener('remoteCloseWrite', () => { stream.close().catch(() => {}) })
  })
  const statuses = [...text.matchAll(STATUS)].map(m => Number(m[1]))
  return { text, statuses, end }
}
/** `/http/1.1` streams open on a node's connections (either direction). */
export function openHTTPStreams (node: Libp2p): number {
  return node.getConnections().flatMap(c => c.streams).filter(s => s.protocol === '/http/1.1').length
}
