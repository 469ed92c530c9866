/**
 * Which private key signs for the host: an explicit `auth.privateKey`, else the node's own (the
 * service's `privateKey` component, or what `createHTTPHost` finds on a node: see `node.ts`). Either
 * must be the key of the node's peer id when there is a node.
 *
 * @module
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { InvalidAuthOptionsError } from '../errors.js'
import type { PeerIdAuthServerOptions } from './server.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** The `auth` options of `createHTTPHost`: Peer ID Authentication over the native HTTP transport. */
export interface PeerIdAuthOptions {
  /**
   * The identity key that signs. Needed without a `libp2p` node; with one it must be the node's key.
   *
   * @default the js-libp2p node's own key (its `privateKey` component)
   */
  privateKey?: PrivateKey
  /**
   * Require Peer ID Authentication from clients of the native listeners (streams authenticate by
   * their connection). The well-known resource stays public.
   */
  server?: PeerIdAuthServerOptions
  /**
   * How many bearer tokens the client keeps, one per (hostname, server peer id).
   *
   * @default 256
   */
  maxTokens?: number
}

/**
 * The host's signing key, or `undefined` when it has none (no Peer ID Authentication).
 *
 * @throws {InvalidAuthOptionsError} when the key is not the node's
 */
export function identityKey (libp2p: { peerId: PeerId, privateKey?: PrivateKey } | undefined, auth: PeerIdAuthOptions | undefined): PrivateKey | undefined {
  const key = auth?.privateKey ?? libp2p?.privateKey
  if (key != null && libp2p != null && !peerIdFromPrivateKey(key).equals(libp2p.peerId)) {
    throw new InvalidAuthOptionsError('auth.privateKey', `auth.privateKey is the key of ${peerIdFromPrivateKey(key).toString()}, not of the libp2p node ${libp2p.peerId.toString()}`)
  }
  if (key == null && auth?.server != null) {
    throw new InvalidAuthOptionsError('auth.privateKey', 'auth.server needs the host\'s private key: pass auth.privateKey, or a js-libp2p node')
  }
  return key
}
