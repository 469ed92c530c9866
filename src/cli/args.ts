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

/** Parse `argv` strictly (positionals allowed; commands check them); unknown options and missing values are `UsageError`s. */
export function parse<const O extends Options> (argv: string[], options: O): ReturnType<typeof parseArgs<{ args: string[], options: O, allowPositionals: true, strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err })
  }
}

/** Refuse positionals a command does not take. */
export function noPositionals (positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`)
}

/** A non-negative integer option (a port, milliseconds), or `fallback` when absent. */
export function integer (name: string, value: string | undefined, fallback: number): number {
  if (value == null) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, not ${value}`)
  return n
}
