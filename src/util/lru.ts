/**
 * A bounded map that forgets the least recently used entry first. Everything a remote can make the
 * host remember (addresses from targets and redirects, SNI routes, protocol maps) lives in one of
 * these, so no peer can grow memory without bound.
 *
 * @module
 */
export class LRUMap<K, V> {
  readonly #map = new Map<K, V>()
  readonly #max: number
  readonly #onEvict: ((key: K, value: V) => void) | undefined

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
    if (!this.#map.has(key)) {
      return undefined
    }
    const value = this.#map.get(key) as V
    this.#map.delete(key)
    this.#map.set(key, value)
    return value
  }

  has (key: K): boolean {
    return this.#map.has(key)
  }

  /** Set `key`, the most recently used now; the least recently used entries go beyond the bound. */
  set (key: K, value: V): this {
    this.#map.delete(key)
    this.#map.set(key, value)
    while (this.#map.size > this.#max) {
      const oldest = this.#map.entries().next()
      if (oldest.done === true) break
      this.#map.delete(oldest.value[0])
      this.#onEvict?.(oldest.value[0], oldest.value[1])
    }
    return this
  }

  delete (key: K): boolean {
    return this.#map.delete(key)
  }
}
