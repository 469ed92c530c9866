/**
 * The transports end-to-end tests run over. A test written as `describe.each(transports)` creates its
 * server and client peers with the row's options and names servers with the row's `target`, so it runs
 * once per transport.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll } from 'vitest'
import { createPeer, stopPeers } from './nodes.js'
import { testCertificate } from './tls.js'
import type { FetchTarget, HTTPHostOptions } from '../../src/index.js'
import type { Peer } from './nodes.js'
import type { RawServer } from './raw-server.js'
import type { TestCertificate } from './tls.js'

/** A server as tests name it: a peer (host and node) or a raw server. */
export type Server = Peer | RawServer

function addrsOf (server: Server): string[] {
  return ('host' in server ? server.host.addrs() : server.addrs()).map(String)
}

export interface Transport {
  name: string
  /** Options for hosts that serve. */
  server: () => Promise<Omit<HTTPHostOptions, 'libp2p'>>
  /** Options for hosts that fetch. */
  client: () => Promise<Omit<HTTPHostOptions, 'libp2p'>>
  /** Options for raw servers. */
  raw: () => Promise<{ tls?: TestCertificate }>
  /** The target that reaches `server` over this transport. */
  target: (server: Server) => FetchTarget
  /** The name a client's caches give that target's server: the peer id, or an origin when the target names no peer. */
  keyOf: (server: Server) => string
}

export const transports: Transport[] = [
  {
    name: 'streams',
    server: async () => ({}),
    client: async () => ({}),
    raw: async () => ({}),
    // The first address with /p2p: the client dials it, no peer store needed, and caches key on the peer id.
    target: (server) => server.node.getMultiaddrs()[0],
    keyOf: (server) => server.node.peerId.toString()
  },
  {
    name: 'https',
    server: async () => ({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: await testCertificate() }),
    client: async () => ({ clientTLS: { ca: (await testCertificate()).cert } }),
    raw: async () => ({ tls: await testCertificate() }),
    // Without /p2p: proving an HTTPS server's peer id needs Peer ID Authentication, which is not there yet.
    target: (server) => multiaddr(nativeAddr(server)),
    keyOf: (server) => `multiaddr:${nativeAddr(server)}`
  }
]

function nativeAddr (server: Server): string {
  const found = addrsOf(server).find(a => a.includes('/tls/http'))
  if (found == null) throw new Error('the server has no /tls/http address')
  return found.replace(/\/p2p\/.*$/, '')
}

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
