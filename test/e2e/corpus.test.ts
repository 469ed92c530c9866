/**
 * Bad input on the server side of `/http/1.1`: raw bytes written to a real stream from a real node.
 * Every case ends within a bound in a 4xx or a clean close, never a hang, and the server answers a
 * normal request afterwards. The answers are recorded in docs/decisions.md ("Bad input corpus").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { settle, snapshot } from '../helpers/leaks.js'
import { createNode, createPeer, stopPeers } from '../helpers/nodes.js'
import { rawExchange } from '../helpers/raw-stream.js'
import type { Snapshot } from '../helpers/leaks.js'
import type { Peer } from '../helpers/nodes.js'
import type { RawExchange, RawSend } from '../helpers/raw-stream.js'
import type { Libp2p } from '@libp2p/interface'
import type { IncomingMessage, ServerResponse } from 'node:http'

const H = 'Host: x\r\n'

interface Case extends RawSend {
  name: string
  /** The status codes the stream carries, in order; `[]` for a stream closed without an answer. */
  statuses: number[]
  /** How the stream ends; `close` unless said. */
  end?: RawExchange['end']
  /** Something the answer must contain. */
  contains?: string
}

const bigTarget = `/${'a'.repeat(1024 * 1024)}`
const manyHeaders = Array.from({ length: 10_000 }, (_, i) => `x-h${i}: v\r\n`).join('')

const corpus: Case[] = [
  { name: 'garbage request line', send: 'GARBAGE\r\n\r\n', statuses: [400] },
  { name: 'unknown method', send: `FROB / HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'lowercase method', send: `get / HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'bare LF line endings', send: 'GET / HTTP/1.1\nHost: x\n\n', statuses: [400] },
  { name: 'obs-fold', send: `GET / HTTP/1.1\r\n${H}X-A: a\r\n  folded\r\n\r\n`, statuses: [400] },
  { name: 'NUL in a header value', send: `GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`, statuses: [400] },
  { name: 'CR in a header value', send: `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, statuses: [400] },
  { name: 'header without a colon', send: `GET / HTTP/1.1\r\n${H}X-A\r\n\r\n`, statuses: [400] },
  { name: 'missing Host', send: 'GET / HTTP/1.1\r\n\r\n', statuses: [400] },
  { name: 'a Host with a path in it (the handler\'s URL is built from Host)', send: 'GET /public HTTP/1.1\r\nHost: x/admin?\r\n\r\n', statuses: [400] },
  { name: 'a Host with userinfo', send: 'GET / HTTP/1.1\r\nHost: me@x\r\n\r\n', statuses: [400] },
  { name: 'a Host with a port', send: 'GET / HTTP/1.1\r\nHost: x:8080\r\n\r\n', statuses: [200] },
  { name: 'two different Host headers', send: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', statuses: [400] },
  { name: 'Content-Length: abc', send: `POST / HTTP/1.1\r\n${H}Content-Length: abc\r\n\r\n`, statuses: [400] },
  { name: 'Content-Length: -1', send: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, statuses: [400] },
  { name: 'two different Content-Lengths', send: `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`, statuses: [400] },
  { name: 'Transfer-Encoding: chunked with Content-Length', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, statuses: [400] },
  { name: 'chunk size zz', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, statuses: [400] },
  // "10" is 16 bytes in hex: the 10 sent plus the terminator are read as data, then the stream ends
  { name: 'chunk size in decimal', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789\r\n0\r\n\r\n`, statuses: [400] },
  { name: 'chunked body that ends early', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhel`, statuses: [400] },
  { name: 'HTTP/1.0 request line', send: `GET / HTTP/1.0\r\n${H}\r\n`, statuses: [200] },
  { name: 'HTTP/2.0 request line', send: `GET / HTTP/2.0\r\n${H}\r\n`, statuses: [505] },
  { name: 'HTTP/2 connection preface', send: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', statuses: [400] },
  { name: 'absolute-form target for another host', send: `GET http://elsewhere.example/x HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'absolute-form target for the Host it is sent to', send: `GET http://X/x?q HTTP/1.1\r\n${H}\r\n`, statuses: [200], contains: '"url":"/x?q"' },
  { name: 'asterisk-form target (OPTIONS *)', send: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'dot segment ..', send: `GET /a/../b HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'dot segment .', send: `GET /a/./b HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'dot segment %2e%2e', send: `GET /a/%2e%2e/b HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'dot segment %2E%2E', send: `GET /a/%2E%2E/b HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'dot segment .%2E (mixed)', send: `GET /a/.%2E/b HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'dot segment with ; parameters', send: `GET /a/..;jsessionid=1/b HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'dot segment before %2F', send: `GET /a/..%2Fb HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'dot segment in an absolute-form target', send: `GET http://x/a/../b HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'a fragment (#) hiding dot segments', send: `GET /x#/../../b HTTP/1.1\r\n${H}\r\n`, statuses: [400] },
  { name: 'dots inside a segment', send: `GET /a/..b/.c/d.. HTTP/1.1\r\n${H}\r\n`, statuses: [200], contains: '"url":"/a/..b/.c/d.."' },
  { name: 'dot segment in the query only', send: `GET /a?p=/../x HTTP/1.1\r\n${H}\r\n`, statuses: [200], contains: '"url":"/a?p=/../x"' },
  { name: '1 MiB request target', send: `GET ${bigTarget} HTTP/1.1\r\n${H}\r\n`, statuses: [431] },
  { name: '100 KiB header', send: `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(100 * 1024)}\r\n\r\n`, statuses: [431] },
  { name: '10 000 headers', send: `GET / HTTP/1.1\r\n${H}${manyHeaders}\r\n`, statuses: [431] },
  { name: 'two pipelined requests', send: `GET /one HTTP/1.1\r\n${H}\r\nGET /two HTTP/1.1\r\n${H}\r\n`, statuses: [200], contains: '"url":"/one"' },
  { name: 'Expect: 100-continue', send: `POST / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello`, statuses: [100, 200], contains: '"body":5' },
  { name: 'partial headers then EOF', send: `GET / HTTP/1.1\r\n${H}X-A: `, statuses: [400] },
  { name: 'empty stream closed at once', send: '', statuses: [] },
  // the request is whole after 3 bytes: what follows is dropped, not answered as a malformed second request
  { name: 'body longer than Content-Length', send: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabcdef`, statuses: [200], contains: '"body":3' },
  { name: 'body longer than Content-Length, the surplus in a later write', send: [`POST / HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc`, 'de'], statuses: [200], contains: '"body":3' },
  { name: 'body longer than Content-Length, write side left open', send: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabcde`, then: 'keep-open', statuses: [200], contains: '"body":3' },
  { name: 'stream reset mid-body', send: `POST / HTTP/1.1\r\n${H}Content-Length: 1000\r\n\r\nabc`, then: 'reset', statuses: [], end: 'reset' }
]

let server: Peer
let client: Libp2p
/** Request targets that reached the handler. */
const handled: string[] = []

/** Reads the whole body, then answers what it saw. */
function echo (req: IncomingMessage, res: ServerResponse): void {
  handled.push(req.url ?? '')
  let body = 0
  req.on('data', (chunk: Buffer) => { body += chunk.length })
  req.on('end', () => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ method: req.method, url: req.url, body }))
  })
  req.on('error', () => {})
}

