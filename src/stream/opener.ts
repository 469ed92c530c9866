/**
 * Opening outbound `/http/1.1` streams: reuse an open connection to the peer (a direct one before a
 * relayed one), else dial the target's addresses, then the peer; open the first stream of a connection
 * alone, every stream negotiated optimistically. No Node APIs: the Node client wraps each stream as a socket
 * for undici (`connect.ts`), the browser host hands it to its HTTP/1.1 codec (`src/web/`).
 *
 * @module
 */
import { DialError, LibP2PHTTPError, ProtocolNotSupportedError } from '../errors.js'
import { openOptimisticStream } from './optimistic.js'
import { HTTP_STREAM_PROTOCOL } from './protocol.js'
import type { DirectDialer } from './direct.js'
import type { NegotiationContext } from './optimistic.js'
import type { AbortOptions, Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The part of a libp2p node the client needs. */
export interface StreamDialer extends NegotiationContext {
  dial: (target: PeerId | Multiaddr | Multiaddr[], options?: AbortOptions) => Promise<Connection>
  /** Open connections to `peer`: used as they are, without a trip through the dialler. */
  getConnections?: (peer?: PeerId) => Connection[]
  /**
   * js-libp2p's peer store: with it, a peer reached only through a relay has its known direct addresses
   * dialled once in the background (`direct.ts`).
   */
  peerStore?: DirectDialer['peerStore'] & {
    /** Records what a peer speaks once it confirmed a first stream, as libp2p's `newStream` does. */
    merge?: (peer: PeerId, data: { protocols: string[] }) => Promise<unknown>
  }
  /** The node's events (`peer:identify`): a relayed peer's addresses may come after the first request. */
  addEventListener?: IdentifyEvents['addEventListener']
  removeEventListener?: IdentifyEvents['removeEventListener']
}

type IdentifyEvents = NonNullable<DirectDialer['events']>

/**
 * Options of a {@link StreamOpener}. (The bound on dialling and negotiating is not one of them: it is
 * passed per stream: the client's `connectTimeout`.)
 */
export interface StreamOpenerOptions {
  /** Addresses known for a peer (from the fetch target), tried before the peer store. */
  addressesOf?: (peer: PeerId) => Multiaddr[] | undefined
  /** The outbound stream limit to ask for when no `/http/1.1` handler is registered locally. */
  maxOutboundStreams?: number
  /**
   * How `/http/1.1` is negotiated on a new stream: `'optimistic'` sends the protocol proposal together
   * with the request (one round trip less), on every stream; `'full'` waits for the peer's confirmation
   * on every stream.
   *
   * @default 'optimistic'
   */
  streamNegotiation?: 'optimistic' | 'full'
  /** The stream protocol id opened (see {@link DispatcherOptions.streamProtocol}). @default '/http/1.1' */
  streamProtocol?: string
  /**
   * Whether requests may use a limited (relayed) connection when the peer has no direct one: a relay's
   * data or time limit cutting an exchange short then fails it with `RelayLimitError`.
   *
   * @default false (the host passes its `runOnLimitedConnection`, `true` by default)
   */
  runOnLimitedConnection?: boolean
}

/**
 * Makes what the opener returns of a new stream. `confirmWithin` is set when the protocol was proposed
 * optimistically and the peer's confirmation is still to come within that many ms (see `optimistic.ts`);
 * `onSettled`, given for the first stream of a connection, must hear of that confirmation (no argument)
 * or of its failure (the error): the rest of a burst waits for it.
 */
export type StreamWrapper<T> = (connection: Connection, stream: Stream, confirmWithin: number | undefined, onSettled?: (err?: Error) => void) => T

/** A background upgrade of a relayed connection to a direct one (`direct.ts`). */
export interface DirectUpgrader {
  offer: (peer: PeerId, limited: Connection, timeout: number) => unknown
  close: () => void
}

/**
 * A time bound started now: `AbortSignal.timeout(ms)` from now, created on first use, and the
 * milliseconds left. Most streams open on a connection that is already there without waiting for
 * anything, and an `AbortSignal` with its timer costs more than the rest of opening such a stream. A
 * class rather than closures: the published build keeps function names (`keepNames`), which costs a
 * `defineProperty` for each named closure created per request (issue 21).
 */
class Bound {
  readonly #start = performance.now()
  readonly #ms: number
  #signal: AbortSignal | undefined

  constructor (ms: number) {
    this.#ms = ms
  }

  left (): number {
    return Math.max(0, Math.ceil(this.#ms - (performance.now() - this.#start)))
  }

  /** When it runs out, on `performance.now()`'s clock. */
  get end (): number {
    return this.#start + this.#ms
  }

  signal (): AbortSignal {
    this.#signal ??= AbortSignal.timeout(this.left())
    return this.#signal
  }
}

/**
 * Dial a peer and open a `/http/1.1` stream on it.
 *
 * Every stream is negotiated optimistically (`optimistic.ts`), the first of a connection too: its
 * request leaves with the noise handshake's last message instead of a round trip later. The first
 * stream is still opened alone: a remote that is still setting the connection up drops it when more
 * than a few streams arrive early (`MaxEarlyStreamsError`), which would fail every request of a burst.
 * Once the remote has confirmed the first stream's protocol it is ready, and the rest go at once; when
 * it answers that it does not speak the protocol, the rest fail with that answer. Any other failure of
 * the first stream (its request aborted, a reset, no answer in time) lets the next of the burst try.
 */
export class StreamOpener<T> {
  readonly #dialer: StreamDialer
  readonly #options: StreamOpenerOptions
  readonly #protocol: string
  readonly #ready = new WeakSet<Connection>()
  /** The first stream of a connection being confirmed: its settlement, and when its owner's bound ends. */
  readonly #firstStream = new WeakMap<Connection, { settled: Promise<unknown>, deadline: number }>()
  readonly #wrap: StreamWrapper<T>
  readonly #direct: DirectUpgrader | undefined

  /**
   * `wrap` makes what {@link StreamOpener.open} returns of each new stream (a Node socket for undici, the
   * stream itself in the browser); `direct` is tried in the background when a request goes over a relay.
   */
  constructor (dialer: StreamDialer, options: StreamOpenerOptions, wrap: StreamWrapper<T>, direct?: DirectUpgrader) {
    this.#dialer = dialer
    this.#options = options
    this.#protocol = options.streamProtocol ?? HTTP_STREAM_PROTOCOL
    this.#wrap = wrap
    this.#direct = direct
  }

  /** Stops: background dials for a direct connection are aborted (requests in flight are not touched). */
  close (): void {
    this.#direct?.close()
  }

  /** Open one `/http/1.1` stream to `peer` and wrap it, within `timeout` ms. */
  async open (peer: PeerId, timeout: number): Promise<T> {
    const bound = new Bound(timeout)
    const addrs = this.#options.addressesOf?.(peer)
    let connection: Connection
    try {
      connection = await this.#dial(peer, addrs, bound)
    } catch (err) {
      throw new DialError(peer.toString(), `could not dial peer ${peer.toString()}: ${(err as Error).message}`, { cause: err })
    }
    while (!this.#ready.has(connection)) {
      const pending = this.#firstStream.get(connection)
      if (pending == null) {
        let settle!: (err?: Error) => void
        const settled = new Promise<void>((resolve, reject) => { settle = (err) => { err == null ? resolve() : reject(err) } })
        this.#firstStream.set(connection, { settled, deadline: bound.end })
        settled.then(() => { this.#ready.add(connection) }, () => {}).finally(() => { this.#firstStream.delete(connection) })
        try {
          return await this.#newStream(connection, peer, bound, settle)
        } catch (err) {
          settle(err as Error)
          throw err
        }
      }
      const refused = await pending.settled.then(() => undefined, (err: unknown) => err)
      // `na` on the first stream is the peer's answer for the connection: the rest of a burst fails
      // with it rather than proposing the protocol again in turn, a round trip (and a request head) each
      if (refused instanceof ProtocolNotSupportedError) {
        throw new ProtocolNotSupportedError(peer.toString(), this.#protocol, { cause: refused })
      }
      if (refused != null && (bound.left() === 0 || performance.now() >= pending.deadline)) {
        // The first stream ran out of time without an answer: the requests that waited behind it have
        // spent as long, and a stream of their own would be given what is left (a few ms) to be
        // confirmed by a peer that just gave no answer in the whole bound. Later requests try afresh.
        throw new DialError(peer.toString(), `the first ${this.#protocol} stream to ${peer.toString()} got no confirmation in time (${(refused as Error).message}); this request waited behind it`, { cause: refused })
      }
    }
    return await this.#newStream(connection, peer, bound)
  }

  /**
   * An open connection to the peer if there is one (the common case: every request after the first);
   * else the addresses from the target first, and if they fail, whatever the node knows about the peer.
   */
  async #dial (peer: PeerId, addrs: Multiaddr[] | undefined, bound: Bound): Promise<Connection> {
    const connections = this.#dialer.getConnections?.(peer).filter(c => c.status === 'open') ?? []
    // A direct connection first (DCUtR may have upgraded a relayed one); else a relayed one already
    // there: dialling again would only open a second circuit through the same relay.
    const open = connections.find(c => c.limits == null) ??
      (this.#options.runOnLimitedConnection === true ? connections.find(c => c.limits != null) : undefined)
    if (open != null) {
      if (open.limits != null) this.#tryDirect(peer, open, bound)
      return open
    }
    const dialled = await this.#dialAnew(peer, addrs, bound)
    if (dialled.limits != null) this.#tryDirect(peer, dialled, bound)
    return dialled
  }

  async #dialAnew (peer: PeerId, addrs: Multiaddr[] | undefined, bound: Bound): Promise<Connection> {
    const signal = bound.signal()
    if (addrs == null || addrs.length === 0) {
      return await this.#dialer.dial(peer, { signal })
    }
    try {
      return await this.#dialer.dial(addrs, { signal })
    } catch (err) {
      signal.throwIfAborted()
      try {
        return await this.#dialer.dial(peer, { signal })
      } catch {
        throw err
      }
    }
  }

  /**
   * The request goes over `limited`, a relayed connection: in the background, try once for a direct one
   * (`direct.ts`). Each request has a stream of its own (no keep-alive, `dispatcher.ts`), so the next
   * one opens its stream on the direct connection once it is there.
   */
  #tryDirect (peer: PeerId, limited: Connection, bound: Bound): void {
    void this.#direct?.offer(peer, limited, bound.left())
  }

  /**
   * Open a stream: optimistically when allowed (`optimistic.ts`), else negotiated in full. `first` is
   * given for the first stream of a connection: it is called once the peer has confirmed the protocol
   * (or with the error when it did not), which is when the rest of a burst may go.
   */
  async #newStream (connection: Connection, peer: PeerId, bound: Bound, first?: (err?: Error) => void): Promise<T> {
    const protocol = this.#protocol
    try {
      if (this.#options.streamNegotiation !== 'full') {
        const optimistic = await openOptimisticStream(connection, protocol, this.#dialer)
        if (optimistic != null) {
          // the confirmation gets what is left of the connect bound, as a full negotiation would
          const left = bound.left()
          if (optimistic.propose && left === 0) {
            optimistic.stream.abort(new Error('no time left to confirm the stream'))
            throw new DialError(peer.toString(), `this request's bound ran out before its ${protocol} stream to ${peer.toString()} could be proposed`)
          }
          const onSettled = first == null ? undefined : this.#firstSettled(connection, first)
          if (!optimistic.propose) onSettled?.()
          return this.#wrap(connection, optimistic.stream, optimistic.propose ? left : undefined, onSettled)
        }
      }
      const stream = await connection.newStream(protocol, {
        signal: bound.signal(),
        maxOutboundStreams: this.#options.maxOutboundStreams,
        runOnLimitedConnection: this.#options.runOnLimitedConnection
      })
      first?.()
      return this.#wrap(connection, stream, undefined)
    } catch (err) {
      if ((err as Error).name === 'UnsupportedProtocolError') {
        throw new ProtocolNotSupportedError(peer.toString(), protocol, { cause: err })
      }
      if (err instanceof LibP2PHTTPError) {
        throw err
      }
      throw new DialError(peer.toString(), `could not open a ${protocol} stream to ${peer.toString()}: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * What to do once the first stream of `connection` is confirmed: record in the peer store that the
   * peer speaks the protocol (as `newStream` does), then let the rest of a burst go.
   */
  #firstSettled (connection: Connection, first: (err?: Error) => void): (err?: Error) => void {
    return (err) => {
      if (err == null) {
        this.#dialer.peerStore?.merge?.(connection.remotePeer, { protocols: [this.#protocol] }).catch(() => {})
      }
      first(err)
    }
  }
}
