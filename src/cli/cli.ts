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
export const USAGE = `libp2phttp: HTTP over libp2p from the command line

${Object.values(COMMANDS).map(c => c.usage).join('\n\n')}`

/** Run the command line `argv` (without `node` and the script); resolves with the exit code. */
export async function runCLI (argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv
  if (name == null || name === '--help' || name === '-h' || name === 'help') {
    io.out(USAGE)
    return name == null ? 2 : 0
  }
  const command = COMMANDS[name]
  if (command == null) {
    io.err(`libp2phttp: unknown command ${name}\n\n${USAGE}`)
    return 2
  }
  try {
    return await command.run(rest, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`libp2phttp ${name}: ${err.message}\n\n${command.usage}`)
      return 2
    }
    io.err(`libp2phttp ${name}: ${(err as Error).message}${err instanceof LibP2PHTTPError ? ` (${err.code})` : ''}`)
    return 1
  }
}
