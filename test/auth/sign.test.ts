import { describe, expect, it } from 'vitest'
import { dataToSign, signParts, verifyParts } from '../../src/auth/sign.js'
import { CHALLENGE_CLIENT, CLIENT_KEY, HOSTNAME, SERVER_KEY, V1 } from '../fixtures/peer-id-auth.js'
import { toBase64url } from '../../src/auth/params.js'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'

describe('V1: the spec\'s signing example', () => {
  const parts: Array<[string, string | Uint8Array]> = [['hostname', HOSTNAME], ['client-public-key', publicKeyToProtobuf(CLIENT_KEY.publicKey)], ['challenge-server', CHALLENGE_CLIENT]]

  it('the signed bytes, byte-exact (fields sorted, varint-prefixed)', () => {
    expect(Buffer.from(dataToSign(parts)).toString('hex')).toBe(V1.data)
  })

  it('the Ed25519 signature, byte-exact, and it verifies', async () => {
    const sig = await signParts(SERVER_KEY, parts)
    expect(toBase64url(sig)).toBe(V1.sig)
    expect(await verifyParts(SERVER_KEY.publicKey, parts, sig)).toBe(true)
    expect(await verifyParts(CLIENT_KEY.publicKey, parts, sig)).toBe(false)
    expect(await verifyParts(SERVER_KEY.publicKey, parts, new Uint8Array(3))).toBe(false)
  })

  it('a part of 128 bytes or more gets a two-byte varint', () => {
    const data = dataToSign([['x', 'y'.repeat(200)]])
    expect([...data.subarray(13, 15)]).toEqual([0xca, 0x01])
  })
})
