/**
 * Writing messages: the head's bytes, and how a body's framing is chosen.
 */
import { describe, expect, it } from 'vitest'
import { GATHER_LIMIT, encodeHead, gatherBody } from '../../../src/web/http1/message.js'
import { sleep } from '../../helpers/nodes.js'

async function restOf (reader: ReadableStreamDefaultReader<Uint8Array> | undefined): Promise<number> {
  let n = 0
  for (;;) {
    const { done, value } = await (reader as ReadableStreamDefaultReader<Uint8Array>).read()
    if (done) return n
    n += value.byteLength
  }
}

describe('encodeHead', () => {
  it('a start line, fields, the empty line; Latin-1 bytes', () => {
    const bytes = encodeHead('GET /a?b HTTP/1.1', [['host', 'x'], ['x-v', 'café']])
    expect(Buffer.from(bytes).toString('latin1')).toBe('GET /a?b HTTP/1.1\r\nhost: x\r\nx-v: café\r\n\r\n')
    expect(bytes[bytes.length - 5]).toBe(0xe9)
  })

  it.each([['CR', 'a\rb'], ['LF', 'a\nb'], ['NUL', 'a\0b'], ['a character outside Latin-1', 'a€b']])('refuses %s in a field', (_name, value) => {
    expect(() => encodeHead('GET / HTTP/1.1', [['x', value]])).toThrow(TypeError)
  })
})

describe('gatherBody', () => {
  it('no body: no framing', async () => {
    expect((await gatherBody(null)).framing).toEqual({ kind: 'none' })
  })

  it('bytes at hand: Content-Length, all of them gathered', async () => {
    const gathered = await gatherBody(new Request('http://x/', { method: 'POST', body: 'héllo' }).body)
    expect(gathered.framing).toEqual({ kind: 'length', length: 6 })
    expect(gathered.rest).toBeUndefined()
  })

  it('a large body at hand in one piece: Content-Length', async () => {
    const gathered = await gatherBody(new Request('http://x/', { method: 'POST', body: new Uint8Array(GATHER_LIMIT * 4) }).body)
    expect(gathered.framing).toEqual({ kind: 'length', length: GATHER_LIMIT * 4 })
  })

  it('a producer that pauses: chunked, starting with what it had, the rest readable', async () => {
    const body = new ReadableStream<Uint8Array>({
      start (c) { c.enqueue(new Uint8Array(10)) },
      async pull (c) { await sleep(20); c.enqueue(new Uint8Array(5)); c.close() }
    })
    const gathered = await gatherBody(body)
    expect(gathered.framing).toEqual({ kind: 'chunked' })
    expect(gathered.head.reduce((n, c) => n + c.byteLength, 0)).toBe(10)
    expect(await restOf(gathered.rest)).toBe(5)
  })

  it('many small pieces at hand past the limit: chunked, at most the limit and two pieces held', async () => {
    let sent = 0
    const body = new ReadableStream<Uint8Array>({ pull (c) { if (sent >= GATHER_LIMIT * 3) { c.close(); return } sent += 1000; c.enqueue(new Uint8Array(1000)) } })
    const gathered = await gatherBody(body)
    expect(gathered.framing).toEqual({ kind: 'chunked' })
    const held = gathered.head.reduce((n, c) => n + c.byteLength, 0)
    expect(held).toBeLessThanOrEqual(GATHER_LIMIT + 2000)
    expect(held + await restOf(gathered.rest)).toBe(GATHER_LIMIT * 3 + (1000 - (GATHER_LIMIT * 3) % 1000) % 1000)
  })

  it('a declared Content-Length is kept for a body sent as it comes', async () => {
    const body = new ReadableStream<Uint8Array>({
      start (c) { c.enqueue(new Uint8Array(3)) },
      async pull (c) { await sleep(20); c.enqueue(new Uint8Array(3)); c.close() }
    })
    expect((await gatherBody(body, 6)).framing).toEqual({ kind: 'length', length: 6 })
  })
})
