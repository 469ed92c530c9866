/**
 * The guard on a plain `http.Server` (loopback): without TLS an allow-list of host names is required.
 */
import { createServer, get } from 'node:http'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { hostName, withPeerIdAuth } from '../../src/auth/server.js'
import { InvalidAuthOptionsError } from '../../src/errors.js'
import type { AuthServerOptions } from '../../src/auth/server.js'
import type { Server } from 'node:http'

let server: Server | undefined
afterEach(async () => { await new Promise(resolve => server?.close(resolve) ?? resolve(undefined)) })

async function listen (init: Omit<AuthServerOptions, 'privateKey'>): Promise<string> {
  const privateKey = await generateKeyPair('Ed25519')
  server = createServer(withPeerIdAuth((_req, res) => { res.end('served') }, { privateKey, ...init }))
  await new Promise<void>(resolve => server?.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/`
}

describe('withPeerIdAuth without TLS', () => {
  it('refuses every request (400) without an allow-list', async () => {
    const res = await fetch(await listen({}))
    expect(res.status).toBe(400)
    expect(await res.text()).toMatch(/allow-list/)
  })

  it('challenges (401) for an allowed name, refuses (400) another', async () => {
    const url = await listen({ hostnames: ['127.0.0.1'] })
    const res = await fetch(url)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(/^libp2p-PeerID challenge-client="/)
    expect(res.headers.get('access-control-expose-headers')).toMatch(/WWW-Authenticate/)
    // fetch cannot set Host; node:http can
    const status = await new Promise<number | undefined>((resolve, reject) => {
      get(url, { headers: { host: 'evil.test' }, timeout: 5000 }, (r) => { r.resume(); resolve(r.statusCode) }).on('error', reject)
    })
    expect(status).toBe(400)
  })

  it('bad options are refused when the guard is made', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    expect(() => withPeerIdAuth(() => {}, { privateKey, hmacKey: new Uint8Array(4) })).toThrow(InvalidAuthOptionsError)
    expect(() => withPeerIdAuth(() => {}, { privateKey, tokenTTL: 'later' })).toThrow(InvalidAuthOptionsError)
  })
})

describe('hostName', () => {
  it('the name of a Host value, lowercased, without port', () => {
    expect(hostName('Example.COM:8443')).toBe('example.com')
    expect(hostName('example.com')).toBe('example.com')
    expect(hostName('[::1]:443')).toBe('::1')
  })
})
