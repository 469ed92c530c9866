import { describe, expect, it } from 'vitest'
import { nodeServerOptions, resolveServerLimits } from '../../src/server/limits.js'

describe('server limits', () => {
  it('fills in the defaults', () => {
    expect(resolveServerLimits()).toEqual({ headersTimeout: 60_000, requestTimeout: 300_000, maxHeaderSize: 16_384, idleTimeout: 300_000, maxRequestBodySize: Infinity })
    expect(resolveServerLimits({ maxRequestBodySize: 10 }).maxRequestBodySize).toBe(10)
  })

  it('checks the timeouts at a quarter of the shortest, between 50 ms and Node\'s 30 s', () => {
    const interval = (init: Parameters<typeof resolveServerLimits>[0]): number | undefined => nodeServerOptions(resolveServerLimits(init)).connectionsCheckingInterval
    expect(interval({})).toBe(15_000)
    expect(interval({ headersTimeout: 400, requestTimeout: 1000 })).toBe(100)
    expect(interval({ headersTimeout: 100 })).toBe(50)
    expect(interval({ headersTimeout: 0, requestTimeout: 0 })).toBe(30_000)
    expect(interval({ headersTimeout: 600_000, requestTimeout: 600_000 })).toBe(30_000)
  })
})
