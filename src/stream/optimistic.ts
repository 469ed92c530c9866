/**
 * Optimistic multistream-select for one protocol: open a muxer stream and send the protocol proposal
 * in the same frame as the first request bytes, without waiting for the remote's confirmation. The
 * confirmation is checked when the reply arrives, in front of the response.
 *
 * libp2p 3.3 documents this as `newStream(…, { negotiateFully: false })` but does not implement it:
 * `newStream` always waits a round trip for the remote to echo the protocol (the option worked before
 * libp2p 3, through multistream-select's `optimisticSelect`). go-libp2p negotiates lazily whenever its
 * peer store says the remote supports the protocol.
 * Measured (docs/decisions.md): +30–50 % small requests per second at concurrency 1, +65–100 % at 32.
 *
 * It is sound for a single proposed protocol (go-multistream#20 concerns several proposals in a row):
 * a remote without the protocol answers `na`, then fails to read our request as a second proposal and
 * resets the stream, so nothing of the request is ever processed.
 *
 * What `newStream` does besides negotiating, and how this path keeps it:
 * - it refuses limited (relayed) connections: optimistic streams are only opened on unlimited ones;
 * - it runs stream middleware registered with `libp2p.use(protocol)`: a connection whose node has
 *   middleware for the protocol, or whose middleware cannot be inspected, is negotiated fully;
 * - it counts the stream in libp2p's metrics: done here too when the node has metrics;
 * - it records the protocol in the peer store: `StreamOpener` does so once the first stream of a
 *   connection is confirmed (later ones add nothing).
 * - it enforces the outbound stream limit of the protocol: here the client's per-peer pool size does.
 *
 * The node's stream middleware and metrics come from the node, passed in ({@link NegotiationContext}:
 * the service's components, or what `createHTTPHost` takes from a node). The muxer is reached through
 * a field of libp2p 3's `Connection` class that its TypeScript interface does not list: there is no
 * public way to open a stream without negotiating it. Anything missing means full negotiation: slower,
 * never wrong.
 *
 * @module
 */
import { varint } from 'multiformats'
import { DialError, ProtocolNotSupportedError } from '../errors.js'
import type { Connection, Metrics, Stream, StreamMuxer } from '@libp2p/interface'

/** The multistream-select 1.0 protocol id (multiformats/multistream-select). */
export const MULTISTREAM_ID = '/multistream/1.0.0'

/** The runtime shape of libp2p 3's `Connection` beyond its interface. */
interface ConnectionInternals {
  muxer?: Pick<StreamMuxer, 'createStream' | 'status'>
}

/**
 * What the node must tell about itself for a stream to be negotiated optimistically: its stream
 * middleware (the registrar's `getMiddleware`) and its metrics. Without `getMiddleware` every stream
 * is negotiated in full.
 */
export interface NegotiationContext {
  /** The stream middleware registered for `protocol` (js-libp2p's `Registrar.getMiddleware`). */
  getMiddleware?: (protocol: string) => unknown[]
  /** The node's metrics, if any: optimistic streams are counted as `newStream` counts its own. */
  metrics?: Pick<Metrics, 'trackProtocolStream'>
}

/** One multistream-select message: its length as an unsigned varint, the text, a newline. */
function message (text: string): Uint8Array {
  const body = new TextEncoder().encode(`${text}\n`)
  const length = varint.encodeTo(body.byteLength, new Uint8Array(varint.encodingLength(body.byteLength)))
  return Uint8Array.from([...length, ...body])
}

/** Why the remote's confirmation did not come: a different byte at `offset`, the end of the stream, or time. */
export type PreambleFailure = number | 'ended' | 'timeout'

/**
 * The bytes a stream carries before the application's own, in each direction: what we send in front of
 * the first write, and what the remote must answer before its first byte of response.
 */
export interface StreamPreamble {
  /** Sent in front of the first write. */
  readonly outgoing: Uint8Array
  /** The exact bytes the remote must send first. */
  readonly expected: Uint8Array
  /** How long the remote has to send them, in milliseconds from the socket's creation. */
  readonly timeout: number
  /** The error to fail with when {@link StreamPreamble.expected} does not arrive. */
  refused: (why: PreambleFailure) => Error
  /**
   * Called once when the remote's answer is settled: without an argument when it matched, with the
   * error when it did not, or when the socket was destroyed before it came.
   */
  onSettled?: (err?: Error) => void
}

const HEADER = message(MULTISTREAM_ID)
const proposals = new Map<string, Uint8Array>()

/** The multistream header and the proposal of `protocol`, built once per protocol (once per stream is measurable). */
function proposalOf (protocol: string): Uint8Array {
  let bytes = proposals.get(protocol)
  if (bytes == null) {
    bytes = Uint8Array.from([...HEADER, ...message(protocol)])
    proposals.set(protocol, bytes)
  }
  return bytes
}

/** {@link optimisticPreamble}'s value: a class, so that a stream's preamble creates no closures. */
class OptimisticPreamble implements StreamPreamble {
  readonly outgoing: Uint8Array
  readonly expected: Uint8Array
  readonly timeout: number
  readonly onSettled: ((err?: Error) => void) | undefined
  readonly #protocol: string
  readonly #target: string

  constructor (protocol: string, target: string, timeout: number, onSettled: ((err?: Error) => void) | undefined) {
    const bytes = proposalOf(protocol)
    this.outgoing = bytes
    this.expected = bytes
    this.timeout = timeout
    this.onSettled = onSettled
    this.#protocol = protocol
    this.#target = target
  }

