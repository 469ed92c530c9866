/**
 * The handshake state machines against the spec's vectors (byte-exact where the spec fixes the bytes),
 * round trips for every key type, and the ways a handshake must fail.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { CHALLENGE_TTL, ClientHandshake, ServerHandshake } from '../../src/auth/handshake.js'
import { formatAuthHeader, parseAuthHeader, toBase64url } from '../../src/auth/params.js'
import { PeerAuthError, PeerAuthHeaderError } from '../../src/errors.js'
import {
  CHALLENGE_CLIENT, CLIENT_KEY, CLIENT_PEER, CLIENT_PUBLIC_KEY, CLIENT_SIG, HMAC_KEY, HOSTNAME, SERVER_KEY, SERVER_PEER,
  SERVER_PUBLIC_KEY, SERVER_SIG, V2, V3, clientRandom, epoch, serverRandom
} from '../fixtures/peer-id-auth.js'
import type { ServerOutcome } from '../../src/auth/handshake.js'
import type { PrivateKey } from '@libp2p/interface'

const HOUR = 3_600_000

function specServer (now = epoch, expires = false): ServerHandshake {
  return new ServerHandshake({ privateKey: SERVER_KEY, hmacKeys: [HMAC_KEY], tokenTTL: HOUR, now, randomBytes: serverRandom, expires })
}

function specClient (): ClientHandshake {
  return new ClientHandshake({ privateKey: CLIENT_KEY, hostname: HOSTNAME, now: epoch, randomBytes: clientRandom })
}

function withoutOpaque (header: string): string {
  return header.replace(/opaque="[^"]*"/, 'opaque="…"')
}

function challengeOf (outcome: ServerOutcome): string {
  if (outcome.type !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(outcome)}`)
  return outcome.wwwAuthenticate
}

function infoOf (outcome: ServerOutcome): string {
  if (outcome.type !== 'authenticated' || outcome.authenticationInfo == null) throw new Error(`expected authentication, got ${JSON.stringify(outcome)}`)
  return outcome.authenticationInfo
}

describe('V2: the client-initiated handshake of the spec', () => {
  it('client role: every header byte-exact, the server verified', async () => {
    const client = specClient()
    expect(client.start()).toBe(V2.authorization1)
    expect(await client.respond(V2.wwwAuthenticate)).toBe(V2.authorization2)
    expect(client.serverPeer?.toString()).toBe(SERVER_PEER)
    const token = await client.finish(V2.authenticationInfo)
    expect(token.bearer).toBe(V2.bearer)
    expect(token.serverPeer.toString()).toBe(SERVER_PEER)
  })

  it('server role: the fixed parameters byte-exact; go\'s opaque and bearer accepted (same HMAC layout)', async () => {
    const server = specServer()
    const wwwAuthenticate = challengeOf(await server.respond(V2.authorization1, HOSTNAME))
    expect(withoutOpaque(wwwAuthenticate)).toBe(withoutOpaque(V2.wwwAuthenticate))
    // go's own opaque from the spec, sealed with the same zero key
    const done = await server.respond(V2.authorization2, HOSTNAME)
    expect(done.type === 'authenticated' && done.peer.toString()).toBe(CLIENT_PEER)
    expect(infoOf(done)).toMatch(/^libp2p-PeerID bearer="[A-Za-z0-9_-]+={0,2}"$/)
    // and ours: same challenge, so the spec's client signature answers it
    const ours = parseAuthHeader(wwwAuthenticate).opaque
    const again = await server.respond(formatAuthHeader([['opaque', ours], ['sig', CLIENT_SIG]]), HOSTNAME)
    expect(again.type === 'authenticated' && again.peer.toString()).toBe(CLIENT_PEER)
    const bearer = await server.respond(`libp2p-PeerID bearer="${V2.bearer}"`, HOSTNAME)
    expect(bearer.type === 'authenticated' && bearer.peer.toString()).toBe(CLIENT_PEER)
  })
})

describe('V3: the server-initiated handshake (corrected, spec-notes §4.6)', () => {
  it('client role: the answer byte-exact; the server\'s signature verified from Authentication-Info', async () => {
    const client = specClient()
    expect(await client.respond(V3.wwwAuthenticate)).toBe(V3.authorization)
    expect(client.serverPeer).toBeUndefined()
    const token = await client.finish(V3.authenticationInfo)
    expect(token.serverPeer.toString()).toBe(SERVER_PEER)
  })

  it('server role: the challenge byte-exact but for our opaque; the answer to go\'s opaque signed as the spec says', async () => {
    const server = specServer()
    expect(withoutOpaque(server.challenge(HOSTNAME))).toBe(withoutOpaque(V3.wwwAuthenticate))
    const info = infoOf(await server.respond(V3.authorization, HOSTNAME))
    expect(info.startsWith(`libp2p-PeerID sig="${SERVER_SIG}", bearer="`)).toBe(true)
  })

  it('the spec\'s stale printed signature (without server-public-key) is refused with 401', async () => {
    const outcome = await specServer().respond(V3.authorization.replace(CLIENT_SIG, V3.staleClientSig), HOSTNAME)
    expect(outcome.type).toBe('challenge')
  })

  it('emits the advisory expires: creation + tokenTTL, RFC 3339', async () => {
    const info = parseAuthHeader(infoOf(await specServer(epoch, true).respond(V3.authorization, HOSTNAME)))
    expect(info.expires).toBe('1970-01-01T01:00:00.000Z')
  })
})

async function handshake (clientKey: PrivateKey, serverKey: PrivateKey, clientInitiated: boolean): Promise<void> {
  const env = { now: Date.now, randomBytes: (n: number) => crypto.getRandomValues(new Uint8Array(n)) }
  const server = new ServerHandshake({ privateKey: serverKey, hmacKeys: [new Uint8Array(32).fill(7)], tokenTTL: HOUR, ...env })
  const client = new ClientHandshake({ privateKey: clientKey, hostname: 'a.test:8443', ...env })
  const first = clientInitiated ? await server.respond(client.start(), 'a.test:8443') : await server.respond(undefined, 'a.test:8443')
  const answer = await client.respond(challengeOf(first))
  const done = await server.respond(answer, 'a.test:8443')
  const token = await client.finish(infoOf(done))
  expect(done.type === 'authenticated' && done.peer.equals(await peerOf(clientKey))).toBe(true)
  expect(token.serverPeer.equals(await peerOf(serverKey))).toBe(true)
  const reuse = await server.respond(formatAuthHeader([['bearer', token.bearer]]), 'a.test:8443')
  expect(reuse.type).toBe('authenticated')
}

async function peerOf (key: PrivateKey): Promise<import('@libp2p/interface').PeerId> {
  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
  return peerIdFromPrivateKey(key)
}

describe('key types', () => {
  for (const type of ['Ed25519', 'secp256k1', 'RSA'] as const) {
    it(`${type}: both flows, both roles`, async () => {
      const [a, b] = await Promise.all([generateKeyPair(type as 'Ed25519'), generateKeyPair(type as 'Ed25519')])
      await handshake(a, b, true)
      await handshake(b, a, false)
    })
  }
})

describe('the server refuses', () => {
  it('a forged signature made with another key but the victim\'s public key: 401', async () => {
    const attacker = await generateKeyPair('Ed25519')
    const server = specServer()
    const forger = new ClientHandshake({ privateKey: attacker, hostname: HOSTNAME, now: epoch, randomBytes: clientRandom })
    const answer = await forger.respond(server.challenge(HOSTNAME))
    const spoofed = answer.replace(/public-key="[^"]*"/, `public-key="${CLIENT_PUBLIC_KEY}"`)
    const outcome = await server.respond(spoofed, HOSTNAME)
    expect(outcome.type).toBe('challenge')
    expect(outcome.type === 'challenge' && outcome.reason).toMatch(/does not verify/)
  })

  it('a signature over another hostname: 401', async () => {
    const server = specServer()
    const client = new ClientHandshake({ privateKey: CLIENT_KEY, hostname: 'other.example', now: epoch, randomBytes: clientRandom })
    const outcome = await server.respond(await client.respond(server.challenge(HOSTNAME)), HOSTNAME)
    expect(outcome.type === 'challenge' && outcome.reason).toMatch(/does not verify/)
  })

  it('an opaque answered after its 5 minutes: 401 with a fresh challenge', async () => {
    const late = specServer(() => CHALLENGE_TTL)
    const outcome = await late.respond(V3.authorization, HOSTNAME)
    expect(outcome.type === 'challenge' && outcome.reason).toMatch(/expired/)
    expect(await specServer(() => CHALLENGE_TTL - 1).respond(V3.authorization, HOSTNAME)).toMatchObject({ type: 'authenticated' })
  })

  it('a state issued for another hostname: 401', async () => {
    const bearer = await specServer().respond(`libp2p-PeerID bearer="${V2.bearer}"`, 'other.example')
    expect(bearer.type === 'challenge' && bearer.reason).toMatch(/token for example.com/)
    const opaque = await specServer().respond(V3.authorization, 'other.example')
    expect(opaque.type === 'challenge' && opaque.reason).toMatch(/challenge for example.com/)
  })

  it('an expired bearer token, one sealed with an unknown key, and an opaque used as a bearer: 401', async () => {
    expect(await specServer(() => HOUR).respond(`libp2p-PeerID bearer="${V2.bearer}"`, HOSTNAME)).toMatchObject({ type: 'challenge', reason: 'the token has expired' })
    const rotated = new ServerHandshake({ privateKey: SERVER_KEY, hmacKeys: [new Uint8Array(32).fill(1)], tokenTTL: HOUR, now: epoch, randomBytes: serverRandom })
    expect(await rotated.respond(`libp2p-PeerID bearer="${V2.bearer}"`, HOSTNAME)).toMatchObject({ type: 'challenge' })
    const both = new ServerHandshake({ privateKey: SERVER_KEY, hmacKeys: [new Uint8Array(32).fill(1), HMAC_KEY], tokenTTL: HOUR, now: epoch, randomBytes: serverRandom })
    expect(await both.respond(`libp2p-PeerID bearer="${V2.bearer}"`, HOSTNAME)).toMatchObject({ type: 'authenticated' })
    expect(await specServer().respond(`libp2p-PeerID bearer="${V3.opaque}"`, HOSTNAME)).toMatchObject({ type: 'challenge' })
    expect(await specServer().respond(formatAuthHeader([['opaque', V2.bearer], ['sig', CLIENT_SIG]]), HOSTNAME)).toMatchObject({ type: 'challenge' })
  })

  it('no header, or another scheme: 401 with the server-initiated challenge', async () => {
    expect(await specServer().respond(undefined, HOSTNAME)).toMatchObject({ type: 'challenge', reason: 'no Authorization header' })
    expect(await specServer().respond('Basic YTpi', HOSTNAME)).toMatchObject({ type: 'challenge' })
  })

  it('a header over 2048 bytes, garbage base64, a short challenge, junk: 400', async () => {
    const server = specServer()
    const long = formatAuthHeader([['challenge-server', 'A'.repeat(2048)], ['public-key', CLIENT_PUBLIC_KEY]])
    expect(await server.respond(long, HOSTNAME)).toMatchObject({ type: 'invalid', reason: expect.stringMatching(/2048/) })
    expect(await server.respond(V3.authorization.replace(CLIENT_SIG, 'not*base64!'), HOSTNAME)).toMatchObject({ type: 'invalid' })
    expect(await server.respond(formatAuthHeader([['challenge-server', 'A'.repeat(31)], ['public-key', CLIENT_PUBLIC_KEY]]), HOSTNAME)).toMatchObject({ type: 'invalid', reason: expect.stringMatching(/shorter than 32/) })
    expect(await server.respond(formatAuthHeader([['challenge-server', 'A'.repeat(32)], ['public-key', toBase64url(new Uint8Array([1, 2, 3]))]]), HOSTNAME)).toMatchObject({ type: 'invalid' })
    expect(await server.respond('libp2p-PeerID foo="bar"', HOSTNAME)).toMatchObject({ type: 'invalid' })
    expect(await server.respond('libp2p-PeerID bearer', HOSTNAME)).toMatchObject({ type: 'invalid' })
  })
})

describe('keys the server will not work with', () => {
  /** A libp2p protobuf public key (type, DER) from Node's crypto. */
  function libp2pKey (type: 0 | 3, der: Buffer): string {
    return toBase64url(new Uint8Array(Buffer.concat([Buffer.from([0x08, type, 0x12]), varint(der.length), der])))
  }
  function varint (n: number): Buffer {
    const out: number[] = []
    while (n > 127) { out.push((n & 127) | 128); n >>>= 7 }
    out.push(n)
    return Buffer.from(out)
  }
  const spki = (key: import('node:crypto').KeyObject): Buffer => key.export({ format: 'der', type: 'spki' })

  it('RSA with an exponent other than 65537 (slow to verify on purpose) or under 2048 bits: 400', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const slow = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10000001 }).publicKey
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey
    for (const key of [slow, small]) {
      const header = formatAuthHeader([['challenge-server', 'A'.repeat(44)], ['public-key', libp2pKey(0, spki(key))]])
      expect(await specServer().respond(header, HOSTNAME)).toMatchObject({ type: 'invalid', reason: expect.stringMatching(/RSA keys must/) })
    }
  })

  it('ECDSA (no peer id of that type): 400, not a 500', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const ecdsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey
    const header = formatAuthHeader([['challenge-server', 'A'.repeat(44)], ['public-key', libp2pKey(3, spki(ecdsa))]])
    expect(await specServer().respond(header, HOSTNAME)).toMatchObject({ type: 'invalid' })
  })

  it('RSA-3072 on both sides: the client-initiated challenge would pass 2048 bytes, so the server-initiated one is sent', async () => {
    const [serverKey, clientKey] = await Promise.all([generateKeyPair('RSA', 3072), generateKeyPair('RSA', 3072)])
    const server = new ServerHandshake({ privateKey: serverKey, hmacKeys: [HMAC_KEY], tokenTTL: HOUR, now: epoch, randomBytes: serverRandom })
    const client = new ClientHandshake({ privateKey: clientKey, hostname: HOSTNAME, now: epoch, randomBytes: clientRandom })
    const first = challengeOf(await server.respond(client.start(), HOSTNAME))
    expect(Buffer.byteLength(first)).toBeLessThanOrEqual(2048)
    expect(parseAuthHeader(first).sig).toBeUndefined()
    // and the handshake completes from there
    const done = await server.respond(await client.respond(first), HOSTNAME)
    expect((await client.finish(infoOf(done))).serverPeer.equals(await peerOf(serverKey))).toBe(true)
  })
})

