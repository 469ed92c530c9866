/**
 * Real js-libp2p nodes for end-to-end tests: TCP + noise + yamux on 127.0.0.1.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll } from 'vitest'
import { createHTTPHost } from '../../src/index.js'
import type { HTTPHost, HTTPHostOptions } from '../../src/index.js'
import type { Libp2p } from '@libp2p/interface'

export async function createNode (): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

export interface Peer {
  node: Libp2p
  host: HTTPHost
}

export async function createPeer (init: Omit<HTTPHostOptions, 'libp2p'> = {}): Promise<Peer> {
  const node = await createNode()
  const host = await createHTTPHost({ ...init, libp2p: node })
  return { node, host }
}

export async function stopPeers (...peers: Array<Peer | undefined>): Promise<void> {
  await Promise.all(peers.map(async (peer) => {
    if (peer == null) return
    await peer.host.close({ timeout: 100 })
    await peer.node.stop()
  }))
}

/** The multiaddr URI of a peer's first address, with an optional request target. */
export function uriOf (peer: Peer, path?: string): string {
  const addr = peer.node.getMultiaddrs()[0].toString()
  return path == null || path === '/' ? `multiaddr:${addr}` : `multiaddr:${addr}/http-path/${encodeURIComponent(path.replace(/^\//, ''))}`
}

/** Read a whole body as bytes. */
export async function bytesOf (res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer())
}

/** Resolve after `ms` milliseconds. */
export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Wait until `predicate` holds, polling; fails after `timeout` ms so no test hangs. */
export async function until (predicate: () => boolean, timeout = 5000, what = 'condition'): Promise<void> {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > timeout) {
      throw new Error(`timed out waiting for ${what}`)
    }
    await sleep(5)
  }
}

/** A server peer and a client peer shared by the tests of a file: created before them, stopped after. */
export function usePeers (receive: (server: Peer, client: Peer) => void): void {
  let server: Peer | undefined
  let client: Peer | undefined
  beforeAll(async () => {
    server = await createPeer()
    client = await createPeer()
    receive(server, client)
  })
  afterAll(async () => { await stopPeers(server, client) })
}
