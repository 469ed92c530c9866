/**
 * Caching answers from peers with undici's own HTTP cache: `host.dispatcher` composed with undici's
 * `cache` interceptor (RFC 9111) and a bounded memory store. A peer serves a clock that may be cached
 * for 60 s; the other asks three times and the clock is read once. The cache keys entries by URL, and a
 * peer's URL (`http://<base36 peer id>/…`) names the peer, so two peers never share an entry.
 *
 * Run: npm run example:cache
 */
import '../polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { cacheStores, interceptors, request } from 'undici'
import { createHTTPHost } from '../../src/index.js'

async function node () {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

export async function main (log: (line: string) => void = console.log): Promise<void> {
  const serverNode = await node()
  const clientNode = await node()
  const server = await createHTTPHost({ libp2p: serverNode })
  const client = await createHTTPHost({ libp2p: clientNode })
  try {
    let reads = 0
    server.serve((_req, res) => {
      reads++
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' })
      res.end(`read #${reads} at ${new Date().toISOString()}`)
    })
    await clientNode.dial(serverNode.getMultiaddrs())

    // undici's cache in front of the host's dispatcher; 'private' for one user's cache (a browser's
    // rules: `private` answers are kept too), 'shared' (the default) for a proxy serving many
    const cached = client.dispatcher.compose(interceptors.cache({
      store: new cacheStores.MemoryCacheStore({ maxSize: 16 * 1024 * 1024, maxEntrySize: 1024 * 1024 }),
      type: 'private'
    }))
    const url = await client.url({ peer: serverNode.peerId, path: '/clock' })
    for (let i = 0; i < 3; i++) {
      const res = await request(url, { dispatcher: cached })
      log(`${res.statusCode} ${await res.body.text()} (age ${String(res.headers.age ?? '-')})`)
    }
    log(`the peer was asked ${reads} time(s)`)
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
