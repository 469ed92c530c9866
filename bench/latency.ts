/**
 * Round trips on a real link (issue 21): every contender's server sits behind a latency relay
 * (`latency-relay.ts`) that adds `rttMs` of round-trip time, and the bench measures, in RTT units
 * (elapsed / RTT, medians of `runs`, after `warmup` runs not recorded):
 *
 * - `openRequest`: a small GET on a connection that is already open (the physical limit is 1 RTT);
 * - `firstRequest`: the first small GET from a cold client (a started node that is not connected: dial,
 *   TCP, security, muxer, negotiation, authentication, request);
 * - `download1MiB`: 1 MiB on the open connection.
 *
 * Everything runs in this process (the round trips are the relay's, not the machine's: CPU per request is
 * a fraction of a millisecond against 40 ms), except @libp2p/http, which needs Node 22
 * (`libp2p-http.ts`): its server and each cold client are processes of their own.
 *
 * ```sh
 * npm run bench:latency                        # RTT 40 ms, TCP handshake free, 2 warm-up runs, 5 runs
 * npm run bench:latency -- --handshake delayed  # each first request pays the TCP handshake's RTT too
 * npm run bench:latency -- --rtt 40 --runs 7 --only libp2phttp-stream --trace   # with each first request's flights
 * ```
 *
 * @module
 */
import '../examples/polyfill.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { Agent, fetch as undiciFetch } from 'undici'
import { createHTTPHost, withKeptX25519Keys } from '../src/index.js'
import { certificate, serve } from './contenders.js'
import { nodeHandler } from './handlers.js'
import { forkLibp2pHTTP, libp2pHTTPClient, libp2pHTTPUnavailable } from './libp2p-http.js'
import { startLatencyRelay } from './latency-relay.js'
import { RAW_PROTOCOL, receive, send } from './raw-stream.js'
import type { LatencyRelay } from './latency-relay.js'
import type { HTTPHost } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

/** One contender's figures, in RTT units (elapsed / RTT); `NaN` where not applicable. */
export interface LatencyRow {
  contender: string
  /** A small GET on an open connection (the physical limit: 1). */
  openRequest: number
  /** The first small GET from a cold client: connecting included. */
  firstRequest: number
  /** 1 MiB downloaded on an open connection. */
  download1MiB: number
  /** The RTT the relay added, in ms. */
  rttMs: number
}

/** Options of {@link runLatency}. */
export interface LatencyOptions {
  /** The round-trip time the relay adds, in ms. @default 40 */
  rttMs?: number
  /** Runs per contender (a cold client each); medians are reported. @default 5 */
  runs?: number
  /**
   * Runs made first and not recorded, per contender: the figures are of a warm process (a long-running
   * host meeting a new peer), not of V8 compiling the contender's code, which the first runs of each
   * contender paid (a first request's CPU over a fresh connection: ~11 ms in the first runs, ~9 later,
   * the request after it ~3–5 ms against ~1 ms once warm).
   *
   * @default 2
   */
  warmup?: number
  /** Small GETs on the open connection per run (their median is the run's figure). @default 3 */
  openRequests?: number
  /** The download's size. @default 1 MiB */
  downloadBytes?: number
  /**
   * Charge a round trip for the TCP handshake (see `latency-relay.ts`): every contender's first request
   * opens one TCP connection, so this adds one RTT to each. Off by default, as in the figures
   * and its target (docs/decisions.md, issue 21).
   *
   * @default false
   */
  delayHandshake?: boolean
  /** The contenders to run (names of {@link LATENCY_CONTENDERS}). @default all */
  only?: readonly string[]
  /** Progress and skip reasons, and with `trace` the flights of each first request. @default console.log */
  log?: (line: string) => void
  /** Log the flights (runs of chunks in one direction) of each first request through the relay. */
  trace?: boolean
}

/** The contenders of the latency bench, in the order they are printed. */
export const LATENCY_CONTENDERS = [
  'raw-stream', 'libp2phttp-stream', 'libp2p-http', 'node-https', 'libp2phttp-native',
  'libp2phttp-native-peer', 'libp2phttp-both', 'https-url', 'https-url-auth'
] as const

