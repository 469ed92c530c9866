/** Per-peer request slots of the browser host (src/web/peer-queue.ts). */
import { describe, expect, it } from 'vitest'
import { PeerQueue } from '../../src/web/peer-queue.js'

describe('PeerQueue', () => {
  it('lets `max` requests per peer through, queues the rest in order, and forgets idle peers', async () => {
    const queue = new PeerQueue(2)
    const a = await queue.acquire('p')
    const b = await queue.acquire('p')
    const other = await queue.acquire('q') // another peer is not held up
    const order: string[] = []
    const c = queue.acquire('p').then((release) => { order.push('c'); return release })
    const d = queue.acquire('p').then((release) => { order.push('d'); return release })
    expect(queue.stats('p')).toEqual({ active: 2, waiting: 2 })
    a()
    a() // idempotent: does not free a second slot
    const releaseC = await c
    expect(order).toEqual(['c'])
    expect(queue.stats('p')).toEqual({ active: 2, waiting: 1 })
    b()
    const releaseD = await d
    expect(order).toEqual(['c', 'd'])
    releaseC()
    releaseD()
    other()
    expect(queue.stats('p')).toEqual({ active: 0, waiting: 0 })
  })

  it('a waiter whose signal aborts leaves the queue with the signal\'s reason', async () => {
    const queue = new PeerQueue(1)
    const first = await queue.acquire('p')
    const controller = new AbortController()
    const waiting = queue.acquire('p', controller.signal)
    controller.abort(new Error('gave up'))
    await expect(waiting).rejects.toThrow('gave up')
    expect(queue.stats('p')).toEqual({ active: 1, waiting: 0 })
    first()
    expect(queue.stats('p')).toEqual({ active: 0, waiting: 0 })
    await expect(queue.acquire('p', AbortSignal.abort(new Error('already')))).rejects.toThrow('already')
  })
})
