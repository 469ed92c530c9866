/**
 * The page the Chromium tests load (bundled by esbuild in test/browser/host.test.ts): a js-libp2p node
 * with WebSockets, noise, yamux and identify, and a libp2phttp host from the browser entry. It serves
 * a few routes to peers and leaves the rest to the tests, which drive it through `window.t`.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import * as lib from '../../src/browser.js'
import type { BrowserHTTPHost } from '../../src/browser.js'
import type { Libp2p } from '@libp2p/interface'

export interface PageAPI {
  lib: typeof lib
  multiaddr: typeof multiaddr
  node: Libp2p
  host: BrowserHTTPHost
  /** Requests the page's handlers saw: method, path, caller. */
  seen: Array<{ method: string, path: string, peer: string | undefined, body: string }>
  /** A second node and host in the page, a client only, with `options`; `close` stops both. */
  client: (options: Omit<lib.BrowserHTTPHostOptions, 'libp2p'>) => Promise<{ host: BrowserHTTPHost, close: () => Promise<void> }>
}

declare global {
  interface Window {
    t: PageAPI
    /** Start the page's node and host; `listen` may hold a relay's `/p2p-circuit` address, for peers that cannot dial a page. */
    start: (listen?: string[]) => Promise<string>
  }
}

async function pageNode (listen: string[]): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
    // js-libp2p's browser default refuses to dial private addresses; the Node host is on 127.0.0.1
    connectionGater: { denyDialMultiaddr: (ma) => !ma.toString().startsWith('/ip4/127.0.0.1/') }
  })
}

async function client (options: Omit<lib.BrowserHTTPHostOptions, 'libp2p'>): Promise<{ host: BrowserHTTPHost, close: () => Promise<void> }> {
  const node = await pageNode([])
  const host = await lib.createHTTPHost({ ...options, libp2p: node })
  return { host, close: async () => { await host.close(); await node.stop() } }
}

window.start = async (listen: string[] = []) => {
  const node = await pageNode(listen)
  const host = await lib.createHTTPHost({ libp2p: node })
  const seen: PageAPI['seen'] = []
  host.serve(async (request) => {
    const url = new URL(request.url)
    const body = await request.text()
    seen.push({ method: request.method, path: `${url.pathname}${url.search}`, peer: lib.remotePeer(request)?.toString(), body })
    if (url.pathname === '/whoami') return new Response(`you are ${lib.remotePeer(request)?.toString() ?? 'nobody'}`)
    if (request.method === 'POST') return new Response(`page got ${body}`, { status: 201, headers: { 'x-page': 'yes' } })
    return new Response(`page answers ${url.pathname}`)
  })
  host.handle('/page-proto/1', (request) => new Response(`page-proto at ${new URL(request.url).pathname}`))
  window.t = { lib, multiaddr, node, host, seen, client }
  return node.peerId.toString()
}
