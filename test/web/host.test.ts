/**
 * The browser host (src/web/host.ts) run in Node against a Node host over TCP: it uses Web platform APIs
 * only, so its options, limits and lifecycle are tested here, quicker than in Chromium
 * (test/browser/host.test.ts covers the page).
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HostClosedError, InvalidLimitError, NotInBrowserError } from '../../src/errors.js'
import { createHTTPHost as createWebHost } from '../../src/web/host.js'
import { createNode, createPeer, sleep, stopPeers } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { BrowserHTTPHost } from '../../src/web/host.js'
import type { Libp2p } from '@libp2p/interface'

let server: Peer
let webNode: Libp2p
let web: BrowserHTTPHost

beforeAll(async () => {
  server = await createPeer()
  server.host.serve((request: Request) => new Response(`hi ${new URL(request.url).pathname}`))
  webNode = await createNode()
  web = await createWebHost({ libp2p: webNode, maxInboundStreams: 1 })
})

afterAll(async () => {
  await web?.close({ timeout: 100 })
  await webNode?.stop()
  await stopPeers(server)
})

describe('the browser host, in Node', () => {
  it('refuses Node-only options with NotInBrowserError, and bad limits as Node does', async () => {
    await expect(createWebHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'] } as never)).rejects.toMatchObject({ code: 'ERR_NOT_IN_BROWSER', feature: 'the `listen` option' })
    await expect(createWebHost({ auth: { server: {} } } as never)).rejects.toBeInstanceOf(NotInBrowserError)
    await expect(createWebHost({ maxInboundStreams: 0 })).rejects.toBeInstanceOf(InvalidLimitError)
    await expect(createWebHost({ server: { headersTimeout: -1 } })).rejects.toMatchObject({ option: 'server.headersTimeout' })
  })

  it('fetches from a Node host over a stream', async () => {
    const res = await web.fetch(`multiaddr:${server.node.getMultiaddrs()[0].toString()}/http-path/x`)
    expect(await res.text()).toBe('hi /x')
  })

  it('gives a peer\'s request slot back when an exchange ends, failed ones included (maxStreamsPerPeer 1)', async () => {
    const node = await createNode()
    const host = await createWebHost({ libp2p: node, maxStreamsPerPeer: 1 })
    try {
      const addr = server.node.getMultiaddrs()[0].toString()
      for (let i = 0; i < 5; i++) {
        expect(await (await host.fetch(`multiaddr:${addr}/http-path/n${i}`)).text()).toBe(`hi /n${i}`)
        // a response abandoned unread, then an aborted one: each must still free the slot
        await (await host.fetch(`multiaddr:${addr}/http-path/a${i}`)).body?.cancel()
        const controller = new AbortController()
        const aborted = host.fetch(`multiaddr:${addr}/http-path/b${i}`, { signal: controller.signal })
        controller.abort(new Error('gave up'))
        await expect(aborted).rejects.toThrow('gave up')
      }
    } finally {
      await host.close({ timeout: 100 })
      await node.stop()
    }
  })

  it('a Response dropped with its body unread frees its stream and the peer\'s slot once collected (maxStreamsPerPeer 1)', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const big = await createPeer()
    // more than the stream's flow-control window: the body cannot all arrive while nobody reads it
    big.host.serve((_request: Request) => new Response(new Uint8Array(16 * 1024 * 1024)))
    const node = await createNode()
    const host = await createWebHost({ libp2p: node, maxStreamsPerPeer: 1 })
    try {
      const addr = big.node.getMultiaddrs()[0].toString()
      // in a function of its own, so that nothing on this frame keeps the response
      const fetchAndDrop = async (): Promise<void> => { expect((await host.fetch(`multiaddr:${addr}/http-path/big`)).status).toBe(200) }
      await fetchAndDrop()
      const next = host.fetch(`multiaddr:${addr}/http-path/next`, { method: 'HEAD', signal: AbortSignal.timeout(15_000) })
      let settled = false
      void next.then(() => { settled = true }, () => { settled = true })
      for (let i = 0; i < 100 && !settled; i++) {
        gc()
        await sleep(50)
      }
      expect((await next).status).toBe(200)
    } finally {
      await host.close({ timeout: 100 })
      await node.stop()
      await stopPeers(big)
    }
  })

  it('a stream past maxInboundStreams is answered 503 with Retry-After, without reaching the handler', async () => {
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    let entered!: () => void
    const inHandler = new Promise<void>(resolve => { entered = resolve })
    let calls = 0
    web.serve(async () => {
      calls++
      entered()
      await held
      return new Response('slow')
    })
    const target = { peer: webNode.peerId }
    const first = server.host.fetch(target)
    await inHandler
    const second = await server.host.fetch(target)
    expect(second.status).toBe(503)
    expect(second.headers.get('retry-after')).toBe('1')
    await second.body?.cancel()
    release()
    expect(await (await first).text()).toBe('slow')
    expect(calls).toBe(1)
  })

  it('close(): later fetches fail with HostClosedError; a served exchange still running is reset after the timeout', async () => {
    const node = await createNode()
    const host = await createWebHost({ libp2p: node })
    let entered!: () => void
    const inHandler = new Promise<void>(resolve => { entered = resolve })
    host.serve(async () => { entered(); return await new Promise<Response>(() => {}) }) // never answers
    const pending = server.host.fetch({ peer: node.getMultiaddrs()[0] })
    const outcome = pending.then(() => 'answered', (err: { code?: string }) => err.code)
    await inHandler
    await host.close({ timeout: 50 })
    expect(await outcome).toBe('ERR_STREAM_RESET')
    await expect(host.fetch(`multiaddr:${server.node.getMultiaddrs()[0].toString()}`)).rejects.toBeInstanceOf(HostClosedError)
    await host.close() // idempotent
    await node.stop()
  })
})
