import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { identityKey } from '../../src/auth/identity-key.js'
import { InvalidAuthOptionsError } from '../../src/errors.js'
import { hostNodeOfLibp2p } from '../../src/node.js'
import { createNode } from '../helpers/nodes.js'
import type { Libp2p } from '@libp2p/interface'

let node: Libp2p
beforeAll(async () => { node = await createNode() })
afterAll(async () => { await node.stop() })

describe('identityKey', () => {
  it('takes the node\'s own key, the key of its peer id (createHTTPHost finds it on a js-libp2p 3 node)', () => {
    const key = identityKey(hostNodeOfLibp2p(node), undefined)
    expect(key != null && peerIdFromPrivateKey(key).equals(node.peerId)).toBe(true)
  })

  it('an explicit key wins, but must be the node\'s; none at all is fine unless auth.server is set', async () => {
    const other = await generateKeyPair('Ed25519')
    expect(identityKey(undefined, { privateKey: other })).toBe(other)
    expect(() => identityKey(hostNodeOfLibp2p(node), { privateKey: other })).toThrow(InvalidAuthOptionsError)
    expect(identityKey(undefined, undefined)).toBeUndefined()
    expect(() => identityKey(undefined, { server: {} })).toThrow(InvalidAuthOptionsError)
  })
})
