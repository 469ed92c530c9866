/**
 * `--announce MULTIADDR` (`serve`, `relay`): an address others can dial this node on that it cannot see
 * itself, such as a home router's public address with a port forwarded to this machine, or a cloud
 * machine's public IP in front of its private one. It goes to js-libp2p's `addresses.appendAnnounce`:
 * added to what the node advertises (identify, the relay's DHT, DCUtR), next to the addresses it
 * listens on. (`addresses.announce` would replace them all, `/p2p-circuit` ones included: a provider
 * behind a relay would no longer advertise its slot, and `serve --relay` would find none.)
 *
 * @module
 */
import { multiaddr } from '@multiformats/multiaddr'
import { UsageError } from '../errors.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ParseArgsConfig } from 'node:util'

/** `--announce`, repeatable. */
export const ANNOUNCE_OPTIONS = {
  announce: { type: 'string', multiple: true }
} as const satisfies NonNullable<ParseArgsConfig['options']>

/** The usage line of {@link ANNOUNCE_OPTIONS}. */
export const ANNOUNCE_USAGE = `  --announce MULTIADDR  also advertise this address, repeatable: where others reach this machine, e.g.
                        a router's public address with a port forward, /ip4/203.0.113.7/tcp/4002`

/** The address families a TCP address may start with. */
const HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])

/**
 * The addresses of `--announce`, each `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>`, optionally ending in
 * `/p2p/<self>` (this node's own id; dropped, libp2p adds it). The command's nodes dial and listen over
 * TCP only, so nothing else could be dialled by those who read it.
 */
export function announceAddrs (values: string[] | undefined, self: string): Multiaddr[] {
  return (values ?? []).map((value) => {
    let addr: Multiaddr
    try {
      addr = multiaddr(value.replace(/^multiaddr:/, ''))
    } catch (err) {
      throw new UsageError(`--announce: not a multiaddr: ${value}`, { cause: err })
    }
    const parts = addr.getComponents()
    const peer = parts.length === 3 && parts[2].name === 'p2p' ? parts[2].value : undefined
    if (peer != null && peer !== self) {
      throw new UsageError(`--announce ${value}: names another peer (${peer}); this node is ${self}`)
    }
    if (!HOSTS.has(parts[0]?.name) || parts[1]?.name !== 'tcp' || (parts.length !== 2 && peer == null)) {
      throw new UsageError(`--announce ${value}: not an address this node can be dialled on: give /ip4/<address>/tcp/<port> (or /ip6, /dns…)`)
    }
    return peer == null ? addr : addr.decapsulate(`/p2p/${peer}`)
  })
}
