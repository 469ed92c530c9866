/**
 * Regression tests, one per bug found in review, named for the bug.
 */
import { afterEach, expect, it } from 'vitest'
import { createPeer, sleep, stopPeers, until, uriOf } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { Stream } from '@libp2p/interface'
import type { IncomingMessage, ServerResponse } from 'node:http'

let server: Peer | undefined
let client: Peer | undefined
afterEach(async () => {
  await stopPeers(server, client)
  server = client = undefined
})

async function rawExchange (stream: Stream, request: string): Promise<{ text: string, error?: Error }> {
  stream.send(new TextEncoder().encode(request))
  let text = ''
  try {
    for await (const chunk of stream) text += new TextDecoder().decode(chunk.subarray())
  } catch (err) {
    return { text, error: err as Error }
  }
  return { text }
}

it('an upgrade request to a handler without upgrade support, then a reset, does not crash the host', async () => {
  server = await createPeer()
  client = await createPeer()
  server.host.serve((_request: Request) => new Response('ok'))
  const stream = await client.node.dialProtocol(server.node.getMultiaddrs(), '/http/1.1')
  stream.send(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'))
  const first = await stream[Symbol.asyncIterator]().next()
  expect(new TextDecoder().decode(first.value!.subarray())).toMatch(/^HTTP\/1\.1 501 /)
  stream.abort(new Error('client resets'))
  await sleep(100)
  const started = Date.now()
  await server.host.close({ timeout: 2000 })
  expect(Date.now() - started).toBeLessThan(1000)
})

it('a malformed request gets its 400 and a clean end of stream, not a reset', async () => {
  server = await createPeer()
  client = await createPeer()
  server.host.serve((_req: IncomingMessage, res: ServerResponse) => { res.end() })
  const stream = await client.node.dialProtocol(server.node.getMultiaddrs(), '/http/1.1')
  const { text, error } = await rawExchange(stream, 'GARBAGE\r\n\r\n')
  expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
  expect(error).toBeUndefined()
  expect(stream.status).not.toBe('reset')
})

it('a slow reader still gets all of a response the server finished long ago', async () => {
  server = await createPeer({ lingerTimeout: 300 })
  client = await createPeer()
  const body = Buffer.alloc(2 * 1024 * 1024, 'x')
  let finishedAt = 0
  server.host.serve((_req: IncomingMessage, res: ServerResponse) => {
    res.on('finish', () => { finishedAt = Date.now() })
    res.end(body)
  })
  const res = await client.host.fetch(uriOf(server, '/'))
  const reader = res.body!.getReader()
  let received = (await reader.read()).value!.byteLength
  await until(() => finishedAt > 0, 5000, 'server to finish')
  // several linger periods without reading
  await sleep(1200)
  for (let next = await reader.read(); !next.done; next = await reader.read()) received += next.value.byteLength
  expect(received).toBe(body.length)
})

it('a path with a literal # survives /http-path', async () => {
  server = await createPeer()
  client = await createPeer()
  server.host.serve((req: IncomingMessage, res: ServerResponse) => { res.end(req.url) })
  const res = await client.host.fetch(`${uriOf(server)}/http-path/a%23b`)
  expect(await res.text()).toBe('/a%23b')
})

it('stale addresses in the target fall back to the peer store', async () => {
  server = await createPeer()
  client = await createPeer()
  server.host.serve((_req: IncomingMessage, res: ServerResponse) => { res.end('found') })
  await client.node.peerStore.merge(server.node.peerId, { multiaddrs: server.node.getMultiaddrs() })
  const res = await client.host.fetch(`multiaddr:/ip4/127.0.0.1/tcp/1/p2p/${server.node.peerId.toString()}`)
  expect(await res.text()).toBe('found')
})

it('a peer that stops reading is cut off after the idle timeout', async () => {
  server = await createPeer({ server: { idleTimeout: 300 }, lingerTimeout: 300 })
  client = await createPeer()
  let closed = false
  server.host.serve((_req: IncomingMessage, res: ServerResponse) => {
    res.on('close', () => { closed = true })
    const chunk = Buffer.alloc(64 * 1024)
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) {}
      if (!res.destroyed) res.once('drain', pump)
    }
    pump()
  })
  const res = await client.host.fetch(uriOf(server, '/'))
  await res.body!.getReader().read()
  // and now the client never reads again
  await until(() => closed, 5000, 'the server to give up on the stalled stream')
})
