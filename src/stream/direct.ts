/**
 * From a relayed connection to a direct one, where the peer has told us a direct address (identify, a
 * lookup). js-libp2p upgrades a relayed connection only through DCUtR, which the side that accepted the
 * relayed connection starts: it dials the other side's public address, or runs a hole punch that needs
 * addresses from both. A consumer behind a NAT has none, so a provider that is reachable (a port forward
 * on its router, `serve --announce`) was still only ever reached through the relay when the consumer
 * dialled its `/p2p-circuit` address. libp2p's dialler would use the direct address for a dial by peer
 * id, but nothing dials while a relayed connection is open.
 *
 * So when a request finds only limited connections to a peer, the peer's direct addresses from the
 * node's peer store are dialled once, in the background, within a bound; the request goes on over the
 * relay meanwhile, and the next one takes the direct connection (the opener prefers it; each request
 * has a stream of its own). One attempt per
 * relayed connection and at most one in flight per peer: a failure is not retried until a new relayed
 * connection replaces the one tried. The relayed connection is left open: exchanges on it finish, and
 * the relay's limits end it.
 *
 * @module
 */
import { debuglog } from 'node:util'
import { isCircuitAddress } from '../addr/addressing.js'
import type { AbortOptions, Connection, IdentifyResult, Libp2pEvents, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const debug = debuglog('libp2phttp')

/** The part of a libp2p node the upgrade needs. */
export interface DirectDialer {
  dial: (target: Multiaddr[], options?: AbortOptions) => Promise<Connection>
  /** js-libp2p's peer store: the addresses the node knows for a peer. */
  peerStore: { get: (peer: PeerId) => Promise<{ addresses: Array<{ multiaddr: Multiaddr }> }> }
  /** The node's events: `peer:identify` says that a peer's addresses have just been learnt. */
  events?: Pick<TypedEventTarget<Pick<Libp2pEvents, 'peer:identify'>>, 'addEventListener' | 'removeEventListener'>
}

/** Resolves when `peer` is next identified, or `signal` aborts (then rejects). */
async function nextIdentify (events: NonNullable<DirectDialer['events']>, peer: PeerId, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      events.removeEventListener('peer:identify', onIdentify)
      signal.removeEventListener('abort', onAbort)
    }
    const onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
      if (!evt.detail.peerId.equals(peer)) return
      done()
      resolve()
    }
    const onAbort = (): void => { done(); reject(signal.reason) }
    events.addEventListener('peer:identify', onIdentify)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Dials a peer's direct addresses once per relayed connection (see the module's comment). */
export class DirectUpgrade {
  readonly #dialer: DirectDialer
  readonly #tried = new WeakSet<Connection>()
  readonly #inFlight = new Map<string, Promise<Connection | undefined>>()
  readonly #closing = new AbortController()

  constructor (dialer: DirectDialer) {
    this.#dialer = dialer
  }

  /**
   * `limited` is the connection a request to `peer` is about to use, for want of a direct one: dial the
   * peer's direct addresses, within `timeout` ms, unless that was done for `limited` already or is under
   * way. When the peer's addresses are not known yet (its identify has not answered), waits for them
   * within the same bound. Resolves with the direct connection, or undefined when there is none; never
   * rejects, and nobody needs to wait for it.
   */
  async offer (peer: PeerId, limited: Connection, timeout: number): Promise<Connection | undefined> {
    const key = peer.toString()
    if (this.#closing.signal.aborted || this.#tried.has(limited)) return undefined
    const pending = this.#inFlight.get(key)
    if (pending != null) return await pending
    const attempt = this.#attempt(peer, limited, timeout).finally(() => { this.#inFlight.delete(key) })
    this.#inFlight.set(key, attempt)
    return await attempt
  }

  /** Stops: attempts under way are aborted, and no new one starts. */
  close (): void {
    this.#closing.abort()
  }

  async #attempt (peer: PeerId, limited: Connection, timeout: number): Promise<Connection | undefined> {
    const signal = AbortSignal.any([this.#closing.signal, AbortSignal.timeout(timeout)])
    try {
      let direct = await this.#directAddresses(peer)
      const events = this.#dialer.events
      if (direct.length === 0 && events != null) {
        await nextIdentify(events, peer, signal)
        direct = await this.#directAddresses(peer)
      }
      // none known: not counted as tried, the next request looks again
      if (direct.length === 0) {
        debug('relayed to %s: no direct address known', peer.toString())
        return undefined
      }
      this.#tried.add(limited)
      debug('relayed to %s: dialling its direct addresses %s', peer.toString(), direct.map(String).join(' '))
      const connection = await this.#dialer.dial(direct, { signal })
      debug('direct connection to %s: %s', peer.toString(), connection.remoteAddr.toString())
      return connection
    } catch (err) {
      debug('no direct connection to %s: %s', peer.toString(), (err as Error).message)
      return undefined
    }
  }

  /** The peer's addresses that do not go through a relay, each with its peer id. */
  async #directAddresses (peer: PeerId): Promise<Multiaddr[]> {
    const known = await this.#dialer.peerStore.get(peer).catch(() => ({ addresses: [] }))
    return known.addresses.map(a => a.multiaddr).filter(a => !isCircuitAddress(a))
      // with the peer id, so that libp2p proves the peer and never takes another peer at that address
      .map(a => a.getComponents().some(c => c.name === 'p2p') ? a : a.encapsulate(`/p2p/${peer.toString()}`))
  }
}
