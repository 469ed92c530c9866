import { Response } from 'undici'
import { describe, expect, it } from 'vitest'
import { ResponseBodyTooLargeError } from '../../src/errors.js'
import { boundedBody, rebuildResponse } from '../../src/client/response-body.js'

const streamOf = (...chunks: number[]): ReadableStream<Uint8Array> => new ReadableStream({
  start (controller) {
    for (const n of chunks) controller.enqueue(new Uint8Array(n))
    controller.close()
  }
})

async function drain (body: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) n += chunk.byteLength
  return n
}

describe('boundedBody', () => {
  it('passes a body up to the bound, exactly at it too', async () => {
    expect(await drain(boundedBody(streamOf(4, 4, 2), 10))).toBe(10)
  })

  it('errors past the bound with ERR_RESPONSE_BODY_TOO_LARGE and cancels the source', async () => {
    let cancelled!: () => void
    const cancel = new Promise<void>(resolve => { cancelled = resolve })
    const source = new ReadableStream<Uint8Array>({
      pull (controller) { controller.enqueue(new Uint8Array(1024)) },
      cancel () { cancelled() }
    })
    const err = await drain(boundedBody(source, 4096)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ResponseBodyTooLargeError)
    expect(err).toMatchObject({ code: 'ERR_RESPONSE_BODY_TOO_LARGE', limit: 4096 })
    // the pipe cancels the source a few ticks after the error (WHATWG Streams: errors propagate backward)
    await expect(Promise.race([cancel.then(() => 'cancelled'), new Promise(resolve => setTimeout(resolve, 2000, 'not cancelled'))])).resolves.toBe('cancelled')
  })
})

describe('rebuildResponse', () => {
  it('keeps status, url and redirected; replaces headers and body', async () => {
    const original = new Response('old', { status: 201, statusText: 'Made', headers: { a: '1' } }) as unknown as globalThis.Response
    Object.defineProperty(original, 'url', { value: 'http://example.test/x' })
    Object.defineProperty(original, 'redirected', { value: true })
    const rebuilt = rebuildResponse(original, { headers: new Headers({ b: '2' }), body: streamOf(3) })
    expect([rebuilt.status, rebuilt.statusText, rebuilt.url, rebuilt.redirected]).toEqual([201, 'Made', 'http://example.test/x', true])
    expect(rebuilt.headers.get('a')).toBeNull()
    expect(rebuilt.headers.get('b')).toBe('2')
    expect((await rebuilt.arrayBuffer()).byteLength).toBe(3)
  })
})