/** What each contender is, for the table's legend. */
export const LATENCY_LEGEND: Record<typeof LATENCY_CONTENDERS[number], string> = {
  'raw-stream': 'raw libp2p stream RPC (dialProtocol per exchange; TCP + noise + yamux)',
  'libp2phttp-stream': 'host.fetch(multiaddr:/ip4/…/tcp/…/p2p/<id>): /http/1.1 on a libp2p stream',
  'libp2p-http': '@libp2p/http 2.0.6 fetch over a stream (Node 22 child processes)',
  'node-https': 'node:https server, undici fetch with a keep-alive Agent',
  'libp2phttp-native': 'host.fetch(multiaddr:/ip4/…/tcp/…/tls/http): native HTTPS, no peer named',
  'libp2phttp-native-peer': 'host.fetch(multiaddr:…/tls/http/p2p/<id>): native HTTPS + Peer ID Authentication',
  'libp2phttp-both': 'host.fetch([…/tls/http/p2p/<id>, …/tcp/…/p2p/<id>]): a peer offering both transports',
  'https-url': "host.fetch('https://127.0.0.1:port/…')",
  'https-url-auth': "host.fetch('https://127.0.0.1:port/…', { auth: true }): Peer ID Authentication"
}

/** A cold client of one contender. */
interface LatencyClient {
  small: () => Promise<void>
  download: (n: number) => Promise<number>
  close: () => Promise<void>
}

/** A contender's server (behind its relays) and a factory of cold clients. */
interface Setup {
  relays: LatencyRelay[]
  client: () => Promise<LatencyClient>
  stop: () => Promise<void>
}

async function libp2pNode (listen: boolean): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    // as the command's node (and bench/contenders.ts): noise's X25519 on kept keys
    connectionEncrypters: [noise({ crypto: withKeptX25519Keys(defaultCrypto) })],
    streamMuxers: [yamux()]
  })
}

async function drain (res: Response): Promise<number> {
  if (!res.ok) throw new Error(`latency bench request failed: ${res.status}`)
  let n = 0
  for await (const chunk of res.body ?? []) n += (chunk as Uint8Array).byteLength
  return n
}

/** A client over `get(path, init)`, closed by `close`. */
function httpClient (get: (path: string, init?: RequestInit) => Promise<Response>, close: () => Promise<void>): LatencyClient {
  return {
    small: async () => { await drain(await get('/small')) },
    download: async (n) => await drain(await get('/bytes', { headers: { 'x-bytes': String(n) } })),
    close
  }
}

/** The port of a TCP multiaddr. */
function portOf (addr: string): number {
  return Number(multiaddr(addr).getComponents().find(c => c.name === 'tcp')?.value)
}

/** `addr` with its TCP port replaced by `port`. */
function viaPort (addr: string, port: number): string {
  return addr.replace(/\/tcp\/\d+/, `/tcp/${port}`)
}

const PATH = (path: string): string => `/http-path/${encodeURIComponent(path.slice(1))}`

/** The server of a libp2phttp contender: one host with a libp2p node and an HTTPS listener. */
async function libp2phttpServer (auth: boolean): Promise<{ host: HTTPHost, node?: Libp2p, ca: string, streamAddr?: string, tlsAddr: string }> {
  const tls = await certificate()
  const node = auth ? await libp2pNode(true) : undefined
  const host = await createHTTPHost({ libp2p: node, listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls, ping: false, auth: auth ? { server: {} } : undefined })
  host.serve(nodeHandler)
  const addrs = host.addrs().map(String)
  return {
    host,
    node,
    ca: tls.cert,
    streamAddr: node == null ? undefined : addrs.find(a => !a.includes('/tls/http')),
    tlsAddr: addrs.find(a => a.includes('/tls/http')) as string
  }
}

