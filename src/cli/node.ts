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

/** A node with `privateKey` listening on `listen` (no listeners: a client only). */
export async function createNode (privateKey: PrivateKey, listen: string[]): Promise<Libp2p> {
  return await createLibp2p({
    privateKey,
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}
