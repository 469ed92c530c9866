/**
 * Review of issue 21's optimistic negotiation in the browser entry: the first stream of a connection
 * must always tell the opener it is settled, or every later request on that connection waits for ever.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createHTTPHost as createWebHost } from '../../src/web/host.js'
import { createNode, createPeer, stopPeers, until, uriOf } from '../helpers/nodes.js'
import { openHTTPStreams } from '../helpers/raw-stream.js'
import type { Peer } from '../helpers/nodes.js'
import type { BrowserHTTPHost } from '../../src/web/host.js'
import type { Libp2p } from '@libp2p/interface'

describe('review of issue 21: the browser host\'s first optimistic stream of a connection', () => {
  let server: Peer | undefined
  let node: Libp2p | undefined
  let web: BrowserHTTPHost | undefined
  afterEach(async () => {
    await web?.close({ timeout: 100 })
    await node?.stop()
    await stopPeers(server)
    server = node = web = undefined
  })

  it('a request aborted while its first stream is opened does not hold the next requests to that peer for ever', async () => {
    server = await createPeer()
    server.host.serve((_req: Request) => new Response('ok'))
    node = await createNode()
    web = await createWebHost({ libp2p: node })
    const uri = uriOf(server)
    const connection = await node.dial(server.node.getMultiaddrs())
    // the abort lands while the connection's first stream is created (the field optimistic.ts opens
    // streams with): the opener has made it the stream a burst waits for, and it comes back too late
    const controller = new AbortController()
    const muxer = (connection as unknown as { muxer: { createStream: (...args: unknown[]) => Promise<unknown> } }).muxer
    const createStream = muxer.createStream
    muxer.createStream = async (...args) => {
      muxer.createStream = createStream
      controller.abort(new Error('gave up'))
      return await createStream.apply(muxer, args)
    }
    await expect(web.fetch(uri, { signal: controller.signal })).rejects.toThrow('gave up')
    // before the fix the late stream was reset without telling the opener: this waited for ever
    const next = await web.fetch(uri, { signal: AbortSignal.timeout(10_000) })
    expect(await next.text()).toBe('ok')
    await until(() => openHTTPStreams(node as Libp2p) === 0, 5000, 'the streams to close')
  })
})