/** Start `contender`'s server behind relays adding `rttMs`, with a factory of cold clients. */
async function setUp (contender: typeof LATENCY_CONTENDERS[number], rttMs: number, delayHandshake: boolean): Promise<Setup> {
  const relay = async (port: number): Promise<LatencyRelay> => await startLatencyRelay({ target: port, rttMs, delayHandshake })
  switch (contender) {
    case 'raw-stream': {
      const served = await serve('raw-stream')
      const r = await relay(portOf(served.addr))
      const target = multiaddr(viaPort(served.addr, r.port))
      return {
        relays: [r],
        stop: async () => { await r.close(); await served.stop() },
        client: async () => {
          const node = await libp2pNode(false)
          const exchange = async (line: string, onData: (chunk: Uint8Array) => void): Promise<void> => {
            // dialProtocol: dial (or reuse the connection) and negotiate the protocol in full
            const stream = await node.dialProtocol(target, RAW_PROTOCOL)
            const done = receive(stream, onData)
            await send(stream, new TextEncoder().encode(`${line}\n`))
            await stream.close()
            await done
          }
          return {
            small: async () => { await exchange('small', () => {}) },
            download: async (n) => { let got = 0; await exchange(`bytes ${n}`, (c) => { got += c.byteLength }); return got },
            close: async () => { await node.stop() }
          }
        }
      }
    }
    case 'libp2p-http': {
      const child = await forkLibp2pHTTP('server')
      const addr = await new Promise<string>((resolve, reject) => {
        child.once('message', (message: { type: string, addr: string }) => { resolve(message.addr) })
        child.once('exit', (code) => { reject(new Error(`the libp2p-http server exited (${String(code)})`)) })
      })
      const r = await relay(portOf(addr))
      return {
        relays: [r],
        stop: async () => { await r.close(); child.kill() },
        client: async () => {
          const client = await libp2pHTTPClient(viaPort(addr, r.port))
          return { small: async () => { await client.small() }, download: client.download, close: client.close }
        }
      }
    }
    case 'node-https': {
      const served = await serve('node-https')
      const r = await relay(Number(new URL(served.addr).port))
      return {
        relays: [r],
        stop: async () => { await r.close(); await served.stop() },
        client: async () => {
          const agent = new Agent({ connect: { ca: served.ca } })
          const origin = `https://127.0.0.1:${r.port}`
          return httpClient(async (path, init) => await (undiciFetch(`${origin}${path}`, { ...init, dispatcher: agent } as never) as unknown as Promise<Response>), async () => { await agent.close() })
        }
      }
    }
    case 'libp2phttp-stream':
    case 'libp2phttp-native-peer':
    case 'libp2phttp-both':
    case 'https-url-auth': {
      // the named peer: a libp2p node, and an HTTPS listener that runs Peer ID Authentication
      const server = await libp2phttpServer(true)
      const stream = await relay(portOf(server.streamAddr as string))
      const native = await relay(portOf(server.tlsAddr))
      const streamAddr = viaPort(server.streamAddr as string, stream.port)
      const tlsAddr = viaPort(server.tlsAddr, native.port)
      const target = (path: string): string | string[] => {
        switch (contender) {
          case 'libp2phttp-stream': return `multiaddr:${streamAddr}${PATH(path)}`
          case 'libp2phttp-native-peer': return `multiaddr:${tlsAddr}${PATH(path)}`
          case 'libp2phttp-both': return [`${tlsAddr}${PATH(path)}`, `${streamAddr}${PATH(path)}`]
          default: return `https://127.0.0.1:${native.port}${path}`
        }
      }
      return {
        relays: [stream, native],
        stop: async () => { await stream.close(); await native.close(); await server.host.close({ timeout: 100 }); await server.node?.stop() },
        client: async () => {
          const node = contender === 'libp2phttp-stream' || contender === 'libp2phttp-both' ? await libp2pNode(false) : undefined
          const privateKey = node == null ? await generateKeyPair('Ed25519') : undefined
          const host = await createHTTPHost({ libp2p: node, clientTLS: { ca: server.ca }, auth: privateKey == null ? undefined : { privateKey }, ping: false })
          const auth = contender === 'https-url-auth' ? { auth: true } : {}
          return httpClient(async (path, init) => {
            const to = target(path)
            return await host.fetch(Array.isArray(to) ? to.map(a => multiaddr(a)) : to, { ...init, ...auth } as never)
          }, async () => { await host.close({ timeout: 100 }); await node?.stop() })
        }
      }
    }
    case 'libp2phttp-native':
    case 'https-url': {
      const server = await libp2phttpServer(false)
      const native = await relay(portOf(server.tlsAddr))
      const tlsAddr = viaPort(server.tlsAddr, native.port)
      return {
        relays: [native],
        stop: async () => { await native.close(); await server.host.close({ timeout: 100 }) },
        client: async () => {
          const host = await createHTTPHost({ clientTLS: { ca: server.ca }, ping: false })
          const to = (path: string): string => contender === 'https-url' ? `https://127.0.0.1:${native.port}${path}` : `multiaddr:${tlsAddr}${PATH(path)}`
          return httpClient(async (path, init) => await host.fetch(to(path), init as never), async () => { await host.close({ timeout: 100 }) })
        }
      }
    }
  }
}

