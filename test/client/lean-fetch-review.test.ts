/**
 * Review of issue 21's lean fetch: the `Response` bodies `host.fetch` hands out and the
 * FinalizationRegistry that cancels those collected unread. Real nodes, a real `/http/1.1` stream.
 */
import { fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { settle, snapshot } from '../helpers/leaks.js'
import { createPeer, stopPeers, uriOf } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'

/** A body larger than the stream and the client buffer, so that it is still arriving while nobody reads. */
const BIG = 4 * 1024 * 1024

let server: Peer
let client: Peer

beforeAll(async () => {
  server = await createPeer()
  server.host.serve((req: Request) => {
    const url = new URL(req.url)
    if (url.pathname === '/moved') {
      // a redirect whose body is larger than what arrives with its head
      return new Response('m'.repeat(BIG), { status: 302, headers: { location: '/elsewhere' } })
    }
    return new Response(new Uint8Array(BIG))
  })
  client = await createPeer()
  await client.node.dial(server.node.getMultiaddrs())
})

afterAll(async () => {
  await stopPeers(client, server)
})

/** Full collections, with a task in between for FinalizationRegistry callbacks to run. */
async function collect (): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc == null) throw new Error('the test needs --expose-gc (vitest.config.ts)')
  for (let i = 0; i < 5; i++) {
    gc()
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

describe('review of issue 21: Response bodies and the collection of unread ones', () => {
  it('a response dropped with its body unread (still arriving) ends its exchange once collected, as undici\'s fetch does', async () => {
    const nodes = [client.node, server.node]
    const before = await snapshot(nodes)
    await (async () => {
      const res = await client.host.fetch(uriOf(server, '/big'))
      expect(res.status).toBe(200)
    })()
    await collect()
    await settle(nodes, before)
  })

  it('a response and its clone() both dropped unread end their exchange (its stream is reset, as undici\'s fetch does)', async () => {
    const nodes = [client.node, server.node]
    const before = await snapshot(nodes)
    await (async () => {
      const res = await client.host.fetch(uriOf(server, '/big'))
      res.clone()
    })()
    await collect()
    // before the fix the tee held the original body locked, so no collection cancelled it: the stream stayed open
    await settle(nodes, before)
  })

  it('redirect: \'manual\' with a relative Location: the rebuilt response\'s body survives the collection of the one it was rebuilt from', async () => {
    const res = await client.host.fetch(uriOf(server, '/moved'), { redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toMatch(/^multiaddr:.*\/http-path\/elsewhere$/)
    await collect()
    // before the fix the original's registration cancelled the shared body: it read as empty
    expect((await res.text()).length).toBe(BIG)
  })

  it('a clone read after the original was read and both were collected in between gives the whole body', async () => {
    const res = await client.host.fetch(uriOf(server, '/big'))
    const twin = res.clone()
    expect((await res.arrayBuffer()).byteLength).toBe(BIG)
    await collect()
    expect((await twin.arrayBuffer()).byteLength).toBe(BIG)
  })
})

describe('review of issue 21: request bodies the lean fetch must leave to undici\'s fetch', () => {
  it('a ReadableStream body already read from (disturbed, not locked) is refused as undici\'s fetch refuses it', async () => {
    const disturbed = async (): Promise<ReadableStream<Uint8Array>> => {
      const stream = new ReadableStream<Uint8Array>({
        start (controller) {
          controller.enqueue(new TextEncoder().encode('read already'))
          controller.enqueue(new TextEncoder().encode('the rest'))
          controller.close()
        }
      })
      const reader = stream.getReader()
      await reader.read()
      reader.releaseLock()
      return stream
    }
    const viaUndici = await undiciFetch(await client.host.url(uriOf(server, '/echo')), { method: 'POST', body: await disturbed(), duplex: 'half', dispatcher: client.host.dispatcher }).catch((e: unknown) => e)
    // before the fix host.fetch sent what was left of the body and resolved
    const viaHost = await client.host.fetch(uriOf(server, '/echo'), { method: 'POST', body: await disturbed(), duplex: 'half' }).catch((e: unknown) => e)
    expect(viaUndici).toBeInstanceOf(TypeError)
    expect(viaHost).toBeInstanceOf(TypeError)
    expect((viaHost as Error).message).toBe((viaUndici as Error).message)
  })

  it('a header value with a character over U+00FF is refused with fetch\'s own TypeError, before anything is sent', async () => {
    const init = { headers: { 'x-price': '10 €' } }
    const viaUndici = await undiciFetch(await client.host.url(uriOf(server, '/echo')), { ...init, dispatcher: client.host.dispatcher }).catch((e: unknown) => e)
    // before the fix: TypeError('fetch failed') with undici's InvalidArgumentError as its cause
    const viaHost = await client.host.fetch(uriOf(server, '/echo'), init).catch((e: unknown) => e)
    expect(viaUndici).toBeInstanceOf(TypeError)
    expect(viaHost).toBeInstanceOf(TypeError)
    expect((viaHost as Error).message).toBe((viaUndici as Error).message)
  })
})
