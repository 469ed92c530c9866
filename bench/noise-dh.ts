/**
 * What a noise handshake's X25519 costs with `@chainsafe/libp2p-noise`'s own crypto, and with it wrapped
 * in libp2phttp's `withKeptX25519Keys` (`src/stream/noise-x25519.ts`, which the command's node uses):
 * one Diffie-Hellman and one ephemeral key pair (µs, this process), then a whole connection (TCP, noise,
 * yamux; both ends in this process) dialled and closed, CPU per connection, the two node set-ups
 * alternating in rounds (medians).
 *
 * `node --import tsx bench/noise-dh.ts [connections=200] [rounds=4]`
 */
import '../examples/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { withKeptX25519Keys } from '../src/index.js'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'

const connections = Number(process.argv[2] ?? 200)
const rounds = Number(process.argv[3] ?? 4)
const cryptos: Record<string, ICryptoInterface> = { 'noise defaultCrypto': defaultCrypto, 'withKeptX25519Keys(defaultCrypto)': withKeptX25519Keys(defaultCrypto) }

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

for (const [name, crypto] of Object.entries(cryptos)) {
  const mine = crypto.generateX25519KeyPair()
  const theirs = crypto.generateX25519KeyPair()
  for (let i = 0; i < 200; i++) crypto.generateX25519SharedKey(mine.privateKey, theirs.publicKey)
  const n = 2000
  const start = process.cpuUsage()
  for (let i = 0; i < n; i++) crypto.generateX25519SharedKey(mine.privateKey, theirs.publicKey)
  const used = process.cpuUsage(start)
  const keys = process.cpuUsage()
  for (let i = 0; i < n; i++) crypto.generateX25519KeyPair()
  const keyUsed = process.cpuUsage(keys)
  console.log(`${name}: DH ${((used.user + used.system) / n).toFixed(1)} µs, ephemeral key pair ${((keyUsed.user + keyUsed.system) / n).toFixed(1)} µs`)
}

const node = async (crypto: ICryptoInterface): Promise<Awaited<ReturnType<typeof createLibp2p>>> => await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise({ crypto })],
  streamMuxers: [yamux()],
  // libp2p resets inbound connections past 5 per second from one address by default
  connectionManager: { inboundConnectionThreshold: Infinity }
})
const pairs = await Promise.all(Object.entries(cryptos).map(async ([name, crypto]) => ({ name, server: await node(crypto), client: await node(crypto) })))
const samples = new Map<string, number[]>(pairs.map(p => [p.name, []]))
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < pairs.length; i++) {
    const { name, server, client } = pairs[(i + r) % pairs.length]
    const addr = server.getMultiaddrs()[0]
    const start = process.cpuUsage()
    for (let c = 0; c < connections; c++) {
      const connection = await client.dial(addr)
      await connection.close()
    }
    const used = process.cpuUsage(start)
    samples.get(name)?.push((used.user + used.system) / connections)
  }
}
for (const [name, values] of samples) {
  console.log(`${name}: CPU per connection (both ends) median ${(median(values) / 1000).toFixed(2)} ms [${values.map(v => (v / 1000).toFixed(2)).join(', ')}]`)
}
for (const { server, client } of pairs) {
  await client.stop()
  await server.stop()
}