describe('the client refuses', () => {
  it('a server signature that does not verify (client-initiated)', async () => {
    const client = specClient()
    client.start()
    const bad = V2.wwwAuthenticate.replace(SERVER_SIG, CLIENT_SIG)
    await expect(client.respond(bad)).rejects.toBeInstanceOf(PeerAuthError)
  })

  it('a server that answers without sig (server-initiated)', async () => {
    const client = specClient()
    await client.respond(V3.wwwAuthenticate)
    await expect(client.finish(V3.authenticationInfo.replace(/sig="[^"]*", /, ''))).rejects.toThrow(/without sig/)
  })

  it('a challenge under 32 characters, and a second challenge after its answer', async () => {
    await expect(specClient().respond(V3.wwwAuthenticate.replace(CHALLENGE_CLIENT, 'ERERERERERERERERERERERERERERERE'))).rejects.toBeInstanceOf(PeerAuthHeaderError)
    const client = specClient()
    await client.respond(V3.wwwAuthenticate)
    await expect(client.respond(V3.wwwAuthenticate)).rejects.toThrow(/challenged again/)
  })

  it('a server key that does not match its signature (the server public key swapped)', async () => {
    const client = specClient()
    client.start()
    await expect(client.respond(V2.wwwAuthenticate.replace(SERVER_PUBLIC_KEY, CLIENT_PUBLIC_KEY))).rejects.toBeInstanceOf(PeerAuthError)
  })
})
