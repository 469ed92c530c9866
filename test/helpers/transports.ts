/**
 * The transports end-to-end tests run over. A test written as `describe.each(transports)` creates its
 * server and client peers with the row's options and names servers with the row's `target`, so it runs
 * once per transport. The native HTTPS transport adds a row: listeners and a certificate for servers,
 * the certificate's CA for clients, and the server's `/tls/http` address as the target.
 */
import { afterAll, beforeAll } from 'vitest'
import { createPeer, stopPeers } from './nodes.js'
import type { FetchTarget, HTTPHostInit } from '../../src/index.js'
import type { Peer } from './nodes.js'
import type { Libp2p } from '@libp2p/interface'

export interface Transport {
  name: string
  /** Options for hosts that serve. */
  server: () => Promise<Omit<HTTPHostInit, 'libp2p'>>
  /** Options for hosts that fetch. */
  client: () => Promise<Omit<HTTPHostInit, 'libp2p'>>
  /** The target that reaches `server` over this transport. */
  target: (server: { node: Libp2p }) => FetchTarget
}

export const transports: Transport[] = [
  {
    name: 'streams',
    server: async () => ({}),
    client: async () => ({}),
    // The first address with /p2p: the client dials it, no peer store needed, and caches key on the peer id.
    target: (server) => server.node.getMultiaddrs()[0]
  }
]

/** A server and a client peer for `transport`, created before the tests of the enclosing block and stopped after. */
export function usePeersOver (transport: Transport, receive: (server: Peer, client: Peer) => void): void {
  let server: Peer | undefined
  let client: Peer | undefined
  beforeAll(async () => {
    [server, client] = await Promise.all([createPeer(await transport.server()), createPeer(await transport.client())])
    receive(server, client)
  })
  afterAll(async () => { await stopPeers(server, client) })
}
