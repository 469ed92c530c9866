/**
 * The client against servers that misbehave: a raw libp2p node writes each answer byte by byte on a
 * real `/http/1.1` stream. Every case rejects the fetch or errors the body within a bound, with a typed
 * error carrying a `code`; nothing crashes and no rejection goes unhandled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { LibP2PHTTPError, ResponseTimeoutError } from '../../src/index.js'
import { settle, snapshot } from '../helpers/leaks.js'
import { createNode, createPeer, stopPeers } from '../helpers/nodes.js'
import { createRawServer } from '../helpers/raw-server.js'
import { testCertificate } from '../helpers/tls.js'
import type { RawServer } from '../helpers/raw-server.js'
import type { Snapshot } from '../helpers/leaks.js'
import type { Peer } from '../helpers/nodes.js'
import type { Libp2p, Stream } from '@libp2p/interface'

type Behaviour = (stream: Stream) => void | Promise<void>

const send = (stream: Stream, text: string): void => { stream.send(Buffer.from(text, 'latin1')) }
const answer = (text: string): Behaviour => (stream) => { send(stream, text); void stream.close().catch(() => {}) }

interface Case {
  name: string
  behaviour: Behaviour
  /** Where it fails: the fetch itself, or reading the body. */
  fails: 'fetch' | 'body'
  /** The `code` of our error. */
  code: string
}

