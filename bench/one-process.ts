/**
 * The one-process set-up (issue 21's independent harness, made part of the bench): both ends in this
 * process, on the same two js-libp2p nodes; the server node answers the raw stream protocol
 * (`bench/raw-stream.ts`) and libp2phttp (`/http/1.1`), the client node runs the raw client and a
 * libp2phttp host, both over the one connection between the nodes. Nothing separates the two but their
 * own path: no process boundary, no IPC, the same noise session and yamux muxer.
 *
 * Scenarios: small GETs at c=1 and c=32, bulk down and up, and CPU time per request taken in the c=32
 * rounds (this process is both client and server, so its CPU time is both ends'). Rounds alternate
 * the two contenders (rotated each round); medians of the profile's repeats.
 */
import { createHTTPHost } from '../src/index.js'
import { handleRaw, hostClient, node, rawClient } from './contenders.js'
import { nodeHandler } from './handlers.js'
import { bulk, inRounds, smallGets } from './scenarios.js'
import { summarize } from './stats.js'
import type { Client } from './contenders.js'
import type { Scenario } from './run.js'
import type { Profile } from './scenarios.js'
import type { Summary } from './stats.js'

export const ONE_PROCESS_CONTENDERS = ['raw-stream', 'libp2phttp-stream'] as const
export type OneProcessContender = typeof ONE_PROCESS_CONTENDERS[number]

/** The scenarios this set-up measures (a subset of the bench's; no server process to read RSS from). */
export const ONE_PROCESS_SCENARIOS = [
  'small GET c=1 (req/s)',
  'small GET c=32 (req/s)',
  'download (MB/s)',
  'upload (MB/s)',
  'CPU s per 10k requests'
] as const satisfies readonly Scenario[]

export type OneProcessResults = Record<OneProcessContender, Partial<Record<Scenario, Summary>>>

/** Run the one-process set-up with `profile`'s sizes; resolves with medians per contender and scenario. */
export async function runOneProcess (profile: Profile, log: (line: string) => void = () => {}): Promise<OneProcessResults> {
  const stops: Array<() => Promise<void>> = []
  try {
    const server = await node()
    stops.push(async () => { await server.stop() })
    await handleRaw(server)
    const serverHost = await createHTTPHost({ libp2p: server, ping: false })
    stops.push(async () => { await serverHost.close({ timeout: 100 }) })
    serverHost.serve(nodeHandler)

    const client = await node()
    stops.push(async () => { await client.stop() })
    const clientHost = await createHTTPHost({ libp2p: client, maxStreamsPerPeer: 64 })
    stops.push(async () => { await clientHost.close({ timeout: 100 }) })
    const addr = server.getMultiaddrs()[0].toString()
    // both clients' `close` are no-ops: the nodes and hosts above are closed once, in reverse order
    const clients: Record<OneProcessContender, Client> = {
      'raw-stream': await rawClient(client, addr, async () => {}),
      'libp2phttp-stream': hostClient(clientHost, addr, async () => {})
    }
    for (const c of ONE_PROCESS_CONTENDERS) await smallGets(clients[c], profile.warmup, 4)
    // both ride the one connection the raw client dialled: a second would measure another path
    if (client.getConnections(server.peerId).length !== 1) throw new Error('the one-process set-up expects one connection between its nodes')

    const out: OneProcessResults = { 'raw-stream': {}, 'libp2phttp-stream': {} }
    const record = (scenario: Scenario, samples: Map<OneProcessContender, number[]>): void => {
      for (const [c, values] of samples) {
        out[c][scenario] = summarize(values)
        log(`  one process, ${c}: ${scenario} ${out[c][scenario]?.median.toFixed(2) ?? ''}`)
      }
    }
    const rounds = async (scenario: Scenario, sample: (client: Client) => Promise<number>): Promise<void> => {
      record(scenario, await inRounds(ONE_PROCESS_CONTENDERS, profile.repeats, async c => await sample(clients[c])))
    }
    await rounds('small GET c=1 (req/s)', async (c) => await smallGets(c, profile.requests, 1))
    // c=32 rounds give the rate and, from this process's CPU time over the same requests, CPU per request
    const c32 = await inRounds(ONE_PROCESS_CONTENDERS, profile.repeats, async (c) => {
      const before = process.cpuUsage()
      const rate = await smallGets(clients[c], profile.requests, 32)
      const used = process.cpuUsage(before)
      return { rate, cpu: (used.user + used.system) / 1e6 * (10_000 / profile.requests) }
    })
    record('small GET c=32 (req/s)', new Map([...c32].map(([c, s]) => [c, s.map(x => x.rate)])))
    record('CPU s per 10k requests', new Map([...c32].map(([c, s]) => [c, s.map(x => x.cpu)])))
    await rounds('download (MB/s)', async (c) => await bulk(c, 'down', profile.bulk))
    await rounds('upload (MB/s)', async (c) => await bulk(c, 'up', profile.bulk))
    return out
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {})
  }
}
