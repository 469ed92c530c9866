/**
 * `libp2phttp id [--key FILE]`: create (mode 0600) or show the persistent identity; prints the peer id.
 *
 * @module
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { noPositionals, parse } from '../args.js'
import { keyPath, loadOrCreateKey } from '../identity.js'
import type { CommandIO } from './io.js'

export const ID_USAGE = `libp2phttp id [--key FILE]
  Print this machine's peer id, creating the key (Ed25519, mode 0600) when there is none.
  --key FILE   the key file (default: $LIBP2PHTTP_KEY, else ~/.libp2phttp/key)`

/** Run `id`; resolves with the exit code. */
export async function id (argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(argv, { key: { type: 'string' }, help: { type: 'boolean', short: 'h' } })
  noPositionals(positionals)
  if (values.help === true) { io.out(ID_USAGE); return 0 }
  const path = keyPath(values.key, io.env)
  const { key, created } = await loadOrCreateKey(path)
  if (created) io.err(`created a new identity in ${path}`)
  io.out(peerIdFromPrivateKey(key).toString())
  return 0
}
