/**
 * `node --import tsx bench/bulk-path.ts [--size BYTES] [--rounds N] [--op down|up|both] [--only a,b]`
 *
 * What a bulk transfer costs on each layer, both ends in this process (one server node, one client node,
 * one connection), for the raw stream protocol and for libp2phttp over streams (its client through
 * `host.fetch`, and through undici's `request` on `host.dispatcher`, which has no fetch body streams).
 * Counts per MiB, deterministic on any load: TCP writes (`net.Socket#write`), yamux data frames and
 * window updates (received), noise messages (sealed), the stream socket's writes to its libp2p stream
 * (`send`), the chunks it pushes to Node, and the `read()`s that had to join several chunks (Node's
 * `fromList` copy). Then this process's CPU per transfer, contenders in alternating rounds (medians).
 * Issue 21's bulk part: which layer makes a transfer cost more than raw's.
 */
import '../examples/polyfill.js'
import './production.js'
import { Socket } from 'node:net'
import { parseArgs } from 'node:util'
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { AbstractMessageStream } from '@libp2p/utils'
import { request } from 'undici'
import { createHTTPHost } from '../src/index.js'
import { StreamSocket } from '../src/stream/socket.js'
import { handleRaw, hostClient, node, rawClient } from './contenders.js'
import { nodeHandler, zeros } from './handlers.js'
import type { Client } from './contenders.js'
import type { HTTPHost } from '../src/index.js'
import type { Multiaddr } from '@multiformats/multiaddr'

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: String(32 * 2 ** 20) },
    rounds: { type: 'string', default: '5' },
    op: { type: 'string', default: 'both' },
    only: { type: 'string' }
  }
})
const size = Number(values.size)
const rounds = Number(values.rounds)
const ops = values.op === 'both' ? ['down', 'up'] as const : [values.op as 'down' | 'up']

const counts = new Map<string, number>()
const count = (key: string, n = 1): void => { counts.set(key, (counts.get(key) ?? 0) + n) }

function wrap<T extends object> (proto: T, name: string, before: (self: any, args: any[]) => void, after?: (self: any, result: any, args: any[]) => void): void {
  const original = (proto as any)[name] as (...args: any[]) => any
  ;(proto as any)[name] = function (this: any, ...args: any[]) {
    before(this, args)
    const result = original.apply(this, args)
    after?.(this, result, args)
    return result
  }
}

wrap(Socket.prototype, 'write', (_self, [chunk]) => { count('TCP writes'); count('TCP bytes', (chunk as Uint8Array).byteLength) })
wrap(YamuxStream.prototype, 'handleData', (_self, [frame]) => { count('yamux data frames'); if ((frame.data?.byteLength ?? 0) === 0) count('yamux empty data frames') })
wrap(YamuxStream.prototype, 'handleWindowUpdate', () => { count('yamux window updates') })
wrap(AbstractMessageStream.prototype, 'sendData', (self) => { if (self.constructor.name === 'EncryptedMessageStream') count('noise sendData') })
wrap(StreamSocket.prototype, 'push', (_self, [chunk]) => { if (chunk != null) count('socket pushes') })
wrap(StreamSocket.prototype, 'read', (self) => {
  // a read() in paused mode returns everything buffered: several chunks are joined (copied) into one
  const entries = (self._readableState.buffer as { length: number }).length
  if (entries > 1 && self.readableFlowing !== true) { count('socket read() joins'); count('socket bytes joined', self.readableLength) }
})
wrap(StreamSocket.prototype, '_write', () => { count('socket _write') })
wrap(StreamSocket.prototype, '_writev', () => { count('socket _writev') })
wrap(StreamSocket.prototype, 'pause', () => {})
let sends = 0
const streamSend = AbstractMessageStream.prototype.send
AbstractMessageStream.prototype.send = function (this: AbstractMessageStream, data) {
  if (this instanceof YamuxStream) sends++
  return streamSend.call(this, data)
}

