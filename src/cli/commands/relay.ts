/**
 * `libp2phttp relay`: a self-hostable circuit relay v2 (hop) for providers behind NATs, with identify
 * and autonat for the peers that use it, and a DHT in which consumers find providers by peer id (`--bootstrap`). Deny-by-default like `serve`: only allowed peers may reserve
 * a slot (anyone may dial a reserved peer through it: the provider's own allow-list decides who gets
 * served). Every relayed connection is limited in bytes and time; DCUtR lets the two ends go direct.
 *
 * @module
 */
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { UsageError } from '../../errors.js'
import { ANNOUNCE_OPTIONS, ANNOUNCE_USAGE, announceAddrs } from '../announce.js'
import { COMMON_OPTIONS, COMMON_USAGE, integer, noPositionals, parse } from '../args.js'
import { keyPath, loadOrCreateKey } from '../identity.js'
import { createLogger } from '../log.js'
import { lookupServices } from '../lookup.js'
import { createNode } from '../node.js'
import { allowList } from '../serve-plan.js'
import { pasteAddr } from './serve.js'
import { DEFAULT_GRACE, untilSignal } from '../shutdown.js'
import type { CommandIO } from './io.js'
import type { PeerId } from '@libp2p/interface'

/** Bytes one relayed connection may carry, both ways together, when `--max-data` is not given. */
export const DEFAULT_MAX_DATA = 16 * 1024 * 1024
/** Seconds one relayed connection may stay open when `--max-duration` is not given. */
export const DEFAULT_MAX_DURATION = 600

export const RELAY_USAGE = `libp2phttp relay (--allow PEER… | --allow-any) [options]
  Relay connections to providers that cannot be reached directly (behind NATs): they reserve a slot
  here (serve --relay), consumers reach them through it, and both try to go direct (hole punching).
  Consumers that know only a provider's peer id find it through this relay's DHT (--bootstrap).
  --listen MULTIADDR    listen address, repeatable (default /ip4/0.0.0.0/tcp/4001)
${ANNOUNCE_USAGE}
  --allow PEER          a peer id that may reserve a slot, repeatable
  --allow-any           any peer may reserve (prints a warning)
  --max-data BYTES      bytes one relayed connection may carry, both ways (default ${DEFAULT_MAX_DATA})
  --max-duration SEC    seconds one relayed connection may stay open (default ${DEFAULT_MAX_DURATION})
  --max-reservations N  providers holding a slot at once (default 128)
${COMMON_USAGE}`

/** Run `relay` until a signal; resolves with the exit code. */
export async function relay (argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    listen: { type: 'string', multiple: true },
    ...ANNOUNCE_OPTIONS,
    allow: { type: 'string', multiple: true },
    'allow-any': { type: 'boolean' },
    'max-data': { type: 'string' },
    'max-duration': { type: 'string' },
    'max-reservations': { type: 'string' }
  })
  noPositionals(positionals)
  if (values.help === true) { io.out(RELAY_USAGE); return 0 }
  const allow = allowList(values.allow, values['allow-any'] === true, { list: '--allow', any: '--allow-any' },
    'relay needs --allow PEER (the providers that may reserve a slot; repeatable) or --allow-any')
  const maxData = positive('max-data', values['max-data'], DEFAULT_MAX_DATA)
  const maxDuration = positive('max-duration', values['max-duration'], DEFAULT_MAX_DURATION)
  const maxReservations = positive('max-reservations', values['max-reservations'], 128)
  const grace = integer('grace', values.grace, DEFAULT_GRACE)
  const logger = createLogger({ quiet: values.quiet, json: values.json, write: io.err })
  const { key } = await loadOrCreateKey(keyPath(values.key, io.env))
  const announce = announceAddrs(values.announce, peerIdFromPrivateKey(key).toString())

  const allowed = (peer: PeerId): boolean => allow === 'any' || allow.some(p => p.equals(peer))
  const node = await createNode(key, values.listen ?? ['/ip4/0.0.0.0/tcp/4001'], {
    announce,
    connectionGater: {
      denyInboundRelayReservation: async (peer) => {
        if (allowed(peer)) return false
        logger.warn(`refused a reservation from ${peer.toString()} (not allowed: relay --allow it)`)
        return true
      }
    },
    services: {
      relay: circuitRelayServer({
        reservations: {
          maxReservations,
          applyDefaultLimit: true,
          defaultDataLimit: BigInt(maxData),
          // js-libp2p's relay enforces this in milliseconds (and advertises the same number, which
          // circuit v2 says is seconds: docs/decisions.md, issue 16)
          defaultDurationLimit: maxDuration * 1000
        }
      }),
      autoNAT: autoNAT(),
      // the DHT that consumers' --bootstrap looks providers up in (serve --relay joins it)
      ...lookupServices('server')
    }
  })

  const addrs = node.getMultiaddrs()
  io.out(`peer ${node.peerId.toString()}`)
  for (const addr of addrs) io.out(`listen ${addr.toString()}`)
  if (allow === 'any') logger.warn('--allow-any: every peer that can reach this relay can reserve a slot and have its traffic relayed')
  io.out(`relaying for ${allow === 'any' ? 'any peer' : allow.map(String).join(', ')}: ${maxData} bytes and ${maxDuration} s per relayed connection`)
  io.out(`on the provider: libp2phttp serve --upstream URL --allow PEER --relay ${pasteAddr(addrs, announce).toString()}`)
  io.out(`on a consumer: libp2phttp proxy --to /p2p/<provider peer id> --bootstrap ${pasteAddr(addrs, announce).toString()}`)
  node.addEventListener('connection:open', (evt) => {
    logger.info(`peer ${evt.detail.remotePeer.toString()} connected from ${evt.detail.remoteAddr.toString()}`)
  })

  await untilSignal(logger, grace, async () => { await node.stop() })
  return 0
}

/** A positive integer option, or `fallback`. */
function positive (name: string, value: string | undefined, fallback: number): number {
  const n = integer(name, value, fallback)
  if (n < 1) throw new UsageError(`--${name} must be a positive integer, not ${String(value)}`)
  return n
}
