/**
 * What Peer ID Authentication costs. Run: `node --import tsx bench/auth-handshake.ts`
 *
 * 1. The pure handshake (client-initiated, both roles, no I/O) per key type.
 * 2. Over loopback HTTPS: a first request with the handshake vs a first request without auth (each on a
 *    new client, so both pay the TLS connection), and later requests with a token vs without auth.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ClientHandshake, ServerHandshake } from '../src/auth/handshake.js'
import { createHTTPHost } from '../src/index.js'
import { testCertificate } from '../test/helpers/tls.js'
import type { PrivateKey } from '@libp2p/interface'

const env = { now: Date.now, randomBytes: (n: number) => crypto.getRandomValues(new Uint8Array(n)) }

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

async function pure (type: 'Ed25519' | 'secp256k1' | 'RSA', rounds: number): Promise<void> {
  const [clientKey, serverKey]: PrivateKey[] = await Promise.all([generateKeyPair(type as 'Ed25519'), generateKeyPair(type as 'Ed25519')])
  const server = new ServerHandshake({ privateKey: serverKey, hmacKeys: [new Uint8Array(32)], tokenTTL: 60_000, ...env })
  const start = performance.now()
  for (let i = 0; i < rounds; i++) {
    const client = new ClientHandshake({ privateKey: clientKey, hostname: 'example.com', ...env })
    const first = await server.respond(client.start(), 'example.com')
    if (first.type !== 'challenge') throw new Error('no challenge')
    const done = await server.respond(await client.respond(first.wwwAuthenticate), 'example.com')
    if (done.type !== 'authenticated') throw new Error('not authenticated')
    await client.finish(done.authenticationInfo ?? '')
  }
  const ms = (performance.now() - start) / rounds
  console.log(`pure handshake ${type.padEnd(9)}: ${ms.toFixed(3)} ms per handshake (2 signatures, 2 verifications), ${rounds} rounds`)
}

async function native (rounds: number): Promise<void> {
  const cert = await testCertificate()
  const serverKey = await generateKeyPair('Ed25519')
  const id = peerIdFromPrivateKey(serverKey).toString()
  const authed = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert, auth: { privateKey: serverKey, server: { hostnames: ['127.0.0.1'] } } })
  const open = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert })
  for (const host of [authed, open]) host.serve((_req, res) => { res.end('ok') })
  const authedAddr = `multiaddr:${authed.addrs()[0].toString()}/p2p/${id}`
  const openAddr = `multiaddr:${open.addrs()[0].toString()}`
  const firsts = { auth: [] as number[], plain: [] as number[] }
  for (let i = 0; i < rounds; i++) {
    for (const [kind, target] of [['auth', authedAddr], ['plain', openAddr]] as const) {
      const client = await createHTTPHost({ clientTLS: { ca: cert.cert }, auth: { privateKey: await generateKeyPair('Ed25519') } })
      const t0 = performance.now()
      await (await client.fetch(target)).text()
      firsts[kind].push(performance.now() - t0)
      await client.close()
    }
  }
  const client = await createHTTPHost({ clientTLS: { ca: cert.cert }, auth: { privateKey: await generateKeyPair('Ed25519') } })
  const later = { auth: [] as number[], plain: [] as number[] }
  for (const [kind, target] of [['auth', authedAddr], ['plain', openAddr]] as const) {
    await (await client.fetch(target)).text()
    for (let i = 0; i < rounds * 5; i++) {
      const t0 = performance.now()
      await (await client.fetch(target)).text()
      later[kind].push(performance.now() - t0)
    }
  }
  console.log(`native first request, new client (TLS connect included): auth ${median(firsts.auth).toFixed(2)} ms, no auth ${median(firsts.plain).toFixed(2)} ms (median of ${rounds})`)
  console.log(`native later requests, kept-alive: with token ${median(later.auth).toFixed(3)} ms, no auth ${median(later.plain).toFixed(3)} ms (median of ${rounds * 5})`)
  await Promise.all([client.close(), authed.close(), open.close()])
}

await pure('Ed25519', 500)
await pure('secp256k1', 200)
await pure('RSA', 50)
await native(40)
