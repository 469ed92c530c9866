/**
 * Reading and writing a real libp2p stream without Node streams: backpressure, the end, a reset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StreamResetError } from '../../../src/errors.js'
import { StreamReader, sendAll } from '../../../src/web/http1/stream-io.js'
import { createNode, until } from '../../helpers/nodes.js'
import type { Libp2p, Stream } from '@libp2p/interface'

let a: Libp2p
let b: Libp2p
let inbound: Stream[] = []

beforeAll(async () => {
  a = await createNode()
  b = await createNode()
  await b.handle('/test-io/1', (stream) => { inbound.push(stream) })
})
afterAll(async () => { await a.stop(); await b.stop() })

async function pair (): Promise<[Stream, Stream]> {
  inbound = []
  const out = await a.dialProtocol(b.getMultiaddrs(), '/test-io/1')
  await until(() => inbound.length === 1, 5000, 'the inbound stream')
  return [out, inbound[0]]
}

describe('StreamReader and sendAll', () => {
  it('delivers what was sent, in order, then null at the remote\'s end', async () => {
    const [out, inb] = await pair()
    const reader = new StreamReader(inb)
    for (let i = 0; i < 5; i++) await sendAll(out, new Uint8Array(1000).fill(i))
    await out.close()
    const got: number[] = []
    for (let chunk = await reader.read(); chunk != null; chunk = await reader.read()) got.push(...chunk)
    expect(got.length).toBe(5000)
    expect(got.every((v, i) => v === Math.floor(i / 1000))).toBe(true)
    expect(reader.done).toBe(true)
  })

  it('pauses the stream past 64 KiB unread and resumes when read', async () => {
    const [out, inb] = await pair()
    const reader = new StreamReader(inb)
    const writing = (async () => { for (let i = 0; i < 64; i++) await sendAll(out, new Uint8Array(16 * 1024)); await out.close() })()
    await until(() => inb.readStatus === 'paused', 5000, 'the stream to pause')
    let total = 0
    for (let chunk = await reader.read(); chunk != null; chunk = await reader.read()) total += chunk.byteLength
    await writing
    expect(total).toBe(64 * 16 * 1024)
  })

  it('a reset: bytes already here first, then StreamResetError; sendAll refuses', async () => {
    const [out, inb] = await pair()
    const reader = new StreamReader(inb)
    let arrived = false
    inb.addEventListener('message', () => { arrived = true })
    await sendAll(out, new Uint8Array([1, 2, 3]))
    await until(() => arrived, 5000, 'the bytes to arrive')
    out.abort(new Error('gone'))
    await until(() => inb.status === 'reset', 5000, 'the reset to arrive')
    expect([...(await reader.read()) ?? []]).toEqual([1, 2, 3])
    await expect(reader.read()).rejects.toBeInstanceOf(StreamResetError)
    await expect(sendAll(inb, new Uint8Array(1))).rejects.toBeInstanceOf(StreamResetError)
  })
})
