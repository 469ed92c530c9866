/**
 * Where a small GET's time goes with both ends in this process (the one-process set-up's two nodes and
 * one connection), per request: wall time, this process's CPU time (both ends), the event loop's idle
 * time (`performance.eventLoopUtilization`), and counts of TCP writes and reads. A wait per request
 * (a timer, a `setImmediate` that lets the loop sleep, a write held back) shows as wall > CPU and idle
 * time; a CPU gap shows as CPU.
 *
 * Contenders, in rounds rotated each round: `raw` (the raw stream RPC, `bench/raw-stream.ts`), `fetch`
 * (`host.fetch`, as the bench measures libp2phttp), `request` (undici's `request()` on the host's
 * dispatcher: the same streams, sockets, HTTP/1.1 client and server, without fetch's `Response`), and
 * `memory-h1` (the same `request()` and a bare Node `http.Server` answering the same handler over an
 * in-memory duplex, a new one per exchange: what the HTTP/1.1 exchange itself costs, client and server,
 * with no libp2p and no I/O).
 *
 * `node --import tsx bench/c1-gap.ts [requests=2000] [rounds=4] [concurrency=1]`
 * Environment: `ONLY=raw|fetch|request|memory-h1` one contender; `PROF=FILE` a CPU profile of the measured rounds;
 * `COUNT_TICKS=1` also count `setImmediate`/`setTimeout`/`nextTick`/`queueMicrotask` calls (the
 * wrappers cost a little); `CORK=1` batch each tick's TCP writes (an experiment on @libp2p/tcp, which
 * writes a noise message's length prefix and ciphertext with a `socket.write` each).
 */
import '../examples/polyfill.js'
import './production.js'
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { createServer } from 'node:http'
import { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { Duplex } from 'node:stream'
import { multiaddr } from '@multiformats/multiaddr'
import { Pool, request } from 'undici'
import { createHTTPHost } from '../src/index.js'
import { handleRaw, hostClient, node, rawClient } from './contenders.js'
import { nodeHandler } from './handlers.js'
import { smallGets } from './scenarios.js'
import type { Client } from './contenders.js'

const requests = Number(process.argv[2] ?? 2000)
const rounds = Number(process.argv[3] ?? 4)
const concurrency = Number(process.argv[4] ?? 1)
const env = (name: string): string | undefined => (process.env[name] ?? '') === '' ? undefined : process.env[name]

type Counter = 'writes' | 'reads' | 'setImmediate' | 'setTimeout' | 'nextTick' | 'queueMicrotask'
const counts: Record<Counter, number> = { writes: 0, reads: 0, setImmediate: 0, setTimeout: 0, nextTick: 0, queueMicrotask: 0 }

/** Wrap `owner[key]` (a function) so that each call counts under `counter`. */
function count (owner: object, key: string, counter: Counter): void {
  const target = owner as Record<string, (...args: unknown[]) => unknown>
  const original = target[key]
  target[key] = function (this: unknown, ...args: unknown[]) {
    counts[counter]++
    return original.apply(this, args)
  }
}
// every TCP write goes through _writeGeneric (write and writev), every read chunk through push
count(Socket.prototype, '_writeGeneric', 'writes')
count(Socket.prototype, 'push', 'reads')
if (env('COUNT_TICKS') != null) {
  count(globalThis, 'setImmediate', 'setImmediate')
  count(globalThis, 'setTimeout', 'setTimeout')
  count(globalThis, 'queueMicrotask', 'queueMicrotask')
  count(process, 'nextTick', 'nextTick')
}
if (env('CORK') != null) {
  const write = Socket.prototype.write as (...args: unknown[]) => boolean
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    if (this.writableCorked === 0) {
      this.cork()
      process.nextTick(() => { this.uncork() })
    }
    return write.apply(this, args)
  } as typeof Socket.prototype.write
}

/** Two duplexes, each one's writes the other's reads, with what Node's HTTP server and undici call on a socket. */
function duplexPair (): [Duplex, Duplex] {
  const ends: Duplex[] = []
  const make = (i: number): Duplex => {
    const end = new Duplex({
      allowHalfOpen: true,
      read () {},
      write (chunk, _encoding, callback) { ends[1 - i].push(chunk); callback() },
      final (callback) { ends[1 - i].push(null); callback() }
    })
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
const serverHost = await createHTTPHost({ libp2p: server, ping: false })
serverHost.serve(nodeHandler)
const client = await node()
const clientHost = await createHTTPHost({ libp2p: client, maxStreamsPerPeer: 64 })
const addr = server.getMultiaddrs()[0].toString()
const fetchClient = hostClient(clientHost, addr, async () => {})
const { url, dispatcher } = await clientHost.dispatcherFor(multiaddr(addr))
const small = new URL('/small', url).toString()
const memoryServer = createServer(nodeHandler as never)
const memory = new Pool('http://memory.invalid', {
  connections: 64,
  connect: (_options, callback) => {
    const [near, far] = duplexPair()
    memoryServer.emit('connection', far)
    // undici's client writes nothing on a socket handed over synchronously (a connector is async)
    process.nextTick(() => { callback(null, near as unknown as Socket) })
  }
})
const clients: Record<string, Client> = {
  raw: await rawClient(client, addr, async () => {}),
  fetch: fetchClient,
  request: {
    ...fetchClient,
    small: async () => {
      const res = await request(small, { dispatcher })
      for await (const _ of res.body) { /* drained */ }
    }
  },
  'memory-h1': {
    ...fetchClient,
    small: async () => {
      // one exchange per connection, as on streams
      const res = await request('http://memory.invalid/small', { dispatcher: memory, reset: true })
      for await (const _ of res.body) { /* drained */ }
    }
  }
}
const names = Object.keys(clients).filter(name => env('ONLY') == null || name === env('ONLY'))
for (const name of Object.keys(clients)) await smallGets(clients[name], 1000, 4)

const session = env('PROF') == null ? undefined : new Session()
if (session != null) {
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
}
const out = new Map<string, string[]>(names.map(name => [name, []]))
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + r) % names.length]
    const before = { ...counts }
    const cpu = process.cpuUsage()
    const loop = performance.eventLoopUtilization()
    const start = performance.now()
    await smallGets(clients[name], requests, concurrency)
    const wall = (performance.now() - start) * 1000 / requests
    const used = process.cpuUsage(cpu)
    const idle = performance.eventLoopUtilization(loop).idle * 1000 / requests
    const per = (k: Counter): string => ((counts[k] - before[k]) / requests).toFixed(2)
    const counted = (Object.keys(counts) as Counter[]).filter(k => counts[k] > 0).map(k => `${k} ${per(k)}`).join(', ')
    out.get(name)?.push(`wall ${wall.toFixed(0)} µs, CPU ${((used.user + used.system) / requests).toFixed(0)} µs (user ${(used.user / requests).toFixed(0)}, system ${(used.system / requests).toFixed(0)}), loop idle ${idle.toFixed(0)} µs; ${counted}`)
  }
}
if (session != null) {
  const { profile } = await session.post('Profiler.stop')
  await writeFile(env('PROF') as string, JSON.stringify(profile))
}
console.log(`small GET, c=${concurrency}, ${requests} per round, per request:`)
for (const [name, lines] of out) console.log(`${name}\n  ${lines.join('\n  ')}`)
await memory.close()
await clientHost.close({ timeout: 100 })
await client.stop()
await serverHost.close({ timeout: 100 })
await server.stop()
