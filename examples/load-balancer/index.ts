/**
 * Scale out behind an ordinary load balancer: nginx terminates TLS for one name and balances across two
 * libp2phttp replicas on loopback. The replicas are one service: the same identity key (one peer id),
 * the same `hmacKey` (a bearer token sealed by one opens on the other), the same host names. A client
 * authenticates with Peer ID Authentication through nginx and sees one server peer id, whichever
 * replica answers; when a replica stops, nginx sends the requests to the other.
 *
 * Needs nginx (Debian: `apt-get install nginx-light`); nginx is started here on 127.0.0.1 with the
 * config `nginx.conf` next to this file, filled in, in a temporary directory (no system service).
 *
 * Run: node --import tsx examples/load-balancer/index.ts
 */
import '../polyfill.js'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generate } from 'selfsigned'
import { authenticationOf, createHTTPHost, remotePeer, serverPeer } from '../../src/index.js'
import type { HTTPHost } from '../../src/index.js'
import type { PrivateKey } from '@libp2p/interface'
import type { ChildProcess } from 'node:child_process'
import type { AddressInfo } from 'node:net'

const here = dirname(fileURLToPath(import.meta.url))

/** The nginx executable: `$NGINX`, else `nginx` on the PATH or in /usr/sbin; `undefined` when there is none. */
export function findNginx (): string | undefined {
  for (const candidate of [process.env.NGINX, 'nginx', '/usr/sbin/nginx', '/usr/local/sbin/nginx']) {
    if (candidate == null || candidate === '') continue
    const probe = spawnSync(candidate, ['-v'], { stdio: 'ignore' })
    if (probe.error == null && probe.status === 0) return candidate
  }
  return undefined
}

/** What every replica of one service shares. */
export interface ServiceIdentity {
  /** One identity key: clients see one peer id, whichever replica answers. */
  privateKey: PrivateKey
  /** One token key: a bearer token sealed by one replica is opened by the others. */
  hmacKey: Uint8Array
  /** The names clients reach the service by (the certificate's, and what Peer ID Authentication signs). */
  hostnames: string[]
  /** The certificate and key for those names (nginx's, and the replicas' own for nginx's connections). */
  tls: { key: string, cert: string }
}

/** A replica: a libp2phttp host on loopback that answers with its name and the client it authenticated. */
export async function startReplica (name: string, service: ServiceIdentity): Promise<{ host: HTTPHost, addr: string }> {
  const host = await createHTTPHost({
    listen: ['/ip4/127.0.0.1/tcp/0/tls/http'],
    tls: service.tls,
    auth: { privateKey: service.privateKey, server: { hmacKey: service.hmacKey, hostnames: service.hostnames } }
  })
  host.serve((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ replica: name, client: remotePeer(req)?.toString() ?? null, how: authenticationOf(req) ?? null }))
  })
  const port = host.addrs()[0].getComponents().find(c => c.name === 'tcp')?.value
  return { host, addr: `127.0.0.1:${port ?? ''}` }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

