/**
 * A TCP relay on loopback that adds latency: every chunk is held for half the round-trip time in each
 * direction before it is passed on, in order (`tc netem` is not available on these machines). Each
 * connection's chunks are logged with the time they arrived, so a caller can see where the round trips
 * of an exchange go, and count its flights (a run of chunks in one direction).
 *
 * A real TCP connection costs a round trip before the client may send (SYN, SYN-ACK): with
 * `delayHandshake` the relay holds the client's first bytes for one more RTT, as if its connect had
 * only then completed (the client's own connect to the relay returns at once on loopback). Without it,
 * the handshake is free, as in the first figures. (docs/decisions.md, issue 21.)
 *
 * With `rttMs: 0` nothing is held: the relay then only logs, and flight counts stay exact as long as
 * each end speaks only in answer to the other (the order in the log is causal: a reply reaches the relay
 * after what it answers).
 *
 * @module
 */
import { createConnection, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'

/** One chunk as the relay saw it. */
export interface RelayChunk {
  /** `up`: client to server; `down`: server to client. */
  dir: 'up' | 'down'
  /** When it reached the relay, in ms since the connection was accepted. */
  at: number
  bytes: number
}

/** One connection through the relay. */
export interface RelayedConnection {
  /** `performance.now()` when the relay accepted it. */
  readonly accepted: number
  readonly chunks: RelayChunk[]
  /** Flights so far: runs of chunks in one direction. */
  flights: () => Array<{ dir: 'up' | 'down', at: number, bytes: number }>
  /**
   * Hold everything in one direction until {@link RelayedConnection.release} (still logged on arrival):
   * shows what an end sends without waiting for an answer.
   */
  hold: (dir: 'up' | 'down') => void
  /** Pass on what {@link RelayedConnection.hold} kept, and stop holding. */
  release: (dir: 'up' | 'down') => void
}

/** Options of {@link startLatencyRelay}. */
export interface LatencyRelayOptions {
  /** The port to relay to on 127.0.0.1. */
  target: number
  /** The round-trip time to add, in ms: each direction holds chunks for half of it. @default 40 */
  rttMs?: number
  /** Hold the client's first bytes one RTT more, as a TCP handshake on the link would. @default false */
  delayHandshake?: boolean
}

/** A running relay. */
export interface LatencyRelay {
  /** The port to connect to instead of the target's. */
  readonly port: number
  /** Every connection accepted so far, oldest first. */
  readonly connections: RelayedConnection[]
  /** Stop accepting and destroy every relayed connection. */
  close: () => Promise<void>
}

/** Pass `from`'s chunks to `to` in order, each `hold` ms after it arrived or after `notBefore()`, whichever is later. */
function delayedPipe (from: Socket, to: Socket, hold: number, notBefore: () => number, onChunk: (chunk: Buffer) => void): { hold: () => void, release: () => void } {
  const queue: Array<{ due: number, chunk: Buffer }> = []
  let held: Buffer[] | undefined
  let timer: NodeJS.Timeout | undefined
  const flush = (): void => {
    timer = undefined
    const now = performance.now()
    while (queue.length > 0 && queue[0].due <= now + 0.5) {
      const { chunk } = queue.shift() as { chunk: Buffer }
      if (!to.destroyed) to.write(chunk)
    }
    if (queue.length > 0) timer = setTimeout(flush, queue[0].due - now)
    else if (ended && !to.destroyed) to.end()
  }
  let ended = false
  const pass = (chunk: Buffer): void => {
    if (held != null) {
      held.push(chunk)
      return
    }
    if (hold === 0 && queue.length === 0 && notBefore() <= performance.now()) {
      to.write(chunk)
      return
    }
    // in order: a chunk is never due before the one ahead of it
    const due = Math.max(Math.max(performance.now(), notBefore()) + hold, queue.at(-1)?.due ?? 0)
    queue.push({ due, chunk })
    timer ??= setTimeout(flush, due - performance.now())
  }
  from.on('data', (chunk: Buffer) => {
    onChunk(chunk)
    pass(chunk)
  })
  from.on('end', () => {
    ended = true
    if (queue.length === 0 && held == null && !to.destroyed) to.end()
  })
  to.on('close', () => { if (timer != null) clearTimeout(timer) })
  return {
    hold: () => { held ??= [] },
    release: () => {
      const chunks = held ?? []
      held = undefined
      for (const chunk of chunks) pass(chunk)
      if (ended && queue.length === 0 && !to.destroyed) to.end()
    }
  }
}

/** Start a relay to `127.0.0.1:target` that adds `rttMs` of round-trip time. */
export async function startLatencyRelay (options: LatencyRelayOptions): Promise<LatencyRelay> {
  const rtt = options.rttMs ?? 40
  const delayHandshake = options.delayHandshake ?? false
  const connections: RelayedConnection[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer({ noDelay: true }, (client) => {
    const accepted = performance.now()
    const chunks: RelayChunk[] = []
    const pipes: Partial<Record<'up' | 'down', { hold: () => void, release: () => void }>> = {}
    const connection: RelayedConnection = {
      accepted,
      chunks,
      flights: () => flightsOf(chunks),
      hold: (dir) => { pipes[dir]?.hold() },
      release: (dir) => { pipes[dir]?.release() }
    }
    connections.push(connection)
    const upstream = createConnection({ host: '127.0.0.1', port: options.target, noDelay: true })
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => { sockets.delete(socket) })
    }
    // either side failing takes the other down, as a broken link would
    client.on('error', () => { upstream.destroy() })
    upstream.on('error', () => { client.destroy() })
    client.on('close', () => { upstream.destroy() })
    upstream.on('close', () => { client.destroy() })
    const log = (dir: 'up' | 'down') => (chunk: Buffer): void => { chunks.push({ dir, at: performance.now() - accepted, bytes: chunk.byteLength }) }
    // the client's bytes leave no earlier than one RTT after its connect when the handshake is delayed
    const connected = accepted + (delayHandshake ? rtt : 0)
    pipes.up = delayedPipe(client, upstream, rtt / 2, () => connected, log('up'))
    pipes.down = delayedPipe(upstream, client, rtt / 2, () => 0, log('down'))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

/** Runs of chunks in one direction, with the arrival of the first and the bytes of all. */
export function flightsOf (chunks: RelayChunk[]): Array<{ dir: 'up' | 'down', at: number, bytes: number }> {
  const flights: Array<{ dir: 'up' | 'down', at: number, bytes: number }> = []
  for (const chunk of chunks) {
    const last = flights.at(-1)
    if (last?.dir === chunk.dir) last.bytes += chunk.bytes
    else flights.push({ ...chunk })
  }
  return flights
}
