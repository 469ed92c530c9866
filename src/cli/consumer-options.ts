/**
 * The options of the commands that answer local clients from a provider (`proxy --to`, `gateway`): a
 * shared cache of the provider's answers, and compression of the peer hop. They become `forwardToPeer`
 * and `gateway` options; nothing else reads them.
 *
 * @module
 */
import { UsageError } from '../errors.js'
import { DEFAULT_CACHE_SIZE, memoryCacheStore } from '../proxy/cache.js'
import { size } from './args.js'
import type { CacheStore } from '../proxy/cache.js'
import type { ParseArgsConfig } from 'node:util'

/** `--cache`, `--cache-size`, `--no-compress`. */
export const CONSUMER_OPTIONS = {
  cache: { type: 'boolean' },
  'cache-size': { type: 'string' },
  'no-compress': { type: 'boolean' }
} as const satisfies NonNullable<ParseArgsConfig['options']>

/** The usage lines of {@link CONSUMER_OPTIONS}. */
export const CONSUMER_USAGE = `  --cache               keep the provider's answers as a shared HTTP cache does (RFC 9111, in memory):
                        a fresh one is served without asking the provider; Cache-Status says which
  --cache-size SIZE     the cache's size (default 64MiB; K, M, G are powers of 1024); one answer
                        takes at most a sixteenth of it
  --no-compress         when a local client asks for no Content-Encoding, do not ask the provider for
                        one (by default: gzip or br, zstd where Node has it, decoded here)`

interface ConsumerValues {
  cache?: boolean
  'cache-size'?: string
  'no-compress'?: boolean
}

/** The `forwardToPeer`/`gateway` options of {@link CONSUMER_OPTIONS}. */
export function consumerInit (values: ConsumerValues): { cache?: CacheStore, compress: boolean } {
  if (values['cache-size'] != null && values.cache !== true) throw new UsageError('--cache-size is for --cache')
  const bytes = size('cache-size', values['cache-size'], DEFAULT_CACHE_SIZE)
  if (bytes < 1024) throw new UsageError(`--cache-size must be at least 1K, not ${String(values['cache-size'])}`)
  return { cache: values.cache === true ? memoryCacheStore(bytes) : undefined, compress: values['no-compress'] !== true }
}
