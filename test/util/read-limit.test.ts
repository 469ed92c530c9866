import { describe, expect, it } from 'vitest'
import { readAtMost } from '../../src/util/read-limit.js'

function source (chunks: number[], onCancel: () => void = () => {}): { stream: ReadableStream<Uint8Array>, pulled: () => number } {
  let pulled = 0
  const stream = new ReadableStream<Uint8Array>({
    pull (controller) {
      const size = chunks[pulled]
      if (size == null) {
        controller.close()
        return
      }
      pulled++
      controller.enqueue(new Uint8Array(size).fill(pulled))
    },
    cancel: onCancel
  }, { highWaterMark: 0 })
  return { stream, pulled: () => pulled }
}

describe('readAtMost', () => {
  it('returns the whole body, chunks joined in order, up to the limit inclusive', async () => {
    const { stream } = source([2, 3])
    expect(await readAtMost(stream, 5)).toEqual(new Uint8Array([1, 1, 2, 2, 2]))
    expect(await readAtMost(null, 5)).toEqual(new Uint8Array(0))
  })

  it('stops at the first chunk past the limit and cancels the source', async () => {
    let cancelled = false
    const { stream, pulled } = source([4, 4, 4, 4, 4], () => { cancelled = true })
    expect(await readAtMost(stream, 6)).toBeUndefined()
    expect(pulled()).toBe(2)
    expect(cancelled).toBe(true)
  })
})
