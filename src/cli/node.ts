/**
 * The command's own js-libp2p node: TCP + noise + yamux, the identity from the key file; circuit relay
 * v2 as a transport (dial and listen on `/p2p-circuit` addresses), identify (which the relay transport and
 * DCUtR need: protocols and observed addresses) and DCUtR (a relayed connection tries to become
 * direct). The library leaves the node to its user; the command is such a user.
 *
 * @module
 */
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { identify, identifyPush } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { isHTTPTransportAddress } from '../addr/addressing.js'
import { ListenError } from '../errors.js'
import { withKeptX25519Keys } from '../stream/noise-x25519.js'
import { describeFailure } from './client-options.js'
import { LookupOnlyDatastore } from './lookup.js'
import type { HTTPHost } from '../host.js'
import type { ConnectionGater, Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ServiceFactoryMap } from 'libp2p'

/** The largest yamux receive window, in bytes: also bounds what a paused stream may have in flight. */
export const STREAM_WINDOW = 4 * 1024 * 1024

/** What a command adds to its node (the relay: its relay service and who may reserve). */
export interface NodeExtras {
  services?: ServiceFactoryMap<Record<string, unknown>>
  connectionGater?: ConnectionGater
  /**
   * Where the listen addresses came from (`--listen`, `"listen" in FILE`), named in the error when one
   * cannot be opened.
   *
   * @default '--listen'
   */
  listenFrom?: string
  /** Addresses advertised besides the listening ones (`--announce`: js-libp2p's `appendAnnounce`). */
  announce?: Multiaddr[]
}

/** A node with `privateKey` listening on `listen` (no listeners: a client only). */
export async function createNode (privateKey: PrivateKey, listen: string[], extras: NodeExtras = {}): Promise<Libp2p> {
  return await createLibp2p({
    privateKey,
    addresses: { listen, appendAnnounce: extras.announce?.map(String) },
    transports: [tcp(), circuitRelayTransport()],
    // noise's handshake without a DER key import per Diffie-Hellman (~3 ms of CPU per connection under Node 20)
    connectionEncrypters: [noise({ crypto: withKeptX25519Keys(defaultCrypto) })],
    streamMuxers: [yamux({
      // yamux's defaults let a window grow to 16 MiB but abort a paused stream whose read buffer
      // passes 4 MiB: a slow reader (fetch -o to a disk, a slow local client) lost large downloads.
      // A window at most half the buffer keeps backpressure from ever hitting the limit.
      streamOptions: { maxStreamWindowSize: STREAM_WINDOW, maxReadBufferLength: 2 * STREAM_WINDOW }
    })],
    connectionGater: extras.connectionGater,
    // a DHT server (the relay, serve --relay) keeps no one's values or provider records (lookup.ts)
    datastore: new LookupOnlyDatastore(),
    // identify push: a peer learns this node's new addresses and protocols (a relay slot, the DHT) while
    // connected; a relay's DHT lists a provider only once it knows an address of it
    services: { identify: identify(), identifyPush: identifyPush(), dcutr: dcutr(), ...extras.services }
  }).catch((err: unknown) => {
    throw listenFailure(err as Error, extras.listenFrom ?? '--listen') ?? err
  })
}

/**
 * libp2p's failure to listen (`UnsupportedListenAddressesError`: a paragraph naming its own
 * `transportManager.faultTolerance` option, then a stack per address) as one line naming the flag and
 * the fix; `undefined` for any other error. The addresses and errno codes are only in its message.
 */
export function listenFailure (err: Error, listenFrom: string): ListenError | undefined {
  if (err.name !== 'UnsupportedListenAddressesError') return undefined
  const failed = [...err.message.matchAll(/^\s*(\/\S+): \S*Error: (?:listen )?(\w+)?/gm)].map(m => ({ addr: m[1], code: m[2] }))
  const first = failed[0]
  if (first == null) return new ListenError('', `${listenFrom}: cannot listen on an address given (check it is this machine's and free)`, { cause: err })
  const why = first.code === 'EADDRINUSE'
    ? 'the port is already in use by another program; choose another port (tcp/0 picks a free one)'
    : first.code === 'EACCES'
      ? 'this user may not listen there (ports below 1024 need privileges); choose a port of 1024 or above'
      : first.code === 'EADDRNOTAVAIL'
        ? 'not an address of this machine; use one of its addresses, or 0.0.0.0 for all'
        : `cannot listen there${first.code == null ? '' : ` (${first.code})`}`
  return new ListenError(first.addr, `${listenFrom} ${first.addr}: ${why}`, { cause: err })
}

/** How long a first contact with a peer may take at start-up. */
export const FIRST_CONTACT_TIMEOUT = 10_000

/**
 * Contact `addr` once at start-up, so the operator learns now that a peer cannot be reached rather than
 * at the first request; a warning when it cannot, and nothing fatal: the peer may come up later, and
 * every request dials on its own. A libp2p address is dialled; an HTTPS one (`/tls/http`), which undici
 * reaches and not the node, is asked for its well-known map (public: nothing reaches the upstream), which
 * runs TLS and Peer ID Authentication. Resolves with whether it answered.
 */
export async function firstContact ({ node, host }: { node: Pick<Libp2p, 'dial'>, host: Pick<HTTPHost, 'protocols'> }, addr: Multiaddr, warn: (message: string) => void): Promise<boolean> {
  try {
    const signal = AbortSignal.timeout(FIRST_CONTACT_TIMEOUT)
    if (isHTTPTransportAddress(addr)) await host.protocols(addr, { signal })
    else await node.dial(addr, { signal })
    return true
  } catch (err) {
    warn(`cannot reach ${addr.toString()} yet: ${describeFailure(err)}`)
    return false
  }
}
