/**
 * Where a first request's time goes, both ends in this process and no delay on the link: for each cold
 * client (a started node and host, not connected to the server), the time from `host.fetch()` to each
 * step: the opener asked for a stream, `libp2p.dial`, the TCP connect, every TCP write and read (bytes;
 * both ends' writes and reads, since both run here), the dial done, the response's headers and the
 * body read. On a real link, each step that waits for the other end costs a round trip more (see
 * `bench/latency.ts --trace`); what this shows is the CPU between them, which the latency figures add
 * to the round trips. A summary line gives medians of the phases over the runs after the first (whose
 * code is not compiled yet).
 *
 * `node --import tsx bench/cold-timeline.ts [runs=6]` (`V=1`: every step of every run)
 */
import '../examples/polyfill.js'
import './production.js'
import { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { createHTTPHost } from '../src/index.js'
import { StreamOpener } from '../src/stream/opener.js'
import { node } from './contenders.js'
import { nodeHandler } from './handlers.js'

const runs = Number(process.argv[2] ?? 6)
let t0 = 0
const marks: Array<[string, number]> = []
const mark = (what: string): void => {
  if (t0 > 0) marks.push([what, performance.now() - t0])
}

/** Run `before` on each call of `owner[key]` (a method), then the method itself. */
function observe (owner: object, key: string, before: (self: any, args: unknown[]) => void): void {
  const target = owner as Record<string, (...args: unknown[]) => unknown>
  const original = target[key]
  target[key] = function (this: unknown, ...args: unknown[]) {
    before(this, args)
    return original.apply(this, args)
  }
}
const size = (chunk: unknown): number => (chunk as { byteLength?: number } | null)?.byteLength ?? 0
observe(Socket.prototype, 'connect', (socket: Socket) => {
  mark('TCP connect')
  socket.once('connect', () => { mark('TCP connected') })
})
observe(Socket.prototype, '_writeGeneric', (_socket, args) => {
  // (writev, data, encoding, cb): data is the chunk, or the list of { chunk } when writev
  const data = args[1] as unknown
  mark(`write ${Array.isArray(data) ? data.reduce((n: number, c: { chunk: unknown }) => n + size(c.chunk), 0) : size(data)}`)
})
observe(Socket.prototype, 'push', (_socket, args) => { if (args[0] != null) mark(`read ${size(args[0])}`) })
observe(StreamOpener.prototype, 'open', () => { mark('opener.open') })

const server = await node()
const serverHost = await createHTTPHost({ libp2p: server, ping: false })
serverHost.serve(nodeHandler)
const target = `multiaddr:${server.getMultiaddrs()[0].toString()}/http-path/small`
const phases = new Map<string, number[]>()
const at = (what: string): number => marks.find(([w]) => w === what)?.[1] ?? NaN
for (let run = 0; run < runs; run++) {
  const client = await node()
  observe(client, 'dial', () => { mark('libp2p.dial') })
  const dial = client.dial.bind(client)
  client.dial = (async (...args: Parameters<typeof dial>) => {
    try {
      return await dial(...args)
    } finally {
      mark('dialled')
    }
  }) as typeof client.dial
  const host = await createHTTPHost({ libp2p: client, ping: false })
  // libp2p refuses more than 5 inbound connections a second from one host by default
  await sleep(250)
  /** One request, marked from its start to its body's end; the marks it left. */
  const timedFetch = async (): Promise<Array<[string, number]>> => {
    marks.length = 0
    t0 = performance.now()
    const res = await host.fetch(target)
    mark('headers')
    await res.text()
    mark('done')
    return [...marks]
  }
  /** When the last read before the response headers happened, on `marks`. */
  const lastReadBeforeHeaders = (): number => marks.filter(([w], i) => w.startsWith('read') && i < marks.findIndex(([x]) => x === 'headers')).at(-1)?.[1] ?? NaN
  const cold = await timedFetch()
  // the same on the connection now open, for comparison
  await timedFetch()
  t0 = 0
  if (process.env.V != null) console.log(`  open connection: ${marks.map(([w, t]) => `${w} @${t.toFixed(2)}`).join(', ')}`)
  const warm = { total: at('done'), lastRead: at('headers') - lastReadBeforeHeaders() }
  marks.splice(0, marks.length, ...cold)
  const lastRead = lastReadBeforeHeaders()
  const summary: Record<string, number> = {
    'fetch → opener.open': at('opener.open'),
    'opener.open → TCP connect': at('TCP connect') - at('opener.open'),
    'TCP connect → dialled': at('dialled') - at('TCP connect'),
    'dialled → headers': at('headers') - at('dialled'),
    'last read → headers': at('headers') - lastRead,
    total: at('done'),
    'open connection: last read → headers': warm.lastRead,
    'open connection: total': warm.total
  }
  if (run > 0) {
    for (const [k, v] of Object.entries(summary)) phases.set(k, [...(phases.get(k) ?? []), v])
  }
  console.log(`run ${run + 1}: ${Object.entries(summary).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} ms`)
  if (process.env.V != null) console.log(`  ${marks.map(([w, t]) => `${w} @${t.toFixed(2)}`).join(', ')}`)
  await host.close({ timeout: 100 })
  await client.stop()
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`medians of runs 2–${runs}: ${[...phases].map(([k, v]) => `${k} ${median(v).toFixed(2)}`).join(', ')} ms`)
await serverHost.close({ timeout: 100 })
await server.stop()
