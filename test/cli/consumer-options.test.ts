/**
 * `--cache`, `--cache-size`, `--no-compress` (pure: flags in, options out) and the size parser they use.
 */
import { describe, expect, it } from 'vitest'
import { size } from '../../src/cli/args.js'
import { consumerInit } from '../../src/cli/consumer-options.js'

describe('size', () => {
  it.each([
    ['65536', 65536], ['512K', 524288], ['512k', 524288], ['64MiB', 64 * 1024 ** 2], ['64M', 64 * 1024 ** 2],
    ['1G', 1024 ** 3], ['1.5GiB', 1.5 * 1024 ** 3], ['100B', 100], ['2 MiB', 2 * 1024 ** 2]
  ])('%s is %d bytes', (value, bytes) => {
    expect(size('cache-size', value, 0)).toBe(bytes)
  })

  it.each(['64MB', '1KB', 'lots', '-1M', '1e3', '', 'M', '5constructor', '5toString', '1__proto__'])('%s is refused, naming the flag', (value) => {
    expect(() => size('cache-size', value, 0)).toThrow(/^--cache-size must be a size in bytes/)
  })

  it('absent: the fallback', () => {
    expect(size('cache-size', undefined, 42)).toBe(42)
  })
})

describe('consumerInit', () => {
  it('no flags: no cache, the provider asked for a coding', () => {
    expect(consumerInit({})).toEqual({ cache: undefined, compress: true })
  })

  it('--cache: a store; --no-compress: nothing asked', () => {
    const { cache, compress } = consumerInit({ cache: true, 'cache-size': '1MiB', 'no-compress': true })
    expect(typeof cache?.get).toBe('function')
    expect(compress).toBe(false)
  })

  it('--cache-size without --cache, or under 1K, is a usage error', () => {
    expect(() => consumerInit({ 'cache-size': '1M' })).toThrow(/--cache-size is for --cache/)
    expect(() => consumerInit({ cache: true, 'cache-size': '100' })).toThrow(/at least 1K/)
  })
})