/** undici's `request` on the host's dispatcher: the client's stream path without fetch's body streams. */
async function dispatcherClient (host: HTTPHost, addr: Multiaddr): Promise<Client> {
  const base = (await host.url(addr)).replace(/\/$/, '')
  const url = (path: string): string => `${base}${path}`
  const drain = async (body: AsyncIterable<Uint8Array>): Promise<number> => { let n = 0; for await (const c of body) n += c.byteLength; return n }
  return {
    small: async () => { await drain((await request(url('/small'), { dispatcher: host.dispatcher })).body) },
    download: async (n) => await drain((await request(url('/bytes'), { dispatcher: host.dispatcher, headers: { 'x-bytes': String(n) } })).body),
    upload: async (n) => Number(await (await request(url('/upload'), { dispatcher: host.dispatcher, method: 'POST', body: zeros(n) as never })).body.text()),
    firstByte: async () => 0,
    close: async () => {}
  }
}

const server = await node()
await handleRaw(server)
const serverHost = await createHTTPHost({ libp2p: server, ping: false })
serverHost.serve(nodeHandler)
const clientNode = await node()
const clientHost = await createHTTPHost({ libp2p: clientNode, maxStreamsPerPeer: 64 })
const addr = server.getMultiaddrs()[0]
const all: Record<string, Client> = {
  raw: await rawClient(clientNode, addr.toString(), async () => {}),
  fetch: hostClient(clientHost, addr.toString(), async () => {}),
  request: await dispatcherClient(clientHost, addr)
}
const names = values.only == null ? Object.keys(all) : values.only.split(',')

try {
  for (const name of names) for (let i = 0; i < 50; i++) await all[name].small()
  const mib = size / 2 ** 20
  for (const op of ops) {
    // counts: one transfer each, after a warm-up transfer
    const table = new Map<string, Map<string, number>>()
    for (const name of names) {
      const client = all[name]
      await (op === 'down' ? client.download(size) : client.upload(size))
      counts.clear()
      sends = 0
      const got = await (op === 'down' ? client.download(size) : client.upload(size))
      if (got !== size) throw new Error(`${name} ${op}: ${got} bytes, expected ${size}`)
      counts.set('socket sends (yamux stream send)', sends)
      table.set(name, new Map(counts))
    }
    const keys = [...new Set([...table.values()].flatMap(m => [...m.keys()]))].sort()
    console.log(`\n${op} ${size} bytes: per MiB`)
    console.log(['', ...names].map(s => s.padStart(12)).join('') + '   counter')
    for (const key of keys) {
      console.log(['', ...names.map(n => ((table.get(n)?.get(key) ?? 0) / mib).toFixed(1))].map(s => s.padStart(12)).join('') + '   ' + key)
    }
    // CPU: alternating rounds, medians
    const cpu = new Map<string, number[]>(names.map(n => [n, []]))
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(r + j) % names.length]
        const before = process.cpuUsage()
        await (op === 'down' ? all[name].download(size) : all[name].upload(size))
        const used = process.cpuUsage(before)
        cpu.get(name)?.push((used.user + used.system) / 1000)
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    console.log(`CPU ms per ${op} of ${size} bytes (both ends), median of ${rounds} [min–max]:`)
    for (const [name, xs] of cpu) console.log(`  ${name.padEnd(8)} ${median(xs).toFixed(1)} [${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}]`)
    // the same round's figures side by side: the machine's drift cancels out of each ratio
    const first = cpu.get(names[0]) ?? []
    for (const [name, xs] of [...cpu].slice(1)) {
      const ratios = xs.map((x, i) => x / first[i])
      console.log(`  ${name} / ${names[0]} per round: median ${median(ratios).toFixed(2)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`)
    }
  }
} finally {
  await clientHost.close({ timeout: 100 })
  await serverHost.close({ timeout: 100 })
  await clientNode.stop()
  await server.stop()
}
