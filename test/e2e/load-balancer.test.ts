/**
 * Scale out behind a real nginx (Debian's package; started here on 127.0.0.1 with the config of
 * examples/load-balancer, no system service): TLS ends at nginx for one name, two libp2phttp replicas
 * share the service key, the `hmacKey` and the host names. A client authenticates with Peer ID
 * Authentication through nginx, sees one server peer id, and its one bearer token is accepted by both
 * replicas; requests keep flowing when a replica stops. Without nginx the suite is skipped (with the
 * reason printed), except under CI=true, where it must run.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exampleService, findNginx, main, startNginx, startReplica } from '../../examples/load-balancer/index.js'
import { createHTTPHost, serverPeer } from '../../src/index.js'
import type { LoadBalancer, ServiceIdentity } from '../../examples/load-balancer/index.js'
import type { HTTPHost } from '../../src/index.js'

const nginx = findNginx()
const ci = process.env.CI === 'true'
if (nginx == null && !ci) console.warn('test/e2e/load-balancer.test.ts skipped: nginx is not installed (apt-get install nginx-light; .ci/run installs it)')

interface Answer { replica: string, client: string | null, how: string | null }

describe.skipIf(nginx == null && !ci)('behind nginx', () => {
  let service: ServiceIdentity
  let a: Awaited<ReturnType<typeof startReplica>>
  let b: Awaited<ReturnType<typeof startReplica>>
  let lb: LoadBalancer
  let client: HTTPHost
  let clientId: string
  let other: import('@libp2p/interface').PrivateKey

  beforeAll(async () => {
    if (nginx == null) throw new Error('CI=true: nginx must be installed (.ci/run installs nginx-light)')
    service = await exampleService()
    other = await generateKeyPair('Ed25519')
    a = await startReplica('a', service)
    b = await startReplica('b', service)
    lb = await startNginx(nginx, service, [a.addr, b.addr])
    const key = await generateKeyPair('Ed25519')
    clientId = peerIdFromPrivateKey(key).toString()
    client = await createHTTPHost({ auth: { privateKey: key }, clientTLS: { ca: service.tls.cert } })
  })
  afterAll(async () => {
    await client?.close()
    await lb?.stop()
    await a?.host.close()
    await b?.host.close()
  })

  it('one peer id, one bearer token accepted by both replicas, and requests go on when one stops', async () => {
    const serviceId = peerIdFromPrivateKey(service.privateKey).toString()
    const ask = async (): Promise<Answer> => {
      const res = await client.fetch(`${lb.url}/`, { auth: true })
      expect(res.status).toBe(200)
      expect(serverPeer(res)?.toString()).toBe(serviceId)
      return await res.json() as Answer
    }
    const answers: Answer[] = []
    for (let i = 0; i < 6; i++) answers.push(await ask())
    // the client is authenticated on every request, by whichever replica took it
    expect(answers.every(x => x.client === clientId)).toBe(true)
    // one handshake (its two steps may land on different replicas: the opaque state is sealed with the
    // shared hmacKey), then the token
    expect(answers.filter(x => x.how === 'peer-id-auth')).toHaveLength(1)
    const byToken = answers.filter(x => x.how === 'peer-id-auth-token')
    expect(new Set(byToken.map(x => x.replica))).toEqual(new Set(['a', 'b']))

    // nginx's log: both replicas were shown the same bearer token
    const bearers = (await lb.accessLog()).map(line => /^(\S+) 200 "libp2p-PeerID bearer="?([^",\s]+)/.exec(line)).filter(m => m != null)
    expect(new Set(bearers.map(m => m[1])).size).toBe(2)
    expect(new Set(bearers.map(m => m[2])).size).toBe(1)

    await a.host.close()
    const after: Answer[] = []
    for (let i = 0; i < 4; i++) after.push(await ask())
    expect(after.map(x => [x.replica, x.how])).toEqual(Array.from({ length: 4 }, () => ['b', 'peer-id-auth-token']))
  })

  // what each side must share or pass, shown by leaving one out: every authenticated request fails
  it.each([
    { without: 'nginx passing the client\'s Host (it sends the upstream name, which the replicas do not sign for)', edit: (c: string) => c.replace('proxy_set_header Host $http_host;', ''), code: 'ERR_PEER_AUTH_UNSUPPORTED', replicaB: (s: ServiceIdentity) => s },
    { without: 'a shared hmacKey (the handshake\'s second step lands on the other replica)', edit: (c: string) => c, code: 'ERR_PEER_AUTH_FAILED', replicaB: (s: ServiceIdentity) => ({ ...s, hmacKey: new Uint8Array(32).fill(7) }) },
    { without: 'a shared identity key', edit: (c: string) => c, code: 'ERR_PEER_AUTH_FAILED', replicaB: (s: ServiceIdentity) => ({ ...s, privateKey: other }) }
  ])('without $without, authentication fails ($code)', async ({ edit, code, replicaB }) => {
    const own = await exampleService()
    const ra = await startReplica('a', own)
    const rb = await startReplica('b', replicaB(own))
    const bad = await startNginx(nginx as string, own, [ra.addr, rb.addr], { edit })
    const c = await createHTTPHost({ auth: { privateKey: await generateKeyPair('Ed25519') }, clientTLS: { ca: own.tls.cert } })
    try {
      for (let i = 0; i < 2; i++) {
        await expect(c.fetch(`${bad.url}/`, { auth: true })).rejects.toMatchObject({ code })
      }
    } finally {
      await c.close()
      await bad.stop()
      await ra.host.close()
      await rb.host.close()
    }
  })

  it('the example runs', async () => {
    const lines: string[] = []
    await main(line => lines.push(line), nginx)
    const id = /^service (12D3\w+) behind nginx at https:\/\/localhost:\d+ \(replicas 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+\)$/.exec(lines[0])?.[1]
    expect(id).toBeDefined()
    expect(lines.slice(1, 5).every(line => line.startsWith('  200 from replica ') && line.endsWith(`, server ${id ?? ''}`))).toBe(true)
    expect(lines[5]).toBe('replica a stopped')
    expect(lines.slice(6)).toEqual(Array.from({ length: 2 }, () => `  200 from replica b (peer-id-auth-token), server ${id ?? ''}`))
  })
})
