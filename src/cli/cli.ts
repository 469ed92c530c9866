/**
 * The `libp2phttp` command: subcommand dispatch and the mapping of failures to exit codes. Kept apart
 * from `main.ts` (which only runs it) so that tests can call it in-process.
 *
 * @module
 */
import { LibP2PHTTPError, UsageError } from '../errors.js'
import { FETCH_USAGE, fetchCommand } from './commands/fetch.js'
import { GATEWAY_USAGE, gateway } from './commands/gateway.js'
import { ID_USAGE, id } from './commands/id.js'
import { PROXY_USAGE, proxy } from './commands/proxy.js'
import { RELAY_USAGE, relay } from './commands/relay.js'
import { SERVE_USAGE, serve } from './commands/serve.js'
import { jsonLine } from './log.js'
import { packageVersion } from './version.js'
import type { CommandIO } from './commands/io.js'

const COMMANDS: Record<string, { run: (argv: string[], io: CommandIO) => Promise<number>, usage: string }> = {
  id: { run: id, usage: ID_USAGE },
  serve: { run: serve, usage: SERVE_USAGE },
  proxy: { run: proxy, usage: PROXY_USAGE },
  fetch: { run: fetchCommand, usage: FETCH_USAGE },
  gateway: { run: gateway, usage: GATEWAY_USAGE },
  relay: { run: relay, usage: RELAY_USAGE }
}

/** The overall usage text. */
export const USAGE = `libp2phttp: HTTP over libp2p from the command line (libp2phttp --version: which one)

${Object.values(COMMANDS).map(c => c.usage).join('\n\n')}`

/** Run the command line `argv` (without `node` and the script); resolves with the exit code. */
export async function runCLI (argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv
  if (name === '--version') {
    io.out(`libp2phttp ${packageVersion() ?? 'unknown'}`)
    return 0
  }
  if (name == null || name === '--help' || name === '-h' || name === 'help') {
    io.out(USAGE)
    return name == null ? 2 : 0
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (command == null) {
    io.err(`libp2phttp: unknown command ${name}: the commands are ${Object.keys(COMMANDS).join(', ')} (see libp2phttp --help)`)
    return 2
  }
  // --json: every line is JSON, the last one too (the flag is looked for as given: parsing may be what failed)
  const json = rest.includes('--json')
  const fail = (message: string, exit: number, code?: string): number => {
    io.err(json ? jsonLine('error', message, { command: name, ...(code == null ? {} : { code }), exit }) : `libp2phttp ${name}: ${message}${code == null || exit === 2 ? '' : ` (${code})`}`)
    return exit
  }
  try {
    return await command.run(rest, io)
  } catch (err) {
    // one line each: what went wrong and what to do, naming the flag (the usage is one --help away)
    if (err instanceof UsageError) return fail(`${err.message} (see libp2phttp ${name} --help)`, 2, err.code)
    return fail(oneLine((err as Error).message), 1, err instanceof LibP2PHTTPError ? err.code : undefined)
  }
}

/** A message's first line: a failure the command did not predict may carry a library's multi-line text. */
function oneLine (message: string): string {
  return message.split('\n')[0].trim()
}
