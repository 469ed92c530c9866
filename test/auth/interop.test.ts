/**
 * Interop with @libp2p/http-peer-id-auth (what @libp2p/http uses), both roles, both flows: header
 * strings passed between the two implementations as they would travel.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ClientInitiatedHandshake, ServerInitiatedHandshake, createServerChallenge, serverResponds } from '@libp2p/http-peer-id-auth'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import { ClientHandshake, ServerHandshake } from '../../src/auth/handshake.js'
import type { ServerOutcome } from '../../src/auth/handshake.js'
import type { PrivateKey } from '@libp2p/interface'

const HOST = 'example.test:8443'
const env = { now: Date.now, randomBytes: (n: number) => crypto.getRandomValues(new Uint8Array(n)) }
let clientKey: PrivateKey
let serverKey: PrivateKey

beforeAll(async () => {
  [clientKey, serverKey] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
})

function ours (): ServerHandshake {
  return new ServerHandshake({ privateKey: serverKey, hmacKeys: [new Uint8Array(32).fill(9)], tokenTTL: 60_000, ...env })
}

function expectAuthenticated (outcome: ServerOutcome): string {
  if (outcome.type !== 'authenticated') throw new Error(`not authenticated: ${JSON.stringify(outcome)}`)
  expect(outcome.peer.equals(peerIdFromPrivateKey(clientKey))).toBe(true)
  return outcome.authenticationInfo ?? ''
}

describe('their client, our server', () => {
  it('client-initiated', async () => {
    const server = ours()
    const client = new ClientInitiatedHandshake(clientKey, HOST)
    const challenge = await server.respond(client.getChallenge(), HOST)
    if (challenge.type !== 'challenge') throw new Error('no challenge')
    const answer = await client.verifyServer(challenge.wwwAuthenticate)
    expect(client.serverId?.equals(peerIdFromPrivateKey(serverKey))).toBe(true)
    // their client hands back the whole Authorization value to send from now on
    const authorization = client.decodeBearerToken(expectAuthenticated(await server.respond(answer, HOST)))
    expectAuthenticated(await server.respond(authorization, HOST))
  })

  it('server-initiated (their client verifies our Authentication-Info sig)', async () => {
    const server = ours()
    const client = new ServerInitiatedHandshake(clientKey, HOST)
    const answer = await client.answerServerChallenge(server.challenge(HOST))
    const authorization = await client.decodeBearerToken(expectAuthenticated(await server.respond(answer, HOST)))
    expect(client.serverId?.equals(peerIdFromPrivateKey(serverKey))).toBe(true)
    expectAuthenticated(await server.respond(authorization, HOST))
  })
})

describe('our client, their server', () => {
  it('client-initiated', async () => {
    const client = new ClientHandshake({ privateKey: clientKey, hostname: HOST, ...env })
    const first = await serverResponds(client.start(), HOST, serverKey)
    expect(first.authenticate).toBeDefined()
    const answer = await client.respond(first.authenticate ?? '')
    const done = await serverResponds(answer, HOST, serverKey)
    expect(done.peerId.equals(peerIdFromPrivateKey(clientKey))).toBe(true)
    const token = await client.finish(done.info ?? '')
    expect(token.serverPeer.equals(peerIdFromPrivateKey(serverKey))).toBe(true)
    const again = await serverResponds(`libp2p-PeerID bearer="${token.bearer}"`, HOST, serverKey)
    expect(again.peerId.equals(peerIdFromPrivateKey(clientKey))).toBe(true)
  })

  it('server-initiated', async () => {
    const client = new ClientHandshake({ privateKey: clientKey, hostname: HOST, ...env })
    const answer = await client.respond(await createServerChallenge(HOST, serverKey))
    const done = await serverResponds(answer, HOST, serverKey)
    const token = await client.finish(done.info ?? '')
    expect(token.serverPeer.equals(peerIdFromPrivateKey(serverKey))).toBe(true)
  })
})
