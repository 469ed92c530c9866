/**
 * The ping client with its randomness, clock and transport injected. The server side, and the client
 * over real nodes, are in test/e2e/ping.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { PingError } from '../../src/index.js'
import { sendPing } from '../../src/protocols/ping.js'
import type { PingDeps } from '../../src/protocols/ping.js'

function deps (answer: (body: Uint8Array) => Response): PingDeps & { clock: { now: number } } {
  const clock = { now: 50 }
  return {
    clock,
    randomBytes: (size) => new Uint8Array(size).map((_, i) => i + 1),
    now: () => clock.now,
    post: async (body) => {
      clock.now += 7.5
      return answer(body)
    }
  }
}

describe('sendPing', () => {
  it('returns the round trip measured on the injected clock', async () => {
    expect(await sendPing(deps(body => new Response(body.slice())))).toBe(7.5)
  })

  it('refuses an echo that differs, is short, or is long', async () => {
    for (const answer of [
      (body: Uint8Array) => new Response(body.map(b => b ^ 1)),
      (body: Uint8Array) => new Response(body.slice(0, 31)),
      (body: Uint8Array) => new Response(new Uint8Array([...body, 0]))
    ]) {
      await expect(sendPing(deps(answer))).rejects.toMatchObject({ code: 'ERR_PING_FAILED', status: 200 })
    }
  })

  it('refuses a status other than 200', async () => {
    await expect(sendPing(deps(() => new Response('no', { status: 404 })))).rejects.toBeInstanceOf(PingError)
  })
})
