/**
 * The floor under HTTP/1.1 on libp2p streams with undici's client and Node's server, both ends in this
 * process (the one-process set-up's nodes and connection): what a small GET costs with nothing of
 * libp2phttp's but the socket adapter, against the raw stream RPC (`bench/raw-stream.ts`) on the same
 * connection, and what the same HTTP/1.1 exchange costs with no libp2p at all.
 *
 * Contenders, in rounds rotated each round, per request wall and CPU time (this process: both ends):
 * - `raw`: the raw stream RPC;
 * - `bare-h1`: undici `request()` on a bare `Pool` whose connector opens a libp2p stream (full
 *   negotiation, as `raw` does) wrapped in `StreamSocket`; the server node hands each stream to a bare
 *   `http.Server` (`emit('connection')`) answering `bench/handlers.ts`'s `nodeHandler`; one exchange per
 *   stream (`reset: true`, `Connection: close`), as the spec asks. No host, interceptor, opener, slot,
 *   limit or fetch;
 * - `memory-h1`: the same undici `request()` and `http.Server`, a new in-memory duplex per exchange: the
 *   cost of the HTTP/1.1 exchange itself (client, server, their Node streams), no libp2p, no I/O.
 *
 * When `bare-h1` costs more than `raw`, no HTTP/1.1 path built on undici and Node's server reaches the
 * raw RPC with both ends in one process, whatever libp2phttp does around it.
 *
 * `node --import tsx bench/http1-floor.ts [requests=3000] [rounds=4] [concurrency=1]`
 */
import '../examples/polyfill.js'
import './production.js'
import { createServer } from 'node:http'
import { performance } from 'node:perf_hooks'
import { Duplex } from 'node:stream'
import { multiaddr } from '@multiformats/multiaddr'
import { Pool, request } from 'undici'
import { StreamSocket } from '../src/stream/socket.js'
import { handleRaw, node, rawClient } from './contenders.js'
import { nodeHandler } from './handlers.js'
import { smallGets } from './scenarios.js'
import type { Client } from './contenders.js'
import type { Socket } from 'node:net'

const requests = Number(process.argv[2] ?? 3000)
const rounds = Number(process.argv[3] ?? 4)
const concurrency = Number(process.argv[4] ?? 1)
const PROTOCOL = '/libp2phttp-bench/bare-h1/1'

/** Two duplexes, each one's writes the other's reads: a connection without a socket. */
function duplexPair (): [Duplex, Duplex] {
  const ends: Duplex[] = []
  const make = (i: number): Duplex => {
    const end = new Duplex({
      allowHalfOpen: true,
      read () {},
      write (chunk, _encoding, callback) { ends[1 - i].push(chunk); callback() },
      final (callback) { ends[1 - i].push(null); callback() }
    })
    // what Node's HTTP server and undici call on a socket
    return Object.assign(end, {
      setTimeout () { return end },
      setNoDelay () { return end },
      setKeepAlive () { return end },
      ref () { return end },
      unref () { return end },
      destroySoon () { end.end(); end.once('finish', () => end.destroy()) },
      address () { return {} }
    })
  }
  ends.push(make(0), make(1))
  return [ends[0], ends[1]]
}

const server = await node()
await handleRaw(server)
const http = createServer(nodeHandler as never)
;(http as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true
await server.handle(PROTOCOL, (stream, connection) => {
  const socket = new StreamSocket(stream, { remotePeer: connection.remotePeer, remoteAddr: connection.remoteAddr, allowHalfOpen: true })
  socket.on('error', () => {})
  socket.once('finish', () => { socket.destroy() })
  http.emit('connection', socket)
}, { maxInboundStreams: 1024 })

const client = await node()
const addr = server.getMultiaddrs()[0].toString()
const connection = await client.dial(multiaddr(addr))
const bare = new Pool('http://peer.invalid', {
  connections: 64,
  connect: (_options, callback) => {
    connection.newStream(PROTOCOL, { maxOutboundStreams: 1024 }).then(
      (stream) => { callback(null, new StreamSocket(stream, { remotePeer: connection.remotePeer, remoteAddr: connection.remoteAddr }) as unknown as Socket) },
      (err: Error) => { callback(err, null) }
    )
  }
})
const memory = new Pool('http://memory.invalid', {
  connections: 64,
  connect: (_options, callback) => {
    const [near, far] = duplexPair()
    http.emit('connection', far)
    // undici's client does not write on a socket handed to it synchronously (a connector is async)
    process.nextTick(() => { callback(null, near as unknown as Socket) })
  }
})

const raw = await rawClient(client, addr, async () => {})
const get = (dispatcher: Pool): Client => ({
  ...raw,
  small: async () => {
    const res = await request('http://peer.invalid/small', { dispatcher, reset: true })
    for await (const _ of res.body) { /* drained */ }
  }
})
const clients: Record<string, Client> = { raw, 'bare-h1': get(bare), 'memory-h1': get(memory) }
const names = Object.keys(clients).filter(name => (process.env.ONLY ?? '') === '' || name === process.env.ONLY)
for (const name of names) await smallGets(clients[name], 1000, 4)
const out = new Map<string, string[]>(names.map(name => [name, []]))
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + r) % names.length]
    const cpu = process.cpuUsage()
    const start = performance.now()
    await smallGets(clients[name], requests, concurrency)
    const wall = (performance.now() - start) * 1000 / requests
    const used = process.cpuUsage(cpu)
    out.get(name)?.push(`wall ${wall.toFixed(0)} µs, CPU ${((used.user + used.system) / requests).toFixed(0)} µs`)
  }
}
console.log(`small GET, c=${concurrency}, ${requests} per round, per request:`)
for (const [name, lines] of out) console.log(`${name}\n  ${lines.join('\n  ')}`)
await bare.close()
await memory.close()
await client.stop()
await server.stop()
