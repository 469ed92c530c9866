/**
 * What an exchange may leave behind: libp2p streams, sockets and other handles, heap. Take a baseline,
 * run the load, and wait for the counts to come back (heap after a full GC; vitest runs the workers with
 * `--expose-gc`, see vitest.config.ts).
 */
import { until } from './nodes.js'
import { openHTTPStreams } from './raw-stream.js'
import type { Libp2p } from '@libp2p/interface'

export interface Snapshot {
  /** `/http/1.1` streams open on the nodes. */
  streams: number
  /** Active handles by type (`TCPSocketWrap`, `Timeout`, …), from `process.getActiveResourcesInfo()`. */
  handles: Record<string, number>
  /**
   * JS heap plus memory outside it (Buffers, ArrayBuffers: `external`) after a full GC, bytes. Buffers
   * are where received bodies live, so a leak of them must show.
   */
  heapUsed: number
}

async function settledHeap (): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc
  for (let i = 0; i < 3; i++) {
    gc?.()
    await new Promise(resolve => setImmediate(resolve))
  }
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.external
}

function handles (): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1
  return counts
}

export async function snapshot (nodes: Libp2p[]): Promise<Snapshot> {
  return {
    streams: nodes.reduce((n, node) => n + openHTTPStreams(node), 0),
    handles: handles(),
    heapUsed: await settledHeap()
  }
}

/** Handle types that must return exactly to the baseline: sockets and servers (timers come and go with libp2p's own work). */
const EXACT = ['TCPSocketWrap', 'TCPServerWrap', 'TLSWrap', 'PipeWrap']

/**
 * Wait until no `/http/1.1` stream is open and the sockets are back to `before`; then the figures.
 * Timers may differ by `timerSlack` (libp2p keeps a few of its own).
 */
export async function settle (nodes: Libp2p[], before: Snapshot, timerSlack = 8): Promise<Snapshot> {
  await until(() => {
    const now = handles()
    return nodes.every(n => openHTTPStreams(n) === 0) &&
      EXACT.every(t => (now[t] ?? 0) === (before.handles[t] ?? 0)) &&
      (now.Timeout ?? 0) <= (before.handles.Timeout ?? 0) + timerSlack
  }, 15_000, 'streams, sockets and timers to return to the baseline')
  return await snapshot(nodes)
}
