/**
 * The native HTTP transport beside the stream transport: one peer serves the same handler over a
 * `/http/1.1` libp2p stream and over HTTPS (`/ip4/127.0.0.1/tcp/0/tls/http`, a self-signed certificate
 * made here); another fetches it both ways, and the host picks a transport from a list of addresses.
 *
 * Run: npm run example:native
 */
import '../polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { generate } from 'selfsigned'
import { createHTTPHost, remotePeer, transportOf } from '../../src/index.js'

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
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
  })
  const serverNode = await node()
  const clientNode = await node()
  const server = await createHTTPHost({
    libp2p: serverNode,
    listen: ['/ip4/127.0.0.1/tcp/0/tls/http'],
    tls: { key: pems.private, cert: pems.cert }
  })
  // The certificate is self-signed: the client trusts it explicitly, never by turning checks off.
  const client = await createHTTPHost({ libp2p: clientNode, clientTLS: { ca: pems.cert } })
  try {
    server.serve((req, res) => {
      res.end(`${req.method} ${req.url} from ${remotePeer(req)?.toString() ?? 'an unauthenticated HTTPS client'}`)
    })
    for (const addr of server.addrs()) {
      log(`server address ${addr.toString()}`)
    }
    const [streamAddr, httpsAddr] = server.addrs()
    const httpsOnly = multiaddr(httpsAddr.toString().replace(/\/p2p\/.*$/, ''))

    for (const target of [`multiaddr:${streamAddr.toString()}/http-path/hi`, `multiaddr:${httpsOnly.toString()}/http-path/hi`]) {
      const res = await client.fetch(target)
      log(`GET ${target}`)
      log(`  ${res.status} over ${transportOf(res)?.transport}: ${await res.text()}`)
    }

    // Both addresses, and a libp2p connection already open: the host stays on it (rule 3).
    const picked = await client.fetch([httpsOnly, streamAddr])
    log(`GET [HTTPS address, stream address]: ${transportOf(picked)?.transport} (${transportOf(picked)?.reason})`)
    await picked.body?.cancel()
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
