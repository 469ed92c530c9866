/**
 * The native client's HTTP/2 flow-control windows (`H2_STREAM_WINDOW`, `H2_CONNECTION_WINDOW` in
 * `client/dispatcher.ts`): a 1 MiB response reaches the client with nothing from the client reaching
 * the server meanwhile, so it costs no WINDOW_UPDATE round trip on a real link. Shown through a relay
 * (`bench/latency-relay.ts`) that holds everything the client sends once the request has arrived;
 * no timing is measured.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, expect, it } from 'vitest'
import { createHTTPHost } from '../../src/index.js'
import { startLatencyRelay } from '../../bench/latency-relay.js'
import { H2_CONNECTION_WINDOW, H2_STREAM_WINDOW } from '../../src/client/dispatcher.js'
import { until } from '../helpers/nodes.js'
import { testCertificate } from '../helpers/tls.js'
import type { LatencyRelay } from '../../bench/latency-relay.js'
import type { HTTPHost } from '../../src/index.js'

const MiB = 1024 * 1024
let hosts: HTTPHost[] = []
let relay: LatencyRelay | undefined
afterEach(async () => {
  await relay?.close()
  await Promise.all(hosts.map(async h => { await h.close({ timeout: 100 }) }))
  hosts = []
  relay = undefined
})

it('a 1 MiB download over HTTP/2 needs no window update from the client', async () => {
  expect(H2_STREAM_WINDOW).toBeGreaterThanOrEqual(MiB)
  expect(H2_CONNECTION_WINDOW).toBeGreaterThanOrEqual(H2_STREAM_WINDOW)
  const tls = await testCertificate()
  const server = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls, ping: false })
  const client = await createHTTPHost({ clientTLS: { ca: tls.cert }, http2: true, ping: false })
  hosts = [server, client]
  const port = Number(server.addrs()[0].getComponents().find(c => c.name === 'tcp')?.value)
  const r = relay = await startLatencyRelay({ target: port, rttMs: 0, delayHandshake: false })
  let version = ''
  server.serve((req, res) => {
    version = req.httpVersion
    // from here on, nothing the client sends reaches the server: no WINDOW_UPDATE either
    r.connections[0].hold('up')
    res.end(Buffer.alloc(MiB))
  })
  const res = await client.fetch(`multiaddr:${multiaddr(`/ip4/127.0.0.1/tcp/${r.port}/tls/http`).toString()}`)
  let received = 0
  const reading = (async () => { for await (const chunk of res.body ?? []) received += (chunk as Uint8Array).byteLength })()
  await until(() => received === MiB, 5000, 'the whole MiB to arrive while the client\'s side is held')
  r.connections[0].release('up')
  await reading
  expect(version).toBe('2.0')
  expect(r.connections).toHaveLength(1)
})
