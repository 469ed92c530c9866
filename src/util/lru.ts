/**
 * A bounded map that forgets the least recently used entry first. Everything a remote can make the
 * host remember (addresses from targets and redirects, SNI routes, protocol maps) lives in one of
 * these, so no peer can grow memory without bound.
 *
 * @module
 */
/** No key: what `LRUMap`'s most recent key is when none is known (any key, `undefined` too, may be stored). */
const NONE: unique symbol = Symbol('none')

export class LRUMap<K, V> {
  readonly #map = new Map<K, V>()
  readonly #max: number
  readonly #onEvict: ((key: K, value: V) => void) | undefined
  /** The most recently used key (the map's last entry), or `NONE`. */
  #newest: K | typeof NONE = NONE

  /** `onEvict` is told of entries dropped for room (not of `delete`s or replacements). */
  constructor (max: number, onEvict?: (key: K, value: V) => void) {
    this.#max = max
    this.#onEvict = onEvict
  }

  /** Keys, least recently used first. */
  keys (): IterableIterator<K> {
    return this.#map.keys()
  }

  values (): IterableIterator<V> {
    return this.#map.values()
  }

  get size (): number {
    return this.#map.size
  }

  /** The value for `key`, which becomes the most recently used. */
  get (key: K): V | undefined {
    const value = this.#map.get(key)
    if (value === undefined && !this.#map.has(key)) {
      return undefined
    }
    // the same key asked again (one peer, one URI: the common case) is already the most recent
    if (key === this.#newest) {
      return value
    }
    this.#map.delete(key)
    this.#map.set(key, value as V)
    this.#newest = key
    return value
  }

  has (key: K): boolean {
    return this.#map.has(key)
  }

  /** Set `key`, the most recently used now; the least recently used entries go beyond the bound. */
  set (key: K, value: V): this {
    this.#map.delete(key)
    this.#map.set(key, value)
    this.#newest = key
    while (this.#map.size > this.#max) {
      const oldest = this.#map.entries().next()
      if (oldest.done === true) break
      this.#map.delete(oldest.value[0])
      if (oldest.value[0] === this.#newest) this.#newest = NONE
      this.#onEvict?.(oldest.value[0], oldest.value[1])
    }
    return this
  }

  delete (key: K): boolean {
    if (key === this.#newest) this.#newest = NONE
    return this.#map.delete(key)
  }
}
