import { describe, expect, it, vi } from 'vitest'
import { ResponseTimeoutError } from '../../src/errors.js'
import { headersDeadline } from '../../src/client/headers-deadline.js'
import type { Dispatcher } from 'undici'

/** Runs the interceptor around a dispatch that keeps the handler, and a controller that records its abort. */
function setup (timeout: number, options: Partial<Dispatcher.DispatchOptions> = {}): { handler: Dispatcher.DispatchHandler, controller: Dispatcher.DispatchController, inner: Dispatcher.DispatchHandler, aborted: () => unknown } {
  let seen: Dispatcher.DispatchHandler | undefined
  const inner: Dispatcher.DispatchHandler = { onResponseStart: vi.fn(), onResponseError: vi.fn() }
  headersDeadline(timeout)((_opts, handler) => { seen = handler; return true })({ origin: 'http://x', path: '/', method: 'GET', ...options }, inner)
  let reason: unknown
  const controller = { abort: (err: Error) => { reason = err }, pause () {}, resume () {}, aborted: false, paused: false, reason: null } as unknown as Dispatcher.DispatchController
  return { handler: seen!, controller, inner, aborted: () => reason }
}

describe('headersDeadline', () => {
  it('0 (or a request headersTimeout of 0) leaves the handler as it is', () => {
    const off = setup(0)
    expect(off.handler).toBe(off.inner)
    const { handler, inner } = setup(1000, { headersTimeout: 0 })
    expect(handler).toBe(inner)
  })

  it('1xx after 1xx: the request ends at the deadline counted from its start', () => {
    vi.useFakeTimers()
    try {
      const { handler, controller, aborted } = setup(3000)
      handler.onRequestStart?.(controller, {})
      for (let second = 1; second <= 2; second++) {
        vi.advanceTimersByTime(1000)
        handler.onResponseStart?.(controller, 103, {}, 'Early Hints')
      }
      expect(aborted()).toBeUndefined()
      vi.advanceTimersByTime(1000)
      expect(aborted()).toBeInstanceOf(ResponseTimeoutError)
      expect(aborted()).toMatchObject({ code: 'ERR_RESPONSE_TIMEOUT', phase: 'headers' })
    } finally {
      vi.useRealTimers()
    }
  })

  it('a first 1xx past the deadline ends the request at once; a final response in time clears the timer', () => {
    vi.useFakeTimers()
    try {
      const late = setup(1000)
      late.handler.onRequestStart?.(late.controller, {})
      vi.advanceTimersByTime(1500)
      late.handler.onResponseStart?.(late.controller, 103, {}, '')
      expect(late.aborted()).toBeInstanceOf(ResponseTimeoutError)
      expect(late.inner.onResponseStart).not.toHaveBeenCalled()

      const fine = setup(1000)
      fine.handler.onRequestStart?.(fine.controller, {})
      fine.handler.onResponseStart?.(fine.controller, 103, {}, '')
      fine.handler.onResponseStart?.(fine.controller, 200, {}, 'OK')
      expect(vi.getTimerCount()).toBe(0)
      vi.advanceTimersByTime(5000)
      expect(fine.aborted()).toBeUndefined()
    } finally {
      vi.useRealTimers()
    }
  })
})