const cases: Case[] = [
  { name: 'garbage status line', behaviour: answer('GARBAGE\r\n\r\n'), fails: 'fetch', code: 'ERR_BAD_RESPONSE' },
  { name: 'status 999', behaviour: answer('HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n'), fails: 'fetch', code: 'ERR_BAD_RESPONSE' },
  { name: 'reset before headers', behaviour: (stream) => { stream.abort(new Error('server resets')) }, fails: 'fetch', code: 'ERR_STREAM_RESET' },
  { name: 'clean close before headers', behaviour: answer(''), fails: 'fetch', code: 'ERR_BAD_RESPONSE' },
  { name: 'Content-Length: 10, then 2 bytes and close', behaviour: answer('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab'), fails: 'body', code: 'ERR_BAD_RESPONSE' },
  { name: 'headers, then reset', behaviour: (stream) => { send(stream, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab'); setTimeout(() => { stream.abort(new Error('server resets')) }, 20) }, fails: 'body', code: 'ERR_STREAM_RESET' },
  { name: '100 KiB response header', behaviour: answer(`HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(100 * 1024)}\r\nContent-Length: 0\r\n\r\n`), fails: 'fetch', code: 'ERR_RESPONSE_HEADERS_TOO_LARGE' },
  { name: 'chunked body with a bad chunk size', behaviour: answer('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\nzz\r\nxx\r\n0\r\n\r\n'), fails: 'body', code: 'ERR_BAD_RESPONSE' },
  { name: 'no response at all, the stream left open', behaviour: () => {}, fails: 'fetch', code: 'ERR_RESPONSE_TIMEOUT' },
  { name: 'a response on a stream the server never closes', behaviour: (stream) => { send(stream, 'HTTP/1.1 200 OK\r\n\r\npartial') }, fails: 'body', code: 'ERR_RESPONSE_TIMEOUT' }
]

let server: Libp2p
let client: Peer
const behaviours = new Map<string, Behaviour>()
let before: Snapshot

/** The typed error a failure carries: itself, or the cause of undici's `TypeError('terminated')` on a body. */
function typed (err: unknown): LibP2PHTTPError | undefined {
  if (err instanceof LibP2PHTTPError) return err
  const cause = (err as { cause?: unknown })?.cause
  return cause instanceof LibP2PHTTPError ? cause : undefined
}

beforeAll(async () => {
  server = await createNode()
  await server.handle('/http/1.1', (stream) => {
    // answer once the request line is in, so the behaviour can depend on the path
    stream.addEventListener('message', (evt) => {
      const head = Buffer.from(evt.data.subarray()).toString('latin1')
      const path = decodeURIComponent(head.split(' ')[1] ?? '').slice(1)
      void Promise.resolve(behaviours.get(path)?.(stream)).catch(() => {})
    }, { once: true })
  })
  client = await createPeer({ client: { headersTimeout: 500, bodyTimeout: 500 } })
  await server.dial(client.node.getMultiaddrs())
  before = await snapshot([client.node, server])
})
afterAll(async () => {
  await stopPeers(client)
  await server.stop()
})

describe('a client facing bad servers', () => {
  it.each(cases)('$name', async (c) => {
    behaviours.set(c.name, c.behaviour)
    const url = `multiaddr:${server.getMultiaddrs()[0].toString()}/http-path/${encodeURIComponent(encodeURIComponent(c.name))}`
    const signal = AbortSignal.timeout(5000)
    const outcome = await client.host.fetch(url, { signal }).then(
      async (res) => await res.arrayBuffer().then(() => ({ where: 'none', err: undefined }), (err: unknown) => ({ where: 'body', err })),
      (err: unknown) => ({ where: 'fetch', err })
    )
    expect(signal.aborted).toBe(false)
    expect(outcome.where).toBe(c.fails)
    expect(typed(outcome.err)?.code).toBe(c.code)
  })

  it('a never-ending body stops at the AbortSignal', async () => {
    behaviours.set('endless', (stream) => {
      send(stream, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')
      const timer = setInterval(() => { if (stream.status === 'open') send(stream, '4\r\ntick\r\n'); else clearInterval(timer) }, 5)
    })
    const controller = new AbortController()
    const res = await client.host.fetch(`multiaddr:${server.getMultiaddrs()[0].toString()}/http-path/endless`, { signal: controller.signal })
    const reader = res.body!.getReader()
    await reader.read()
    controller.abort()
    const err = await (async () => { for (;;) await reader.read() })().catch((e: unknown) => e)
    expect((err as Error).name).toBe('AbortError')
  })

  // undici 7 refuses a 1xx it did not ask for (SocketError 'bad response'), though RFC 9110 §15.2 says
  // a client must parse them: recorded in docs/decisions.md
  it('100 Continue, then 200: refused by undici, as ERR_BAD_RESPONSE', async () => {
    behaviours.set('continue', answer('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'))
    const err = await client.host.fetch(`multiaddr:${server.getMultiaddrs()[0].toString()}/http-path/continue`).catch((e: unknown) => e)
    expect(typed(err)?.code).toBe('ERR_BAD_RESPONSE')
  })

  it('leaves no stream, socket or heap behind', async () => {
    const after = await settle([client.node, server], before)
    expect(after.streams).toBe(0)
    expect(after.heapUsed - before.heapUsed).toBeLessThan(16 * 1024 * 1024)
  })
})

// issue 14: undici restarts its headers timer on every 1xx, so a server sending `103 Early Hints` once a
// second held a request with a 3 s headers timeout for as long as it liked
describe('1xx responses do not extend the headers timeout', () => {
  let raw: RawServer
  let hinted: Peer
  let timers: Array<ReturnType<typeof setInterval>> = []
  let baseline: Snapshot
  beforeAll(async () => {
    const cert = await testCertificate()
    raw = await createRawServer({ tls: cert })
    raw.respond = (_req, res) => {
      // a 103 every second, and the final answer only after 8 s
      const timer = setInterval(() => { res.writeEarlyHints({ link: '</style.css>; rel=preload' }) }, 1000)
      const final = setTimeout(() => { clearInterval(timer); res.end('too late') }, 8000)
      timers.push(timer, final)
      res.on('close', () => { clearInterval(timer); clearTimeout(final) })
    }
    hinted = await createPeer({ client: { headersTimeout: 2500 }, clientTLS: { ca: cert.cert } })
    await hinted.node.dial(raw.node.getMultiaddrs())
    baseline = await snapshot([hinted.node, raw.node])
  })
  afterAll(async () => {
    for (const timer of timers) clearTimeout(timer)
    timers = []
    await stopPeers(hinted)
    await raw.stop()
  })

  it.each([
    ['stream', () => raw.addrs()[0]],
    // without /p2p: a plain HTTPS server, no Peer ID Authentication
    ['native', () => multiaddr(raw.addrs().at(-1)!.toString().replace(/\/p2p\/.*$/, ''))]
  ])('over the %s transport: ResponseTimeoutError (headers) at the deadline', async (transport, addr) => {
    const started = Date.now()
    const outcome = await hinted.host.fetch(addr()).then(async (res) => `${res.status} ${await res.text()}`, (err: unknown) => err)
    expect(outcome).toBeInstanceOf(ResponseTimeoutError)
    expect(outcome).toMatchObject({ code: 'ERR_RESPONSE_TIMEOUT', phase: 'headers' })
    expect((outcome as { transport?: { transport: string } }).transport?.transport).toBe(transport)
    // 2.5 s, well before the final answer at 8 s
    expect(Date.now() - started).toBeLessThan(7000)
  })

  it('the timed-out exchanges leave no stream or socket behind', async () => {
    const after = await settle([hinted.node, raw.node], baseline)
    expect(after.streams).toBe(0)
  })
})
