/**
 * The scenarios, each measured against a {@link Client} and a handle on the server process. Sizes come
 * from the run's profile so that `--quick` and the test suite's smoke run use the same code.
 */
import type { Client } from './contenders.js'

export interface Profile {
  /** Small GETs per repeat. */
  requests: number
  /** Bytes of a bulk transfer. */
  bulk: number
  /** Bytes streamed while the server's RSS is sampled. */
  rssBytes: number
  /** Small requests whose CPU time is measured (scaled to 10 000), over all of the repeats. */
  cpuRequests: number
  /** First-byte samples. */
  firstBytes: number
  /** Repeats of each throughput measurement. */
  repeats: number
  /** Small requests before measuring: the JIT settles after about a thousand (`bench:probe` shows it). */
  warmup: number
}

export const PROFILES: Record<'full' | 'quick' | 'smoke', Profile> = {
  full: { requests: 2000, bulk: 64 * 2 ** 20, rssBytes: 2 ** 30, cpuRequests: 10_000, firstBytes: 100, repeats: 5, warmup: 1000 },
  quick: { requests: 300, bulk: 32 * 2 ** 20, rssBytes: 128 * 2 ** 20, cpuRequests: 1000, firstBytes: 20, repeats: 5, warmup: 500 },
  smoke: { requests: 10, bulk: 256 * 1024, rssBytes: 1024 * 1024, cpuRequests: 10, firstBytes: 2, repeats: 1, warmup: 5 }
}

/** What the bench can ask of the server process. */
export interface ServerProbe {
  usage: () => Promise<{ rss: number, cpu: number }>
  /** Start a CPU profile of the server, or stop it and write it to `file`. */
  profile: (action: 'start' | { file: string }) => Promise<void>
}

/**
 * Take `times` samples of each of `items` in rounds: one sample of each per round, in an order rotated
 * from round to round, so a change in the machine's load during the run spreads over all of them
 * instead of landing on whichever was measured at that moment. Samples by item, in the items' order.
 */
export async function inRounds<T, S> (items: readonly T[], times: number, sample: (item: T) => Promise<S>): Promise<Map<T, S[]>> {
  const samples = new Map<T, S[]>(items.map(item => [item, []]))
  for (let i = 0; i < times; i++) {
    for (let j = 0; j < items.length; j++) {
      const item = items[(i + j) % items.length]
      samples.get(item)?.push(await sample(item))
    }
  }
  return samples
}

/** Small GETs per second at `concurrency`. */
export async function smallGets (client: Client, requests: number, concurrency: number): Promise<number> {
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < requests) await client.small()
  }))
  return requests / ((performance.now() - start) / 1000)
}

/** MB/s (10^6 bytes) of one transfer. */
export async function bulk (client: Client, direction: 'down' | 'up', bytes: number): Promise<number> {
  const start = performance.now()
  const moved = direction === 'down' ? await client.download(bytes) : await client.upload(bytes)
  if (moved !== bytes) throw new Error(`${direction}load moved ${moved} of ${bytes} bytes`)
  return bytes / 1e6 / ((performance.now() - start) / 1000)
}

/** Server RSS, MiB: idle before, and the peak while `bytes` are streamed to the client. */
export async function serverRSS (client: Client, server: ServerProbe, bytes: number): Promise<{ idle: number, peak: number }> {
  const idle = (await server.usage()).rss
  let peak = idle
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, (await server.usage()).rss)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })()
  try {
    await client.download(bytes)
  } finally {
    sampling = false
    await sampler
  }
  return { idle: idle / 2 ** 20, peak: peak / 2 ** 20 }
}

/** CPU seconds (server + client processes) per 10 000 small requests, at concurrency 32. */
export async function cpuPer10k (client: Client, server: ServerProbe, requests: number): Promise<number> {
  const before = (await server.usage()).cpu
  const clientBefore = await client.cpu?.() ?? 0
  const mine = process.cpuUsage()
  await smallGets(client, requests, 32)
  const after = (await server.usage()).cpu
  const used = process.cpuUsage(mine)
  // a client in a process of its own: its CPU too (this process then only relays its operations)
  const clientUsed = client.cpu == null ? (used.user + used.system) / 1e6 : await client.cpu() - clientBefore
  return ((after - before) + clientUsed) * (10_000 / requests)
}
