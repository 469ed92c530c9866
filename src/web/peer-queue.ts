/**
 * At most `max` requests in flight to one peer; the rest wait their turn in order (what undici's
 * per-origin connection limit does for the Node client, `maxStreamsPerPeer`). A waiter whose signal
 * aborts leaves the queue. Entries of idle peers are dropped, so memory follows the peers in use.
 *
 * @module
 */

interface PeerState {
  active: number
  waiters: Array<() => void>
}

/** Per-peer request slots. */
export class PeerQueue {
  readonly #max: number
  readonly #peers = new Map<string, PeerState>()

  constructor (max: number) {
    this.#max = max
  }

  /** Requests in flight to `peer`, and waiting for it. */
  stats (peer: string): { active: number, waiting: number } {
    const state = this.#peers.get(peer)
    return { active: state?.active ?? 0, waiting: state?.waiters.length ?? 0 }
  }

  /**
   * Wait for a slot for `peer`; resolves with its release (idempotent).
   *
   * @throws the signal's reason when it aborts first
   */
  async acquire (peer: string, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted()
    let state = this.#peers.get(peer)
    if (state == null) {
      state = { active: 0, waiters: [] }
      this.#peers.set(peer, state)
    }
    const held = state
    if (held.active >= this.#max) {
      await new Promise<void>((resolve, reject) => {
        const grant = (): void => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
        const onAbort = (): void => {
          const at = held.waiters.indexOf(grant)
          if (at >= 0) held.waiters.splice(at, 1)
          this.#forgetIfIdle(peer, held)
          reject(signal?.reason)
        }
        held.waiters.push(grant)
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    } else {
      held.active++
    }
    let released = false
    return () => {
      if (released) return
      released = true
      const next = held.waiters.shift()
      if (next != null) {
        next() // the slot passes to the next waiter: `active` stays
        return
      }
      held.active--
      this.#forgetIfIdle(peer, held)
    }
  }

  #forgetIfIdle (peer: string, state: PeerState): void {
    if (state.active === 0 && state.waiters.length === 0 && this.#peers.get(peer) === state) {
      this.#peers.delete(peer)
    }
  }
}
