/**
 * An upstream cost every libp2p stream pays: js-libp2p creates a logger per stream (yamux's, the
 * connection's stream wrapper), and `@libp2p/logger` → `weald` asks `tty.isatty(process.stderr.fd)` for
 * each debug instance it creates (three per logger: the name, `:error`, `:trace`), a system call
 * whose answer cannot change. `DEBUG_COLORS` (any value) makes weald read the answer from the
 * environment instead. Both the raw protocol and libp2phttp pay it, so no ratio of the bench moves.
 *
 * `node --import tsx bench/logger-per-stream.ts` (then with `DEBUG_COLORS=0` in front): µs per logger.
 *
 * @module
 */
import { logger } from '@libp2p/logger'

const N = 20_000
for (let round = 0; round < 3; round++) {
  const start = process.cpuUsage()
  for (let i = 0; i < N; i++) {
    logger(`libp2p:bench:stream:${i}`)
  }
  const used = process.cpuUsage(start)
  console.log(`DEBUG_COLORS=${process.env.DEBUG_COLORS ?? '(unset)'}: ${((used.user + used.system) / N).toFixed(2)} µs CPU per logger (user ${(used.user / N).toFixed(2)}, system ${(used.system / N).toFixed(2)})`)
}