/** Resolves once something accepts connections on 127.0.0.1:`port`, or rejects after `timeout` ms. */
async function listening (port: number, nginx: ChildProcess, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout
  for (;;) {
    if (nginx.exitCode != null) throw new Error(`nginx exited (${nginx.exitCode})`)
    const up = await new Promise<boolean>((resolve) => {
      const socket = netConnect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { resolve(false) })
    })
    if (up) return
    if (Date.now() > deadline) throw new Error(`nginx did not listen on 127.0.0.1:${port} within ${timeout} ms`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** nginx in front of the replicas, started with `nginx.conf` filled in. */
export interface LoadBalancer {
  /** `https://<name>:<port>`, what clients fetch. */
  url: string
  /** The lines of nginx's access log: `<replica address> <status> "<Authorization>"`. */
  accessLog: () => Promise<string[]>
  stop: () => Promise<void>
}

/** Start nginx on 127.0.0.1 balancing across `replicas` (`127.0.0.1:<port>` each) for `service`. */
export async function startNginx (nginxPath: string, service: ServiceIdentity, replicas: [string, string], options: { edit?: (config: string) => string } = {}): Promise<LoadBalancer> {
  const dir = await mkdtemp(join(tmpdir(), 'libp2phttp-nginx-'))
  // nginx's workers run as an unprivileged user when nginx is started as root: they must reach the directory
  await chmod(dir, 0o755)
  const port = await freePort()
  await writeFile(join(dir, 'cert.pem'), service.tls.cert)
  await writeFile(join(dir, 'key.pem'), service.tls.key, { mode: 0o600 })
  const values: Record<string, string> = {
    DIR: dir,
    LISTEN: `127.0.0.1:${port}`,
    NAME: service.hostnames[0],
    CERT: join(dir, 'cert.pem'),
    KEY: join(dir, 'key.pem'),
    REPLICA_A: replicas[0],
    REPLICA_B: replicas[1]
  }
  const template = (options.edit ?? (c => c))(await readFile(join(here, 'nginx.conf'), 'utf8'))
  await writeFile(join(dir, 'nginx.conf'), template.replace(/@([A-Z_]+)@/g, (_m, key: string) => values[key] ?? `@${key}@`))
  // in the foreground, with its pid file and error log here: no system service, nothing outside `dir`
  const nginx = spawn(nginxPath, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  nginx.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<void>(resolve => { nginx.once('exit', () => { resolve() }) })
  const stop = async (): Promise<void> => {
    if (nginx.exitCode == null && nginx.signalCode == null) {
      nginx.kill('SIGTERM')
      await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 5000))])
      if (nginx.exitCode == null && nginx.signalCode == null) nginx.kill('SIGKILL')
    }
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await listening(port, nginx)
  } catch (err) {
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')
    await stop()
    throw new Error(`${(err as Error).message}: ${stderr}${log}`)
  }
  return {
    url: `https://${service.hostnames[0]}:${port}`,
    accessLog: async () => (await readFile(join(dir, 'access.log'), 'utf8').catch(() => '')).split('\n').filter(line => line !== ''),
    stop
  }
}

/** A service identity made here: a new key, a new token key, a self-signed certificate for `localhost`. */
export async function exampleService (): Promise<ServiceIdentity> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }]
  })
  return {
    privateKey: await generateKeyPair('Ed25519'),
    hmacKey: new Uint8Array(randomBytes(32)),
    hostnames: ['localhost'],
    tls: { key: pems.private, cert: pems.cert }
  }
}

export async function main (log: (line: string) => void = console.log, nginxPath = findNginx()): Promise<void> {
  if (nginxPath == null) throw new Error('nginx is not installed (Debian: apt-get install nginx-light), or set NGINX to its path')
  const service = await exampleService()
  const a = await startReplica('a', service)
  const b = await startReplica('b', service)
  const lb = await startNginx(nginxPath, service, [a.addr, b.addr])
  const client = await createHTTPHost({ auth: { privateKey: await generateKeyPair('Ed25519') }, clientTLS: { ca: service.tls.cert } })
  try {
    log(`service ${peerIdFromPrivateKey(service.privateKey).toString()} behind nginx at ${lb.url} (replicas ${a.addr}, ${b.addr})`)
    const ask = async (): Promise<string> => {
      const res = await client.fetch(`${lb.url}/`, { auth: true })
      const body = await res.json() as { replica: string, how: string }
      return `  ${res.status} from replica ${body.replica} (${body.how}), server ${serverPeer(res)?.toString() ?? 'unproven'}`
    }
    for (let i = 0; i < 4; i++) log(await ask())
    await a.host.close()
    log('replica a stopped')
    for (let i = 0; i < 2; i++) log(await ask())
  } finally {
    await client.close()
    await lb.stop()
    await a.host.close()
    await b.host.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
