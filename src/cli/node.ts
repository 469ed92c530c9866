/**
 * The command's own js-libp2p node: TCP + noise + yamux, the identity from the key file. The library
 * leaves the node to its user; the command is such a user.
 *
 * @module
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

/** The largest yamux receive window, in bytes: also bounds what a paused stream may have in flight. */
export const STREAM_WINDOW = 4 * 1024 * 1024

/** A node with `privateKey` listening on `listen` (no listeners: a client only). */
export async function createNode (privateKey: PrivateKey, listen: string[]): Promise<Libp2p> {
  return await createLibp2p({
    privateKey,
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({
      // yamux's defaults let a window grow to 16 MiB but abort a paused stream whose read buffer
      // passes 4 MiB: a slow reader (fetch -o to a disk, a slow local client) lost large downloads.
      // A window at most half the buffer keeps backpressure from ever hitting the limit.
      streamOptions: { maxStreamWindowSize: STREAM_WINDOW, maxReadBufferLength: 2 * STREAM_WINDOW }
    })]
  })
}
