/**
 * Maps used as bounded LRU tables: a key set is moved to the end, and the least recently set keys go
 * first once the map is over its bound.
 *
 * @module
 */

/** Set `key` to `value` in `map` as its most recent entry, then drop the oldest entries above `max`. */
export function setBounded<K, V> (map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  while (map.size > max) {
    const oldest = map.keys().next()
    if (oldest.done === true) break
    map.delete(oldest.value)
  }
}
