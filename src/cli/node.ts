/**
 * The command's own js-libp2p node: TCP + noise + yamux, the identity from the key file; circuit relay
 * v2 as a transport (dial and listen on `/p2p-circuit` addresses), identify (which the relay transport and
 * DCUtR need: protocols and observed addresses) and DCUtR (a relayed connection tries to become
 * direct). The library leaves the node to its user; the command is such a user.
 *
 * @module
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { ConnectionGater, Libp2p, PrivateKey } from '@libp2p/interface'
import type { ServiceFactoryMap } from 'libp2p'

/** The largest yamux receive window, in bytes: also bounds what a paused stream may have in flight. */
export const STREAM_WINDOW = 4 * 1024 * 1024

/** What a command adds to its node (the relay: its relay service and who may reserve). */
export interface NodeExtras {
  services?: ServiceFactoryMap<Record<string, unknown>>
  connectionGater?: ConnectionGater
}

/** A node with `privateKey` listening on `listen` (no listeners: a client only). */
export async function createNode (privateKey: PrivateKey, listen: string[], extras: NodeExtras = {}): Promise<Libp2p> {
  return await createLibp2p({
    privateKey,
    addresses: { listen },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({
      // yamux's defaults let a window grow to 16 MiB but abort a paused stream whose read buffer
      // passes 4 MiB: a slow reader (fetch -o to a disk, a slow local client) lost large downloads.
      // A window at most half the buffer keeps backpressure from ever hitting the limit.
      streamOptions: { maxStreamWindowSize: STREAM_WINDOW, maxReadBufferLength: 2 * STREAM_WINDOW }
    })],
    connectionGater: extras.connectionGater,
    services: { identify: identify(), dcutr: dcutr(), ...extras.services }
  })
}
