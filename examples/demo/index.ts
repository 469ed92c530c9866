/**
 * The demo: two in-process peers over TCP on 127.0.0.1 (noise + yamux). One serves an ordinary Express
 * app; the other fetches from it over a libp2p stream (`/http/1.1`), by multiaddr URI and by peer id.
 *
 * Run: npm run demo
 */
import '../polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import express from 'express'
import { createLibp2p } from 'libp2p'
import { createHTTPHost, remotePeer, serverPeer } from '../../src/index.js'

async function node () {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // a receive window no larger than half the read buffer: a paused (backpressured) stream is never overrun
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 4 * 1024 * 1024, maxReadBufferLength: 8 * 1024 * 1024 } })]
  })
}

export async function main (log: (line: string) => void = console.log): Promise<void> {
  const serverNode = await node()
  const clientNode = await node()
  const server = await createHTTPHost({ libp2p: serverNode })
  const client = await createHTTPHost({ libp2p: clientNode })
  try {
    // An existing Express app, served to peers unchanged.
    const app = express()
    app.use(express.text())
    app.get('/hello/:name', (req, res) => {
      res.json({ greeting: `hello ${req.params.name}`, you: remotePeer(req)?.toString() })
    })
    app.post('/reverse', (req, res) => {
      res.type('text/plain').send([...String(req.body)].reverse().join(''))
    })
    server.serve(app)

    const addr = server.addrs()[0]
    log(`server peer ${server.peerId?.toString()} listening on ${addr.toString()}`)

    const uri = `multiaddr:${addr.toString()}/http-path/hello%2Fworld`
    log(`GET ${uri}`)
    const hello = await client.fetch(uri)
    log(`  ${hello.status} from ${serverPeer(hello)?.toString()}: ${await hello.text()}`)

    log(`POST /reverse to peer ${server.peerId?.toString()}`)
    const reversed = await client.fetch({ peer: serverNode.peerId, path: '/reverse' }, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'libp2p ❤ http'
    })
    log(`  ${reversed.status}: ${await reversed.text()}`)
  } finally {
    await client.close()
    await server.close()
    await clientNode.stop()
    await serverNode.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
