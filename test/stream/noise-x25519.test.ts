import { randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterEach, describe, expect, it } from 'vitest'
import { withKeptX25519Keys } from '../../src/stream/noise-x25519.js'
import { createHTTPHost } from '../../src/index.js'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import type { Libp2p } from '@libp2p/interface'

// noise hands over its own (uint8arraylist 2) lists; the method only calls `subarray()` on them
type Bytes = Parameters<ICryptoInterface['generateX25519SharedKey']>[0]
const list = (bytes: Uint8Array): Bytes => new Uint8ArrayList(bytes.subarray(0, 7), bytes.subarray(7)) as unknown as Bytes

const noiseCrypto = withKeptX25519Keys(defaultCrypto)

describe('withKeptX25519Keys: noise\'s X25519 on kept KeyObjects (the command\'s node)', () => {
  it('agrees with noise\'s own crypto: key pairs from a seed, and every DH either way, bytes or lists', () => {
    for (let i = 0; i < 20; i++) {
      const seed = randomBytes(32)
      const ours = noiseCrypto.generateX25519KeyPairFromSeed(seed)
      const theirs = defaultCrypto.generateX25519KeyPairFromSeed(seed)
      expect(Buffer.from(ours.publicKey).equals(Buffer.from(theirs.publicKey))).toBe(true)
      expect(Buffer.from(ours.privateKey).equals(Buffer.from(theirs.privateKey))).toBe(true)

      const a = noiseCrypto.generateX25519KeyPair()
      const b = defaultCrypto.generateX25519KeyPair()
      const expected = Buffer.from(defaultCrypto.generateX25519SharedKey(b.privateKey, a.publicKey))
      expect(Buffer.from(noiseCrypto.generateX25519SharedKey(a.privateKey, b.publicKey)).equals(expected)).toBe(true)
      expect(Buffer.from(defaultCrypto.generateX25519SharedKey(a.privateKey, b.publicKey)).equals(expected)).toBe(true)
      // a private key it did not make (imported once), and noise's lists
      expect(Buffer.from(noiseCrypto.generateX25519SharedKey(b.privateKey, a.publicKey)).equals(expected)).toBe(true)
      expect(Buffer.from(noiseCrypto.generateX25519SharedKey(list(a.privateKey), list(b.publicKey))).equals(expected)).toBe(true)
      expect(Buffer.from(noiseCrypto.generateX25519SharedKey(list(b.privateKey), a.publicKey)).equals(expected)).toBe(true)
    }
  })

  it('refuses a public key that is not one, as noise\'s own crypto does', () => {
    const a = noiseCrypto.generateX25519KeyPair()
    expect(() => defaultCrypto.generateX25519SharedKey(a.privateKey, new Uint8Array(31))).toThrow()
    expect(() => noiseCrypto.generateX25519SharedKey(a.privateKey, new Uint8Array(31))).toThrow()
  })

  describe('a node using it talks to nodes using noise\'s own crypto', () => {
    const nodes: Libp2p[] = []
    afterEach(async () => { for (const node of nodes.splice(0)) await node.stop() })
    const node = async (crypto?: ICryptoInterface): Promise<Libp2p> => {
      const created = await createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [noise(crypto == null ? {} : { crypto })],
        streamMuxers: [yamux()]
      })
      nodes.push(created)
      return created
    }

    it('each way: the handshake completes, each end proves its peer id, and a request over a stream is answered', async () => {
      for (const [clientCrypto, serverCrypto] of [[noiseCrypto, undefined], [undefined, noiseCrypto], [noiseCrypto, noiseCrypto]] as const) {
        const server = await node(serverCrypto)
        const client = await node(clientCrypto)
        const serverHost = await createHTTPHost({ libp2p: server, ping: false })
        serverHost.serve((_req, res) => { res.end('hello') })
        const clientHost = await createHTTPHost({ libp2p: client })
        const res = await clientHost.fetch(`multiaddr:${server.getMultiaddrs()[0].toString()}/http-path/x`)
        expect(await res.text()).toBe('hello')
        expect(client.getConnections(server.peerId)[0].remotePeer.equals(server.peerId)).toBe(true)
        expect(server.getConnections(client.peerId)[0].remotePeer.equals(client.peerId)).toBe(true)
        await clientHost.close()
        await serverHost.close()
      }
    })
  })
})
