/**
 * Command-line parsing on `node:util`'s `parseArgs`, with its failures turned into `UsageError`, and the
 * options every long-running command shares.
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { UsageError } from '../errors.js'
import { DEFAULT_GRACE } from './shutdown.js'
import type { ParseArgsConfig } from 'node:util'

type Options = NonNullable<ParseArgsConfig['options']>

/** `--key`, `--quiet`, `--json`, `--grace`: shared by serve, proxy and gateway. */
export const COMMON_OPTIONS = {
  key: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  grace: { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const satisfies Options

/** The usage lines of {@link COMMON_OPTIONS}. */
export const COMMON_USAGE = `  --key FILE            identity key file (default: $LIBP2PHTTP_KEY, else ~/.libp2phttp/key)
  --quiet, --json       log only warnings / log JSON lines (stderr)
  --grace MS            on SIGINT/SIGTERM, how long in-flight requests get (default ${DEFAULT_GRACE})`

/**
 * Parse `argv` strictly (positionals allowed; commands check them); unknown options and missing values
 * are `UsageError`s, in a line of our own: `parseArgs`'s messages run to three sentences.
 */
export function parse<const O extends Options> (argv: string[], options: O): ReturnType<typeof parseArgs<{ args: string[], options: O, allowPositionals: true, strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(parseArgsMessage(err as Error & { code?: string }), { cause: err })
  }
}

/** `parseArgs`'s failure in one line naming the option (its messages quote it: `'--bogus'`, `'--port <value>'`). */
function parseArgsMessage (err: Error & { code?: string }): string {
  const option = /'(-[^' ,]+)/.exec(err.message)?.[1]
  if (option == null) return err.message
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(err.message) ? `${option} needs a value` : `${option} takes no value`
  }
  return err.message
}

/** Refuse positionals a command does not take. */
export function noPositionals (positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`)
}

/** A non-negative integer option (a count, a size), or `fallback` when absent; at most `max`. */
export function integer (name: string, value: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value == null) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, not ${value}`)
  if (n > max) throw new UsageError(`--${name} must be at most ${max}, not ${value}`)
  return n
}

/**
 * The multipliers of {@link size}'s units: powers of 1024, as curl's size options. A Map, not an object
 * literal, so that a unit such as `constructor` finds no inherited member.
 */
const UNITS = new Map<string, number>(Object.entries({ '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 }))

/**
 * A size option in bytes (`65536`, `512K`, `64MiB`, `1G`: K, M, G and KiB, MiB, GiB are powers of 1024),
 * or `fallback` when absent. `KB`/`MB` are refused: read as 1000 or 1024 by different tools.
 */
export function size (name: string, value: string | undefined, fallback: number): number {
  if (value == null) return fallback
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim())
  const unit = match == null ? undefined : UNITS.get(match[2].toLowerCase())
  if (match == null || unit == null) throw new UsageError(`--${name} must be a size in bytes, or with K, M, G (KiB, MiB, GiB: powers of 1024), like 64MiB, not ${value}`)
  const n = Math.floor(Number(match[1]) * unit)
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${name} is too large: ${value}`)
  return n
}

/**
 * The longest wait a timer can hold, in ms (2^31 - 1, about 24.8 days): Node fires a longer one at
 * once, with a warning, so a large `--grace` would have meant none.
 */
export const MAX_TIMER_MS = 2_147_483_647

/** A duration option in milliseconds, or `fallback` when absent; at most {@link MAX_TIMER_MS}. */
export function milliseconds (name: string, value: string | undefined, fallback: number): number {
  return integer(name, value, fallback, MAX_TIMER_MS)
}

/** A TCP port option (0: any free one), or `fallback` when absent. */
export function port (name: string, value: string | undefined, fallback: number): number {
  const n = integer(name, value, fallback)
  if (n > 65535) throw new UsageError(`--${name} must be a port number from 0 to 65535 (0 picks a free one), not ${String(value)}`)
  return n
}
