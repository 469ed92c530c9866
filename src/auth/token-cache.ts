/**
 * The bearer tokens a Peer ID Authentication client keeps, for the Node client's interceptor
 * (`client.ts`) and the Web path's native fetch alike (no Node imports).
 *
 * @module
 */
import { LRUMap } from '../util/lru.js'
import type { IssuedToken } from './client-handshake.js'
import type { PeerId } from '@libp2p/interface'

/** Bearer tokens by (hostname, server peer id), bounded, least recently used first out. */
export class TokenCache {
  readonly #tokens: LRUMap<string, IssuedToken>
  readonly #now: () => number

  constructor (max = 256, now: () => number = Date.now) {
    this.#tokens = new LRUMap(max)
    this.#now = now
  }

  /** The token for `hostname` from `peer` (from any peer when `peer` is not given), unless expired. */
  get (hostname: string, peer?: PeerId): IssuedToken | undefined {
    const key = peer == null ? [...this.#tokens.keys()].reverse().find(k => k.startsWith(`${hostname} `)) : `${hostname} ${peer.toString()}`
    const token = key == null ? undefined : this.#tokens.get(key)
    if (key == null || token == null) {
      return undefined
    }
    if (token.expires != null && token.expires <= this.#now()) {
      this.#tokens.delete(key)
      return undefined
    }
    return token
  }

  set (hostname: string, token: IssuedToken): void {
    this.#tokens.set(`${hostname} ${token.serverPeer.toString()}`, token)
  }

  delete (hostname: string, peer: PeerId): void {
    this.#tokens.delete(`${hostname} ${peer.toString()}`)
  }

  get size (): number {
    return this.#tokens.size
  }
}
