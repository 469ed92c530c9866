import { execFile } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterEach, describe, expect, it, vi } from 'vitest'
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

  it('refuses a public key that is not one, or of low order, as noise\'s own crypto does', () => {
    const a = noiseCrypto.generateX25519KeyPair()
    expect(() => defaultCrypto.generateX25519SharedKey(a.privateKey, new Uint8Array(31))).toThrow()
    expect(() => noiseCrypto.generateX25519SharedKey(a.privateKey, new Uint8Array(31))).toThrow()
    // low-order points (0, 1, and an order-8 point): an all-zero secret, which OpenSSL refuses for both
    const lowOrder = ['00', '01', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'].map(hex => Buffer.from(hex.padEnd(64, '0'), 'hex'))
    for (const publicKey of lowOrder) {
      expect(() => defaultCrypto.generateX25519SharedKey(a.privateKey, publicKey)).toThrow()
      expect(() => noiseCrypto.generateX25519SharedKey(a.privateKey, publicKey)).toThrow()
    }
  })

  it('never uses a kept key for bytes that changed: a private key overwritten in place, a buffer reused for another key', () => {
    const peer = defaultCrypto.generateX25519KeyPair()
    const secret = (privateKey: Uint8Array): Buffer => Buffer.from(defaultCrypto.generateX25519SharedKey(privateKey, peer.publicKey))
    const other = defaultCrypto.generateX25519KeyPair()
    // a key pair it made, used, then overwritten with another key's bytes
    const made = noiseCrypto.generateX25519KeyPair()
    noiseCrypto.generateX25519SharedKey(made.privateKey, peer.publicKey)
    made.privateKey.set(other.privateKey)
    expect(Buffer.from(noiseCrypto.generateX25519SharedKey(made.privateKey, peer.publicKey)).equals(secret(other.privateKey))).toBe(true)
    // a caller's buffer (a key it did not make, imported once), reused for the next key
    const scratch = Uint8Array.from(other.privateKey)
    noiseCrypto.generateX25519SharedKey(scratch, peer.publicKey)
    const next = defaultCrypto.generateX25519KeyPair()
    scratch.set(next.privateKey)
    expect(Buffer.from(noiseCrypto.generateX25519SharedKey(scratch, peer.publicKey)).equals(secret(next.privateKey))).toBe(true)
    // a seed handed over, then reused for another seed
    const seed = randomBytes(32)
    noiseCrypto.generateX25519KeyPairFromSeed(seed)
    noiseCrypto.generateX25519SharedKey(seed, peer.publicKey)
    randomBytes(32).copy(seed)
    expect(Buffer.from(noiseCrypto.generateX25519SharedKey(seed, peer.publicKey)).equals(secret(seed))).toBe(true)
  })

  it('hands noise a private key in memory of its own, not in a slice of Node\'s shared Buffer pool', () => {
    // any pooled Buffer's .buffer (a common mistake: Buffer.from(buf.buffer)) would expose the key
    for (const pair of [noiseCrypto.generateX25519KeyPair(), noiseCrypto.generateX25519KeyPairFromSeed(randomBytes(32))]) {
      expect(pair.privateKey.byteLength).toBe(32)
      expect(pair.privateKey.buffer.byteLength).toBeLessThanOrEqual(48)
    }
  })

  it('makes tens of thousands of key pairs without freezing the process (Node 20: a private JWK export can deadlock in a GC)', async () => {
    // Under Node 20, exporting a private key made by generateKeyPairSync as a JWK holds the key's mutex
    // while it allocates; a GC then that collects the key generation job locks the same mutex in the
    // job's destructor: the main thread waits on itself for ever (within ~1,000–10,000 key pairs). In a
    // process of its own, so that a freeze is a killed child and not a hung test run. A freeze is a
    // matter of GC timing (~4 runs in 5 froze on f988922), hence the check of the cause first: no private
    // key is ever exported as a JWK.
    const privateKeyObject = Object.getPrototypeOf(generateKeyPairSync('x25519').privateKey) as { export: (options: { format: string }) => unknown }
    const exportSpy = vi.spyOn(privateKeyObject, 'export')
    try {
      noiseCrypto.generateX25519KeyPair()
      noiseCrypto.generateX25519KeyPairFromSeed(randomBytes(32))
      expect(exportSpy.mock.calls.filter(([options]) => options.format === 'jwk')).toEqual([])
    } finally {
      exportSpy.mockRestore()
    }
    const dir = await mkdtemp(join(tmpdir(), 'noise-x25519-'))
    try {
      const script = join(dir, 'pairs.mts')
      const source = new URL('../../src/stream/noise-x25519.ts', import.meta.url).href
      await writeFile(script, `import { withKeptX25519Keys } from ${JSON.stringify(source)}
const crypto = withKeptX25519Keys({})
for (let i = 0; i < 50000; i++) crypto.generateX25519KeyPair()
console.log('done')
`)
      const outcome = await new Promise<{ code: number | null, signal: string | null, stdout: string }>((resolve) => {
        // a generous bound: ~7 s of work; a frozen process never ends
        const child = execFile(process.execPath, ['--import', 'tsx', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 120_000, killSignal: 'SIGKILL' }, (err, stdout) => {
          resolve({ code: child.exitCode, signal: child.signalCode ?? (err as { signal?: string } | null)?.signal ?? null, stdout })
        })
      })
      expect(outcome).toEqual({ code: 0, signal: null, stdout: 'done\n' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 150_000)

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
