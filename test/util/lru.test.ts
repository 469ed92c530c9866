import { expect, it } from 'vitest'
import { LRUMap } from '../../src/util/lru.js'

it('forgets the least recently used entry first; get and set both count as use', () => {
  const lru = new LRUMap<string, number>(2)
  lru.set('a', 1).set('b', 2)
  expect(lru.get('a')).toBe(1) // a is now the most recent
  lru.set('c', 3)
  expect(lru.has('b')).toBe(false)
  expect([lru.get('a'), lru.get('c'), lru.size]).toEqual([1, 3, 2])
  lru.set('a', 10).set('d', 4) // a refreshed by set: c goes
  expect(lru.has('c')).toBe(false)
  expect(lru.get('a')).toBe(10)
})

it('a bound of 0 keeps nothing', () => {
  const lru = new LRUMap<string, number>(0)
  lru.set('a', 1)
  expect(lru.size).toBe(0)
})