function median (values: number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function timed (work: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await work()
  return performance.now() - start
}

/** Why `contender` cannot run here, or `undefined`. */
function unavailable (contender: string): string | undefined {
  return contender === 'libp2p-http' ? libp2pHTTPUnavailable() : undefined
}

/**
 * Run the latency bench: one row per contender (skipped ones, with the reason logged, get `NaN`s).
 * The figures are medians over `runs` cold clients, in RTT units, after `warmup` runs not recorded.
 */
export async function runLatency (options: LatencyOptions = {}): Promise<LatencyRow[]> {
  const rttMs = options.rttMs ?? 40
  const runs = options.runs ?? 5
  const warmup = options.warmup ?? 2
  const openRequests = options.openRequests ?? 3
  const bytes = options.downloadBytes ?? 1024 * 1024
  const log = options.log ?? console.log
  const rows: LatencyRow[] = []
  for (const contender of LATENCY_CONTENDERS) {
    if (options.only != null && !options.only.includes(contender)) continue
    const skip = unavailable(contender)
    if (skip != null) {
      log(`${contender}: skipped (${skip})`)
      rows.push({ contender, openRequest: NaN, firstRequest: NaN, download1MiB: NaN, rttMs })
      continue
    }
    const setup = await setUp(contender, rttMs, options.delayHandshake ?? false)
    const first: number[] = []
    const open: number[] = []
    const download: number[] = []
    try {
      for (let run = -warmup; run < runs; run++) {
        // the warm-up runs (negative) do everything a run does and record nothing
        const record = run >= 0
        const client = await setup.client()
        try {
          const seen = setup.relays.map(r => r.connections.length)
          const start = performance.now()
          const firstMs = await timed(client.small)
          if (record) first.push(firstMs)
          if (record && options.trace === true) log(`${contender} run ${run + 1}: first request ${traceOf(setup.relays, seen, start, rttMs)}`)
          const opens: number[] = []
          for (let i = 0; i < openRequests; i++) opens.push(await timed(client.small))
          if (record) open.push(median(opens))
          const downloadMs = await timed(async () => {
            const got = await client.download(bytes)
            if (got !== bytes) throw new Error(`${contender}: downloaded ${got} bytes of ${bytes}`)
          })
          if (record) download.push(downloadMs)
        } finally {
          await client.close()
        }
      }
    } finally {
      await setup.stop()
    }
    const row = { contender, openRequest: median(open) / rttMs, firstRequest: median(first) / rttMs, download1MiB: median(download) / rttMs, rttMs }
    log(`${contender}: open ${row.openRequest.toFixed(2)} RTT, first ${row.firstRequest.toFixed(2)} RTT, 1 MiB ${row.download1MiB.toFixed(2)} RTT`)
    rows.push(row)
  }
  return rows
}

/** The flights of the connections opened since `seen`, each as direction@time (in RTT) and bytes. */
function traceOf (relays: LatencyRelay[], seen: number[], start: number, rttMs: number): string {
  return relays.flatMap((relay, i) => relay.connections.slice(seen[i]).map((connection) => {
    const offset = connection.accepted - start
    const flights = connection.flights().map(f => `${f.dir === 'up' ? '→' : '←'}${((offset + f.at) / rttMs).toFixed(2)}:${f.bytes}B`)
    return `[relay :${relay.port}] ${flights.join(' ')}`
  })).join(' ') || '(no new connection)'
}

/** The rows as a Markdown table, with the physical limit of a request on an open connection. */
export function latencyTable (rows: LatencyRow[]): string {
  const f = (n: number): string => Number.isNaN(n) ? 'n/a' : n.toFixed(2)
  const lines = [
    `| contender (RTT ${rows[0]?.rttMs ?? '?'} ms) | request, open connection (limit 1) | first request, cold | 1 MiB download |`,
    '|---|---|---|---|',
    ...rows.map(r => `| ${r.contender} | ${f(r.openRequest)} | ${f(r.firstRequest)} | ${f(r.download1MiB)} |`)
  ]
  return lines.join('\n')
}

/** `name`'s value as a whole number of at least `min`, `fallback` when absent; anything else is refused. */
function count (args: string[], name: string, fallback: number, min: number): number {
  const text = flag(args, name)
  if (text == null) return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} takes a whole number of at least ${min}, not ${text}`)
  return n
}

function flag (args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args[i + 1]
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const handshake = flag(args, '--handshake') ?? 'free'
  if (handshake !== 'delayed' && handshake !== 'free') throw new Error('--handshake is delayed or free')
  const rows = await runLatency({
    rttMs: count(args, '--rtt', 40, 1),
    runs: count(args, '--runs', 5, 1),
    warmup: count(args, '--warmup', 2, 0),
    delayHandshake: handshake === 'delayed',
    only: flag(args, '--only')?.split(','),
    trace: args.includes('--trace')
  })
  console.log(`\nRound trips (TCP handshake ${handshake}; medians; elapsed / RTT):\n`)
  console.log(latencyTable(rows))
  process.exit(0)
}
