/**
 * Peer ID Authentication over the native transport: one peer serves HTTPS (`/tls/http`, a self-signed
 * certificate made here) and requires `libp2p-PeerID` authentication; the other fetches it by the
 * server's `/tls/http/p2p/<id>` address. Both sides end up knowing who the other is, as over a stream.
 *
 * Run: npm run example:peer-auth
 */
import '../polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { generate } from 'selfsigned'
import { createHTTPHost, remotePeer, serverPeer, transportOf } from '../../src/index.js'

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
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }]
  })
  const serverNode = await node()
  const clientNode = await node()
  const server = await createHTTPHost({
    libp2p: serverNode,
    listen: ['/dns4/localhost/tcp/0/tls/http'],
    tls: { key: pems.private, cert: pems.cert },
    // native clients must prove their peer id; the names this server signs for
    auth: { server: { hostnames: ['localhost'] } }
  })
  const client = await createHTTPHost({ libp2p: clientNode, clientTLS: { ca: pems.cert } })
  try {
    server.serve((req, res) => { res.end(`hello ${remotePeer(req)?.toString() ?? 'stranger'}`) })
    const address = server.addrs().find(ma => ma.toString().includes('/tls/http'))
    if (address == null) throw new Error('no HTTPS address')
    log(`server ${server.peerId?.toString()} at ${address.toString()}`)

    // the address names the peer (/p2p/<id>): the client proves the server is that peer before any body goes out
    const res = await client.fetch(`multiaddr:${address.toString()}/http-path/greeting`)
    log(`  ${res.status} over ${transportOf(res)?.transport}, server proven: ${serverPeer(res)?.toString()}`)
    log(`  body: ${await res.text()}`)
    log(`  client is ${client.peerId?.toString()}`)
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
