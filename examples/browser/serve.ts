/**
 * The browser example: a Node libp2phttp host on a WebSocket listener, and the page (`page.ts`, bundled
 * here with esbuild) served at http://127.0.0.1:8080/. Open it in a browser: the page runs its own
 * libp2p node, fetches from the Node host, and is fetched from in turn.
 *
 * Run: npm run example:browser (PORT=… for another port)
 */
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { build } from 'esbuild'
import { createLibp2p } from 'libp2p'
import { createHTTPHost, remotePeer } from '../../src/index.js'
import type { AddressInfo } from 'node:net'

/** A running example: the page's URL, and how to stop it. */
export interface BrowserExample {
  url: string
  stop: () => Promise<void>
}

export async function start (port = Number(process.env.PORT ?? 8080)): Promise<BrowserExample> {
  const libp2p = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  const host = await createHTTPHost({ libp2p })
  host.handle('/example/greeting/1', (request: Request) => new Response(`greetings from ${new URL(request.url).pathname}`))
  host.serve(async (request: Request) => {
    const caller = remotePeer(request)
    const path = new URL(request.url).pathname
    if (path === '/hello') return new Response(`hello ${caller?.toString() ?? 'stranger'}, this is Node`)
    if (path === '/call-me-back' && request.method === 'POST' && caller != null) {
      // only ever the caller itself, over the connection it opened: never a target the request names
      const page = await host.fetch({ peer: caller, path: '/' }, { signal: AbortSignal.timeout(10_000) })
      return new Response(`${page.status} ${await page.text()}`)
    }
    return new Response('not found\n', { status: 404 })
  })
  const nodeAddr = libp2p.getMultiaddrs()[0].toString()

  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    keepNames: true,
    minify: true,
    write: false,
    logLevel: 'silent'
  })
  const script = bundle.outputFiles[0].contents
  const html = `<!doctype html><meta charset="utf-8"><title>libp2phttp in the browser</title>
<body data-node="${nodeAddr}"><h1>libp2phttp in the browser</h1><pre id="log"></pre><script type="module" src="/page.js"></script></body>`
  const site = createServer((req, res) => {
    if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html)
    else res.writeHead(404).end()
  })
  // loopback only: the page is a secure context there (Web Crypto), and nothing is exposed to the network
  await new Promise<void>((resolve, reject) => { site.once('error', reject).listen(port, '127.0.0.1', resolve) })
  return {
    url: `http://127.0.0.1:${(site.address() as AddressInfo).port}/`,
    stop: async () => {
      await new Promise(resolve => site.close(resolve))
      await host.close({ timeout: 100 })
      await libp2p.stop()
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const example = await start()
  console.log(`open ${example.url} (Ctrl-C stops)`)
  process.once('SIGINT', () => { void example.stop().then(() => process.exit(0)) })
}