  refused (why: PreambleFailure): Error {
    const target = this.#target
    if (why === 'timeout') {
      return new DialError(target, `peer ${target} did not confirm ${this.#protocol} within ${this.timeout} ms`)
    }
    if (why === 'ended') {
      // a clean end is the stream or connection closing, not an answer about the protocol
      return new DialError(target, `peer ${target} ended the stream before confirming ${this.#protocol}`)
    }
    if (why < HEADER.byteLength) {
      return new DialError(target, `peer ${target} did not answer with multistream-select on a ${this.#protocol} stream`)
    }
    // After the header, multistream-select allows only the protocol echoed or `na`.
    return new ProtocolNotSupportedError(target, this.#protocol)
  }
}

/**
 * The preamble of an optimistic proposal of `protocol` to peer `target`, to be confirmed within
 * `timeout` ms (what is left of the connect timeout: the bound of a full negotiation too), `onSettled`
 * told of the answer. A remote that accepts answers with exactly the bytes we sent: the multistream
 * header, then the protocol echoed. One object and no closures per stream: the published build keeps
 * function names (`keepNames`), a `defineProperty` for each named closure (issue 21).
 */
export function optimisticPreamble (protocol: string, target: string, timeout: number, onSettled?: (err?: Error) => void): StreamPreamble {
  return new OptimisticPreamble(protocol, target, timeout, onSettled)
}

/** A stream from {@link openOptimisticStream}. */
export interface OptimisticStream {
  stream: Stream
  /**
   * Whether the protocol still has to be proposed (with {@link optimisticPreamble}): false when the
   * muxer negotiated it itself, as `newStream` allows muxers to.
   */
  propose: boolean
}

/**
 * Open a raw muxer stream on `connection` for `protocol`, to be negotiated optimistically, or
 * `undefined` when the connection or the node does not allow it (see the module comment): the caller then uses
 * `connection.newStream`.
 */
export async function openOptimisticStream (connection: Connection, protocol: string, node: NegotiationContext): Promise<OptimisticStream | undefined> {
  const muxer = (connection as unknown as ConnectionInternals).muxer
  if (connection.limits != null || connection.status !== 'open' || muxer?.status !== 'open' ||
      typeof muxer.createStream !== 'function' || typeof node.getMiddleware !== 'function') {
    return undefined
  }
  const middleware = node.getMiddleware(protocol)
  if (!Array.isArray(middleware) || middleware.length > 0) {
    return undefined
  }
  const stream = await muxer.createStream({ protocol })
  const propose = stream.protocol === ''
  // What newStream sets once negotiated: libp2p's stream listings and limits read it.
  stream.protocol = protocol
  node.metrics?.trackProtocolStream(stream)
  return { stream, propose }
}

/**
 * The remote's answer to an optimistic proposal, checked as its first bytes arrive, for a reader
 * without Node streams (the Web path's HTTP/1.1 client; `StreamSocket` checks its own). The bytes that
 * match are consumed and what follows is the application's. It settles once, when the answer matched,
 * differed, the stream ended, its time ran out or {@link PreambleCheck.cancel} was called; the
 * preamble's `onSettled` hears of it, and of a failure `onRefused` too.
 */
export class PreambleCheck {
  readonly #preamble: StreamPreamble
  readonly #onRefused: (err: Error) => void
  readonly #timer: ReturnType<typeof setTimeout>
  #at = 0
  #settled = false
  #confirm!: () => void
  #refuse!: (err: Error) => void
  /** Resolves once the answer matched, rejects with the refusal; what a request body waits for. */
  readonly confirmation: Promise<void>

  constructor (preamble: StreamPreamble, onRefused: (err: Error) => void) {
    this.#preamble = preamble
    this.#onRefused = onRefused
    this.confirmation = new Promise<void>((resolve, reject) => { this.#confirm = resolve; this.#refuse = reject })
    // nobody may wait for it (a request without a body): its rejection is reported through onRefused
    this.confirmation.catch(() => {})
    this.#timer = setTimeout(() => { this.#fail(preamble.refused('timeout')) }, preamble.timeout)
  }

  /** Whether the answer is still to come. */
  get pending (): boolean {
    return !this.#settled
  }

  /** What follows the answer in `bytes`: `undefined` when all of it was answer, or the answer was refused. */
  consume (bytes: Uint8Array): Uint8Array | undefined {
    if (this.#settled) return bytes
    const expected = this.#preamble.expected
    const n = Math.min(bytes.byteLength, expected.byteLength - this.#at)
    for (let i = 0; i < n; i++) {
      if (bytes[i] !== expected[this.#at + i]) {
        this.#fail(this.#preamble.refused(this.#at + i))
        return undefined
      }
    }
    this.#at += n
    if (this.#at === expected.byteLength) {
      this.#settle()
      this.#confirm()
    }
    return n < bytes.byteLength ? bytes.subarray(n) : undefined
  }

  /** The stream ended: a refusal if the answer had not all come. */
  ended (): void {
    if (!this.#settled) this.#fail(this.#preamble.refused('ended'))
  }

  /** The exchange failed for another reason (`err`) before the answer came. */
  cancel (err: Error): void {
    if (this.#settled) return
    this.#settle(err)
    this.#refuse(err)
  }

  #fail (err: Error): void {
    if (this.#settled) return
    this.#settle(err)
    this.#refuse(err)
    this.#onRefused(err)
  }

  #settle (err?: Error): void {
    this.#settled = true
    clearTimeout(this.#timer)
    this.#preamble.onSettled?.(err)
  }
}
