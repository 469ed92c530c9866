/**
 * The page of the browser example: a js-libp2p node over WebSockets and a libp2phttp host, both in the
 * tab. It serves a greeting to peers, fetches from the Node host it was given, and asks that host to
 * fetch from it in turn. Built by `serve.ts` (esbuild); in your own app, import from 'libp2phttp': the
 * `browser` export condition picks the browser build.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { createHTTPHost, remotePeer, serverPeer } from '../../src/browser.js'

const out = document.getElementById('log') as HTMLElement
function log (line: string): void {
  out.textContent += `${line}\n`
}

async function main (): Promise<void> {
  const nodeAddr = document.body.dataset.node ?? ''
  const libp2p = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
    // js-libp2p in a browser dials public addresses only; this example's Node host is on 127.0.0.1.
    // Allow loopback, and nothing else private: a page must not become a scanner of the user's network.
    connectionGater: { denyDialMultiaddr: (ma) => !ma.toString().startsWith('/ip4/127.0.0.1/') }
  })
  const host = await createHTTPHost({ libp2p })
  // what this page serves to peers: a fetch-style handler that knows who is asking
  host.serve((request) => new Response(`hello ${remotePeer(request)?.toString() ?? 'stranger'}, this is a web page`))
  log(`page peer ${libp2p.peerId.toString()}`)

  const hello = await host.fetch(`multiaddr:${nodeAddr}/http-path/hello`)
  log(`page → node: ${hello.status} from ${serverPeer(hello)?.toString() ?? '?'}: ${await hello.text()}`)
  log(`node's protocols: ${Object.keys(await host.protocols(`multiaddr:${nodeAddr}`)).join(', ')}`)
  // the Node host fetches from this page, over the connection the page opened
  const back = await host.fetch(`multiaddr:${nodeAddr}/http-path/call-me-back`, { method: 'POST' })
  log(`node → page: ${await back.text()}`)
  log('done')
}

main().catch((err: Error & { code?: string }) => { log(`failed: ${err.code ?? err.name}: ${err.message}`) })
