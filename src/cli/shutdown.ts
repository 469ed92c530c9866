/**
 * Graceful shutdown for the long-running commands: the first SIGINT or SIGTERM stops taking new
 * requests and gives the ones in flight `grace` ms to finish; a second signal stops at once.
 *
 * @module
 */
import type { Logger } from './log.js'

/** How long in-flight requests get, by default, in ms. */
export const DEFAULT_GRACE = 10_000

/**
 * Resolves once a signal arrived and `stop(grace)` has finished (the command then exits 0). `stop`
 * must itself bound its wait by `grace`.
 */
export async function untilSignal (logger: Logger, grace: number, stop: (grace: number) => Promise<void>): Promise<void> {
  const signal = await new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGINT', () => { resolve('SIGINT') })
    process.once('SIGTERM', () => { resolve('SIGTERM') })
  })
  logger.info(`${signal}: shutting down, in-flight requests have ${grace} ms`)
  const again = (): void => {
    logger.warn('second signal: stopping now')
    process.exit(130)
  }
  process.once('SIGINT', again)
  process.once('SIGTERM', again)
  await stop(grace)
  logger.info('stopped')
}
