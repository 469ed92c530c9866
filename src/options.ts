/**
 * The options of `createHTTPHost`, checked in one place when the host is made, before anything listens
 * or is dialled: a value that cannot work fails there, naming the option, rather than on first use.
 * Numbers get {@link InvalidLimitError} (`ERR_INVALID_LIMIT`), other values {@link InvalidOptionError}
 * (`ERR_INVALID_OPTION`); both are `InvalidOptionError`s with the option's path in `option`. The `auth`
 * options are checked where the key is read (`InvalidAuthOptionsError`, also an `InvalidOptionError`).
 *
 * @module
 */
import { InvalidLimitError, InvalidOptionError } from './errors.js'
import { resolveServerLimits } from './server/limit-values.js'
import type { HTTPHostOptions } from './host.js'
import type { ResolvedServerLimits } from './server/limit-values.js'

interface NumberRule {
  /** Whole numbers only (counts, sizes). */
  integer?: boolean
  /** The smallest value allowed. @default 0 */
  min?: number
  /** `Infinity` allowed (no limit). */
  infinity?: boolean
}

/** @throws {InvalidLimitError} naming `option` when `value` is given and breaks `rule` */
function checkNumber (option: string, value: unknown, rule: NumberRule = {}): void {
  if (value === undefined) return
  const min = rule.min ?? 0
  const ok = typeof value === 'number' && value >= min &&
    (Number.isFinite(value) ? rule.integer !== true || Number.isInteger(value) : value === Infinity && rule.infinity === true)
  if (!ok) {
    const what = `${rule.integer === true ? 'a whole number' : 'a number'} ≥ ${min}${rule.infinity === true ? ' (or Infinity)' : ''}`
    throw new InvalidLimitError(option, `${option} must be ${what}, not ${String(value)}`)
  }
}

/**
 * Check every option of `createHTTPHost` that can be checked without I/O; the server limits come back
 * with their defaults.
 *
 * @throws {InvalidOptionError} (or its subclass {@link InvalidLimitError}) naming the first bad option
 */
export function checkHostOptions (options: HTTPHostOptions): ResolvedServerLimits {
  checkNumber('maxInboundStreams', options.maxInboundStreams, { integer: true, min: 1 })
  checkNumber('maxInboundStreamsTotal', options.maxInboundStreamsTotal, { integer: true, min: 1 })
  checkNumber('lingerTimeout', options.lingerTimeout)
  // a dial bound of 0 would abort every dial at once (the stream path has no "off")
  checkNumber('connectTimeout', options.connectTimeout, { min: 1 })
  checkNumber('maxStreamsPerPeer', options.maxStreamsPerPeer, { integer: true, min: 1 })
  if (options.streamNegotiation !== undefined && options.streamNegotiation !== 'optimistic' && options.streamNegotiation !== 'full') {
    throw new InvalidOptionError('streamNegotiation', `streamNegotiation must be 'optimistic' or 'full', not ${String(options.streamNegotiation)}`)
  }
  checkNumber('client.headersTimeout', options.client?.headersTimeout)
  checkNumber('client.bodyTimeout', options.client?.bodyTimeout)
  checkNumber('client.maxHeaderSize', options.client?.maxHeaderSize, { integer: true, min: 1 })
  checkNumber('client.maxBodySize', options.client?.maxBodySize, { infinity: true })
  checkNumber('discovery.timeout', options.discovery?.timeout, { infinity: true })
  checkNumber('discovery.cacheTTL', options.discovery?.cacheTTL, { infinity: true })
  checkNumber('discovery.cacheSize', options.discovery?.cacheSize, { integer: true })
  checkNumber('discovery.maxBytes', options.discovery?.maxBytes, { integer: true })
  return resolveServerLimits(options.server)
}
