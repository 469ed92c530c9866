/**
 * Keep a connection to one peer: when it drops, dial again with exponential backoff (and jitter) until
 * it is back, reporting each step. Requests in between dial on their own; this makes the next one fast
 * and tells the operator what happened.
 *
 * @module
 */
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The part of a js-libp2p node {@link keepConnected} uses. */
export interface RedialNode {
  dial: (peer: PeerId | Multiaddr | Multiaddr[], options?: { signal?: AbortSignal }) => Promise<Connection>
  addEventListener: (type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void) => void
  removeEventListener: (type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void) => void
}

/** Options for {@link keepConnected}. */
export interface RedialOptions {
  /** First delay, in ms. @default 250 */
  minDelay?: number
  /** Longest delay, in ms. @default 30000 */
  maxDelay?: number
  /** Told about drops, failed attempts and reconnections. */
  report?: (event: { type: 'disconnected' | 'retry' | 'reconnected', attempt: number, delay?: number, error?: Error }) => void
  /** Randomness for the jitter, in [0, 1). @default Math.random */
  random?: () => number
}

/**
 * Watch `peer`; redial `addrs` with backoff whenever its last connection closes. Returns a function that
 * stops watching (and any redial in progress).
 */
export function keepConnected (node: RedialNode, peer: PeerId, addrs: Multiaddr[], options: RedialOptions = {}): () => void {
  const minDelay = options.minDelay ?? 250
  const maxDelay = options.maxDelay ?? 30_000
  const random = options.random ?? Math.random
  const stop = new AbortController()
  let redialling = false

  const redial = async (): Promise<void> => {
    redialling = true
    try {
      for (let attempt = 1; !stop.signal.aborted; attempt++) {
        // full backoff doubling, with up to 20 % jitter so that many consumers do not redial in step
        const delay = Math.min(maxDelay, minDelay * 2 ** (attempt - 1)) * (1 + 0.2 * random())
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, delay)
          stop.signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
        })
        if (stop.signal.aborted) return
        try {
          await node.dial(addrs.length > 0 ? addrs : peer, { signal: AbortSignal.any([stop.signal, AbortSignal.timeout(10_000)]) })
          options.report?.({ type: 'reconnected', attempt })
          return
        } catch (err) {
          if (stop.signal.aborted) return
          options.report?.({ type: 'retry', attempt, delay: Math.round(Math.min(maxDelay, minDelay * 2 ** attempt)), error: err as Error })
        }
      }
    } finally {
      redialling = false
    }
  }

  const onDisconnect = (event: CustomEvent<PeerId>): void => {
    if (!event.detail.equals(peer) || redialling || stop.signal.aborted) return
    options.report?.({ type: 'disconnected', attempt: 0 })
    void redial()
  }
  node.addEventListener('peer:disconnect', onDisconnect)
  return () => {
    stop.abort()
    node.removeEventListener('peer:disconnect', onDisconnect)
  }
}
