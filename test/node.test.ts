import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hostNodeOfComponents, hostNodeOfLibp2p } from '../src/node.js'
import { createNode } from './helpers/nodes.js'
import type { HTTPHostComponents } from '../src/node.js'
import type { Connection, Libp2p } from '@libp2p/interface'

let node: Libp2p
beforeAll(async () => { node = await createNode() })
afterAll(async () => { await node.stop() })

describe('hostNodeOfLibp2p', () => {
  it('takes the key, the middleware and the peer id of a js-libp2p 3 node', () => {
    const host = hostNodeOfLibp2p(node)
    expect(host.peerId.equals(node.peerId)).toBe(true)
    expect(host.privateKey != null && peerIdFromPrivateKey(host.privateKey).equals(node.peerId)).toBe(true)
    expect(host.getMiddleware?.('/x/1')).toEqual([])
    node.use('/x/1', (stream, connection, next) => { next(stream, connection) })
    expect(host.getMiddleware?.('/x/1')).toHaveLength(1)
    expect(host.getMultiaddrs()).toEqual(node.getMultiaddrs())
    // the node has no metrics configured
    expect(host.metrics).toBeUndefined()
  })

  it('passes the peer store and the node\'s events on (a relayed peer is dialled direct from them, stream/direct.ts)', async () => {
    const host = hostNodeOfLibp2p(node)
    expect(host.peerStore).toBe(node.peerStore)
    const seen: string[] = []
    const listener = (): void => { seen.push('identify') }
    host.addEventListener?.('peer:identify', listener)
    node.safeDispatchEvent('peer:identify', { detail: {} as never })
    host.removeEventListener?.('peer:identify', listener)
    node.safeDispatchEvent('peer:identify', { detail: {} as never })
    expect(seen).toEqual(['identify'])
  })

  it('gives none of the three for a stand-in node without components, or whose components throw', () => {
    const base = { peerId: node.peerId, getMultiaddrs: () => [], handle: async () => {}, unhandle: async () => {}, dial: async () => { throw new Error('no') } }
    for (const standIn of [base, { ...base, get components (): never { throw new Error('not set') } }]) {
      const host = hostNodeOfLibp2p(standIn)
      expect(host.privateKey).toBeUndefined()
      expect(host.getMiddleware).toBeUndefined()
      expect(host.metrics).toBeUndefined()
      expect(host.getConnections).toBeUndefined()
    }
  })
})

describe('hostNodeOfComponents', () => {
  it('calls the registrar, the connection manager and the address manager it was given', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const calls: string[] = []
    const addr = multiaddr('/ip4/127.0.0.1/tcp/1')
    const components: HTTPHostComponents = {
      peerId: peerIdFromPrivateKey(privateKey),
      privateKey,
      registrar: {
        handle: async (protocol) => { calls.push(`handle ${protocol}`) },
        unhandle: async (protocol) => { calls.push(`unhandle ${protocol}`) },
        getMiddleware: (protocol) => { calls.push(`middleware ${protocol}`); return [] }
      },
      connectionManager: {
        openConnection: async () => { calls.push('open'); return {} as unknown as Connection },
        getConnections: () => { calls.push('connections'); return [] }
      },
      addressManager: { getAddresses: () => [addr] },
      logger: { forComponent: () => () => {} }
    }
    const host = hostNodeOfComponents(components)
    expect(host.privateKey).toBe(privateKey)
    expect(host.getMultiaddrs()).toEqual([addr])
    await host.handle('/a', () => {})
    await host.unhandle('/a')
    host.getMiddleware?.('/a')
    await host.dial(addr)
    host.getConnections?.()
    expect(calls).toEqual(['handle /a', 'unhandle /a', 'middleware /a', 'open', 'connections'])
    // no peer store or events given: no direct dial of relayed peers, and nothing thrown
    expect(host.peerStore).toBeUndefined()
    expect(host.addEventListener).toBeUndefined()
  })

  it('takes the peer store and the events of the components, when given', () => {
    const peerStore = { get: async () => ({ addresses: [] }) }
    const events = new EventTarget()
    const components = { peerStore, events } as unknown as HTTPHostComponents
    const host = hostNodeOfComponents(components)
    expect(host.peerStore).toBe(peerStore)
    const seen: string[] = []
    host.addEventListener?.('peer:identify', () => { seen.push('identify') })
    events.dispatchEvent(new Event('peer:identify'))
    expect(seen).toEqual(['identify'])
  })
})
