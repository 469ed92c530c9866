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

it('asking for the most recent entry again keeps the order right, through deletes and evictions', () => {
  const lru = new LRUMap<string | undefined, number>(3)
  lru.set('a', 1).set('b', 2).set('c', 3)
  expect([lru.get('c'), lru.get('c')]).toEqual([3, 3])
  expect(lru.get('a')).toBe(1) // order now b, c, a
  expect(lru.get('a')).toBe(1)
  lru.set('d', 4) // b goes
  expect([...lru.keys()]).toEqual(['c', 'a', 'd'])
  lru.delete('d')
  lru.set('d', 40)
  expect(lru.get('c')).toBe(3) // order a, d, c
  lru.set('e', 5) // a goes
  expect([...lru.keys()]).toEqual(['d', 'c', 'e'])
  // undefined is a key like any other
  lru.set(undefined, 6) // d goes
  expect(lru.has('d')).toBe(false)
  expect(lru.get('c')).toBe(3)
  expect(lru.get(undefined)).toBe(6)
  expect([...lru.keys()]).toEqual(['e', 'c', undefined])
  // the most recent key changes with every use
  lru.get('e')
  lru.get(undefined)
  expect([...lru.keys()]).toEqual(['c', 'e', undefined])
})
