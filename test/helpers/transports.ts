/**
 * The transports end-to-end tests run over, each as a way to name a server for `host.fetch`. A test
 * written as `describe.each(transports)` runs once per transport; the native HTTPS transport adds a row
 * here (its target is the server's `/tls/http` multiaddr).
 */
import type { FetchTarget } from '../../src/index.js'
import type { Libp2p } from '@libp2p/interface'

export interface Transport {
  name: string
  /** The target that reaches `server` over this transport. */
  target: (server: { node: Libp2p }) => FetchTarget
}

export const transports: Transport[] = [
  // The first address with /p2p: the client dials it, no peer store needed, and caches key on the peer id.
  { name: 'streams', target: (server) => server.node.getMultiaddrs()[0] }
]
