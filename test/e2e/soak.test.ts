/**
 * Load over streams: many requests at concurrency 64, then nothing left behind. 2 000 requests by
 * default (CI); `LIBP2PHTTP_SOAK_REQUESTS=10000 npx vitest run test/e2e/soak.test.ts` for the full run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createPeer, stopPeers, until, uriOf } from '../helpers/nodes.js'
import { openHTTPStreams } from '../helpers/raw-stream.js'
import { settle, snapshot } from '../helpers/leaks.js'
import type { Peer } from '../helpers/nodes.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

const REQUESTS = Number(process.env.LIBP2PHTTP_SOAK_REQUESTS ?? 2000)
const CONCURRENCY = 64
/** Heap growth allowed after a full GC: caches and pools that outlive the run, not per-request state. */
const HEAP_SLACK = 16 * 1024 * 1024

let server: Peer
let client: Peer

beforeAll(async () => {
  server = await createPeer()
  client = await createPeer()
  server.host.serve((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST') {
      req.pipe(res)
      return
    }
    res.end(req.url)
  })
})
afterAll(async () => { await stopPeers(server, client) })

it(`${REQUESTS} requests at concurrency ${CONCURRENCY} leave no stream, socket or heap behind`, async () => {
  const nodes = [server.node, client.node]
  // warm up: the connection, the pools, the JIT
  for (let i = 0; i < 64; i++) await (await client.host.fetch(uriOf(server, '/warm'))).text()
  await until(() => nodes.every(n => openHTTPStreams(n) === 0), 5000, 'warm-up streams to close')
  const before = await snapshot(nodes)
  const started = Date.now()
  let next = 0
  let ok = 0
  const body = 'b'.repeat(1024)
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) {
      const i = next++
      const res = i % 2 === 0
        ? await client.host.fetch(uriOf(server, `/get/${i}`))
        : await client.host.fetch(uriOf(server, '/post'), { method: 'POST', body })
      const text = await res.text()
      if (res.status === 200 && text === (i % 2 === 0 ? `/get/${i}` : body)) ok++
    }
  }))
  const seconds = (Date.now() - started) / 1000
  expect(ok).toBe(REQUESTS)
  const after = await settle(nodes, before)
  const growth = after.heapUsed - before.heapUsed
  console.info(`soak: ${REQUESTS} requests in ${seconds.toFixed(1)} s (${Math.round(REQUESTS / seconds)}/s); ` +
    `streams ${before.streams} → ${after.streams}; sockets ${before.handles.TCPSocketWrap ?? 0} → ${after.handles.TCPSocketWrap ?? 0}; ` +
    `timers ${before.handles.Timeout ?? 0} → ${after.handles.Timeout ?? 0}; heap ${(before.heapUsed / 2 ** 20).toFixed(1)} → ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB`)
  expect(after.streams).toBe(0)
  expect(growth).toBeLessThan(HEAP_SLACK)
}, 120_000)
