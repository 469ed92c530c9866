/**
 * `serve --relay MULTIADDR`: listen through circuit relays. The node listens on `<relay>/p2p-circuit`
 * (circuit relay v2 reserves a slot, and renews it before it expires), and when the connection to a
 * relay drops, it is redialled with backoff and the slot reserved again. Which connection carried a
 * request, relayed or direct, is what the request log says.
 *
 * @module
 */
import { multiaddr } from '@multiformats/multiaddr'
import { isCircuitAddress } from '../addr/addressing.js'
import { UsageError } from '../errors.js'
import { keepConnected } from '../proxy/redial.js'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger, RequestRecord } from './log.js'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { IncomingMessage } from 'node:http'
import type { ParseArgsConfig } from 'node:util'

/** `--relay`, repeatable. */
export const RELAY_OPTIONS = {
  relay: { type: 'string', multiple: true }
} as const satisfies NonNullable<ParseArgsConfig['options']>

/** The usage line of {@link RELAY_OPTIONS}. */
export const RELAY_OPTIONS_USAGE = `  --relay MULTIADDR     reserve a slot on this relay (libp2phttp relay), repeatable: consumers that cannot
                        reach this machine (behind NAT) reach it through the relay, then try to go direct`

/** A relay named on the command line. */
export interface RelaySpec {
  addr: Multiaddr
  peer: PeerId
  /** Where the node listens: `<relay>/p2p-circuit`. */
  listen: Multiaddr
}

/** The relays of `--relay` (or of `flag`), each of which must name its peer. */
export function relaySpecs (values: string[] | undefined, flag = '--relay'): RelaySpec[] {
  return (values ?? []).map((value) => {
    let addr: Multiaddr
    try {
      addr = multiaddr(value.replace(/^multiaddr:/, ''))
    } catch (err) {
      throw new UsageError(`${flag}: not a multiaddr: ${value}`, { cause: err })
    }
    const id = addr.getComponents().findLast(c => c.name === 'p2p')?.value
    if (id == null || isCircuitAddress(addr)) throw new UsageError(`${flag} must be a relay's address ending in /p2p/<peer id>: ${value}`)
    return { addr, peer: peerIdFromString(id), listen: addr.encapsulate('/p2p-circuit') }
  })
}

/**
 * Whether `addr` goes through a relay, by its components: a text match on `/p2p-circuit` also took a
 * host such as `/dns4/p2p-circuit.example.com` for one. Text that is not a multiaddr (an `https:` URL
 * given to `--to`) is not relayed.
 */
export function isRelayed (addr: Multiaddr | string): boolean {
  if (typeof addr !== 'string') return isCircuitAddress(addr)
  try {
    return isCircuitAddress(multiaddr(addr.replace(/^multiaddr:/, '')))
  } catch {
    return false
  }
}

/** The request log's `via` of a request served over a stream: from its connection's remote address. */
export function servedVia (req: IncomingMessage): RequestRecord['via'] {
  const address = (req.socket as IncomingMessage['socket'] | null)?.remoteAddress
  if (address == null) return undefined
  return isRelayed(address) ? 'relayed' : 'direct'
}

/** The request log's `via` of a request sent to `peer`: the connection a request to it now uses. */
export function sentVia (node: Pick<Libp2p, 'getConnections'>, peer: PeerId): RequestRecord['via'] {
  const open = node.getConnections(peer).filter(c => c.status === 'open')
  if (open.some(c => c.limits == null)) return 'direct'
  return open.length > 0 ? 'relayed' : undefined
}

/** The part of the node that {@link keepReserved} needs; `components` is js-libp2p's (see below). */
type ReservingNode = Libp2p & { components?: { transportManager?: { listen: (addrs: Multiaddr[]) => Promise<void> } } }

/**
 * For each relay: whether the node holds a slot there now (else say why, once), and on every drop of the
 * connection to it, redial with backoff and reserve again. Returns a function that stops.
 *
 * js-libp2p's relay transport renews a reservation before it expires, but when the connection to the
 * relay closes it withdraws the address and does not reserve again; the node has no public way to
 * listen anew, so this calls its transport manager (`components.transportManager.listen`) as libp2p
 * does at start.
 */
export function keepReserved (node: ReservingNode, relays: RelaySpec[], logger: Logger): () => void {
  const stops = relays.map((relay) => {
    const reserve = async (): Promise<void> => {
      const listen = node.components?.transportManager?.listen
      if (listen == null) return
      await listen.call(node.components?.transportManager, [relay.listen])
      const addrs = node.getMultiaddrs().filter(a => isRelayed(a) && a.toString().includes(relay.peer.toString()))
      if (addrs.length === 0) throw new Error('the relay gave no slot')
      logger.info(`reserved a slot on ${relay.peer.toString()} again`, { addrs: addrs.map(String).join(',') })
    }
    return keepConnected(node, relay.peer, [relay.addr], {
      report: (e) => {
        if (e.type === 'disconnected') logger.warn(`connection to the relay ${relay.peer.toString()} lost; redialling`)
        else if (e.type === 'retry') logger.warn(`relay redial ${e.attempt} failed: ${e.error?.message ?? ''}; next in ~${e.delay ?? 0} ms`)
        else reserve().catch((err: Error) => { logger.warn(`could not reserve a slot on ${relay.peer.toString()} again: ${err.message}`) })
      }
    })
  })
  return () => { for (const stop of stops) stop() }
}

/**
 * `err` from starting a node that listens on relays, said in the command's terms: a relay that refused
 * the reservation (circuit v2 `PERMISSION_DENIED`) names the flag that lets this peer in.
 */
export function relayStartError (err: Error, self: PeerId): Error {
  // libp2p's own error may come wrapped (a listen failure put in the flag's terms): read both
  const text = `${err.message}\n${String((err.cause as Error | undefined)?.message ?? '')}`
  if (/PERMISSION_DENIED/.test(text)) {
    return new Error(`the relay refused a slot to this peer (${self.toString()}): on the relay, libp2phttp relay --allow ${self.toString()}`, { cause: err })
  }
  if (/p2p-circuit/.test(err.message)) {
    return new Error(`could not reserve a slot on the relay: ${err.message.replace(/\s*\n\s*/g, ' ')}`, { cause: err })
  }
  return err
}

/** The relays on which `node` holds no slot (their `/p2p-circuit` address is missing). */
export function unreserved (node: Pick<Libp2p, 'getMultiaddrs'>, relays: RelaySpec[]): RelaySpec[] {
  const circuits = node.getMultiaddrs().filter(isRelayed).map(String)
  return relays.filter(r => !circuits.some(a => a.includes(`/p2p/${r.peer.toString()}/p2p-circuit`)))
}
