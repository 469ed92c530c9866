/**
 * The host as a js-libp2p service: two nodes built with `services: { http: httpHost() }`. One mounts a
 * protocol; the other discovers it through the well-known map, calls it and pings over HTTP, all through
 * `node.services.http`. Then the server node stops (its HTTP service with it) and starts again, still
 * serving what was mounted.
 *
 * Run: npm run example:service
 */
import '../polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { httpHost, remotePeer } from '../../src/index.js'

async function node () {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { http: httpHost() }
  })
}

export async function main (log: (line: string) => void = console.log): Promise<void> {
  const server = await node()
  const client = await node()
  try {
    // A fetch-style handler for one protocol, mounted at a path of its own; the well-known map lists it.
    server.services.http.handle('/greet/1', async (req: Request) => {
      const name = new URL(req.url).searchParams.get('name') ?? 'stranger'
      return Response.json({ greeting: `hello ${name}` })
    }, { path: '/greet/' })
    // A Node-style handler at the root: it sees the authenticated peer of the stream.
    server.services.http.serve((req, res) => { res.end(`you are ${remotePeer(req)?.toString() ?? 'unknown'}`) })

    const target = server.getMultiaddrs()[0]
    log(`server ${server.peerId.toString()} at ${target.toString()}`)
    const map = await client.services.http.protocols(target)
    log(`  protocols: ${Object.keys(map).sort().join(', ')}`)
    const greet = client.services.http.client(target, '/greet/1')
    const res = await greet.fetch('?name=libp2p')
    log(`  ${res.status} /greet/1: ${JSON.stringify(await res.json())}`)
    const root = await client.services.http.fetch(target)
    log(`  ${root.status} /: ${await root.text()}`)
    log(`  client is ${client.peerId.toString()}`)
    const rtt = await client.services.http.ping(target)
    log(`  HTTP ping answered (${rtt >= 0 ? 'round trip measured' : 'no round trip'})`)

    // the client drops its connection when it sees the server go: wait for that (bounded) before fetching again
    const disconnected = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000)
      client.addEventListener('peer:disconnect', () => { clearTimeout(timer); resolve() }, { once: true })
    })
    await server.stop()
    await disconnected
    log(`server stopped: /http/1.1 handled: ${String(server.getProtocols().includes('/http/1.1'))}`)
    await server.start()
    log(`server started: /http/1.1 handled: ${String(server.getProtocols().includes('/http/1.1'))}`)
    const again = await client.services.http.fetch(server.getMultiaddrs()[0], { protocol: '/greet/1', path: '?name=again' })
    log(`  ${again.status} /greet/1: ${JSON.stringify(await again.json())}`)
  } finally {
    // stopping a node stops its HTTP service: handlers unregistered, in-flight requests given time to finish
    await client.stop()
    await server.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
