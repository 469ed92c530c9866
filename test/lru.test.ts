import { describe, expect, it } from 'vitest'
import { setBounded } from '../src/lru.js'

describe('setBounded', () => {
  it('keeps the most recently set keys, in order', () => {
    const map = new Map<string, number>()
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3], ['a', 4], ['d', 5]] as const) setBounded(map, k, v, 3)
    expect([...map]).toEqual([['c', 3], ['a', 4], ['d', 5]])
  })
})