let before: Snapshot

beforeAll(async () => {
  server = await createPeer({ onError: () => {} })
  server.host.serve(echo)
  client = await createNode()
  // the connection exists before the baseline is taken
  await rawExchange(client, server.node.getMultiaddrs(), { send: `GET /warm HTTP/1.1\r\n${H}\r\n` })
  before = await snapshot([server.node, client])
})
afterAll(async () => {
  await client.stop()
  await stopPeers(server)
})

describe('bad input on /http/1.1', () => {
  it.each(corpus)('$name', async (c) => {
    const result = await rawExchange(client, server.node.getMultiaddrs(), c)
    expect(result.end).toBe(c.end ?? 'close')
    expect(result.statuses).toEqual(c.statuses)
    if (c.contains != null) expect(result.text).toContain(c.contains)
    // the server still answers a normal request
    const ok = await rawExchange(client, server.node.getMultiaddrs(), { send: `GET /after HTTP/1.1\r\n${H}\r\n` })
    expect(ok.statuses).toEqual([200])
  })

  it('a second pipelined request on a stream never reaches the handler', async () => {
    const result = await rawExchange(client, server.node.getMultiaddrs(), { send: `GET /first HTTP/1.1\r\n${H}\r\nGET /second HTTP/1.1\r\n${H}\r\n` })
    expect(result.statuses).toEqual([200])
    expect(handled).toContain('/first')
    expect(handled).not.toContain('/second')
  })

  it('leaves no stream, socket or heap behind', async () => {
    const after = await settle([server.node, client], before)
    expect(after.streams).toBe(0)
    console.info(`corpus: heap ${(before.heapUsed / 2 ** 20).toFixed(1)} → ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB; sockets ${before.handles.TCPSocketWrap ?? 0} → ${after.handles.TCPSocketWrap ?? 0}`)
    expect(after.heapUsed - before.heapUsed).toBeLessThan(16 * 1024 * 1024)
  })
})

