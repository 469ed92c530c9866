/**
 * Who may open another inbound `/http/1.1` stream: the per-peer and total limits, and a reserve that
 * keeps the total from locking everyone out. Pure bookkeeping, no I/O.
 *
 * Peer ids cost nothing to make, so "N peers × the per-peer limit" can reach the total (17 × 256 >
 * 4096). The policy, in order:
 * 1. A peer holding `maxPerPeer` streams gets no more.
 * 2. Below `total − reserve` streams in all, any peer gets one (the shared pool).
 * 3. Past it, up to `total`, only a peer holding fewer than `few` streams gets one (the reserve), and
 *    one remote address (IPv4 address, IPv6 /64) may hold at most half the reserve: a new or quiet peer
 *    is still served while a few peers hold the rest, and many fresh ids from one address cannot
 *    empty the reserve alone.
 *
 * The reserve is ⌊total / 8⌋ (512 of 4096), `few` is 4 (or `maxPerPeer` if smaller).
 *
 * @module
 */
import type { Multiaddr } from '@multiformats/multiaddr'

/** A granted stream, to give back with {@link StreamSlots.release}. */
export interface Slot {
  readonly peer: string
  /** The remote address key when the slot came from the reserve. */
  readonly reserveOf: string | undefined
}

/** The slots of one stream listener. */
export class StreamSlots {
  readonly #maxPerPeer: number
  readonly #total: number
  readonly #reserve: number
  readonly #few: number
  readonly #reservePerAddress: number
  readonly #perPeer = new Map<string, number>()
  readonly #reservedBy = new Map<string, number>()
  #open = 0

  constructor (maxPerPeer: number, total: number) {
    this.#maxPerPeer = maxPerPeer
    this.#total = total
    this.#reserve = Math.floor(total / 8)
    this.#few = Math.min(4, maxPerPeer)
    this.#reservePerAddress = Math.max(1, Math.floor(this.#reserve / 2))
  }

  /** Streams granted and not released. */
  get open (): number {
    return this.#open
  }

  /** A slot for a stream of `peer` from `address` (see {@link addressKey}), or `undefined` when refused. */
  acquire (peer: string, address: string): Slot | undefined {
    const held = this.#perPeer.get(peer) ?? 0
    if (held >= this.#maxPerPeer || this.#open >= this.#total) {
      return undefined
    }
    let reserveOf: string | undefined
    if (this.#open >= this.#total - this.#reserve) {
      const reserved = this.#reservedBy.get(address) ?? 0
      if (held >= this.#few || reserved >= this.#reservePerAddress) {
        return undefined
      }
      reserveOf = address
      this.#reservedBy.set(address, reserved + 1)
    }
    this.#perPeer.set(peer, held + 1)
    this.#open++
    return { peer, reserveOf }
  }

  /** Give a slot back. */
  release (slot: Slot): void {
    this.#open--
    decrement(this.#perPeer, slot.peer)
    if (slot.reserveOf != null) {
      decrement(this.#reservedBy, slot.reserveOf)
    }
  }
}

function decrement (counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1
  if (left === 0) counts.delete(key)
  else counts.set(key, left)
}

/**
 * The remote address a connection's streams are counted under: the IPv4 address, the /64 of an IPv6
 * one (one host usually has a whole /64), else the first component as written (a DNS name, a relay).
 */
export function addressKey (addr: Multiaddr): string {
  const first = addr.getComponents()[0]
  if (first == null) {
    return ''
  }
  if (first.name === 'ip6' && first.value != null) {
    const key = ipv6Prefix64(first.value)
    // an IPv4-mapped address is the IPv4 host it carries
    return key.includes('.') ? `ip4/${key}` : `ip6/${key}`
  }
  return `${first.name}/${first.value ?? ''}`
}

/** The first four groups of an IPv6 address, expanded; an IPv4-mapped address (`::ffff:a.b.c.d`) gives its IPv4 part. */
function ipv6Prefix64 (address: string): string {
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address)
  const hex = dotted == null
    ? address
    : `${dotted[1]}${((Number(dotted[2]) << 8) | Number(dotted[3])).toString(16)}:${((Number(dotted[4]) << 8) | Number(dotted[5])).toString(16)}`
  const [head, tail] = hex.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail == null || tail === '' ? [] : tail.split(':')
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right].map(g => Number.parseInt(g, 16))
  if (groups.slice(0, 5).every(g => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join('.')
  }
  return groups.slice(0, 4).map(g => g.toString(16)).join(':')
}
