/**
 * `node --import tsx bench/native-server.ts [REQUESTS] [CONCURRENCY]`
 *
 * The server's CPU per small request (`GET /small` of `bench/handlers.ts`) for three servers, each in a
 * process of its own, one undici HTTP/1.1 client (this process) alternating between them in rounds:
 * `https.Server` (the node:https contender), `node:http2`'s `createSecureServer({ allowHTTP1: true })`
 * (what a `/tls/http` listener is built on) and a host's `/tls/http` listener (the pipeline on top).
 * It separates Node's cost from ours (issue 21).
 */
import '../examples/polyfill.js'
import './production.js'
import { fork } from 'node:child_process'
import { Agent, fetch } from 'undici'
import { summarize } from './stats.js'
import type { AddressInfo } from 'node:net'

const SERVERS = ['https.Server', 'http2 allowHTTP1', 'host /tls/http'] as const
type Kind = typeof SERVERS[number]

/** Serve `kind` in this process; resolves with its origin and the certificate to trust. */
async function serve (kind: Kind): Promise<{ origin: string, ca: string }> {
  const { generate } = await import('selfsigned')
  const { nodeHandler } = await import('./handlers.js')
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
  })
  const tls = { key: pems.private, cert: pems.cert }
  if (kind === 'host /tls/http') {
    const { createHTTPHost } = await import('../src/index.js')
    const host = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls, ping: false })
    host.serve(nodeHandler)
    const port = host.addrs()[0].getComponents().find(c => c.name === 'tcp')?.value
    return { origin: `https://127.0.0.1:${port ?? ''}`, ca: pems.cert }
  }
  const server = kind === 'https.Server'
    ? (await import('node:https')).createServer(tls, (req, res) => { void nodeHandler(req, res) })
    // as the listener builds it (noDelay: see docs/decisions.md, issue 21)
    : (await import('node:http2')).createSecureServer({ ...tls, allowHTTP1: true, noDelay: true }, (req, res) => { void nodeHandler(req as never, res as never) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ca: pems.cert }
}

if (process.argv[2] === '--serve') {
  // a server process: reports its origin, answers each message with its CPU time (µs)
  process.send?.(await serve(process.argv[3] as Kind))
  process.on('message', () => {
    const cpu = process.cpuUsage()
    process.send?.({ cpu: cpu.user + cpu.system })
  })
} else {
  const requests = Number(process.argv[2] ?? 2000)
  const concurrency = Number(process.argv[3] ?? 1)
  const servers = await Promise.all(SERVERS.map(async kind => {
    const child = fork(new URL(import.meta.url).pathname, ['--serve', kind], { execArgv: ['--import', 'tsx'] })
    const next = async <T>(): Promise<T> => await new Promise<T>(resolve => child.once('message', resolve as (m: unknown) => void))
    const { origin, ca } = await next<{ origin: string, ca: string }>()
    const cpu = async (): Promise<number> => { child.send('usage'); return (await next<{ cpu: number }>()).cpu }
    return { kind, origin, agent: new Agent({ connect: { ca }, connections: 64 }), cpu, child }
  }))
  const results = new Map<Kind, { server: number[], client: number[], rate: number[] }>(SERVERS.map(kind => [kind, { server: [], client: [], rate: [] }]))
  // the first round warms up (connections, JIT) and is not counted
  for (let round = 0; round < 7; round++) {
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      const serverBefore = await server.cpu()
      const clientBefore = process.cpuUsage()
      const start = performance.now()
      let started = 0
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (started++ < requests) await (await fetch(`${server.origin}/small`, { dispatcher: server.agent })).text()
      }))
      const ms = performance.now() - start
      const client = process.cpuUsage(clientBefore)
      const serverCPU = await server.cpu() - serverBefore
      if (round === 0) continue
      const r = results.get(server.kind)
      r?.server.push(serverCPU / requests)
      r?.client.push((client.user + client.system) / requests)
      r?.rate.push(requests / ms * 1000)
    }
  }
  const show = (xs: number[]): string => { const s = summarize(xs); return `${s.median.toFixed(0)} [${s.min.toFixed(0)}–${s.max.toFixed(0)}]` }
  for (const [kind, r] of results) {
    console.log(`c=${concurrency} ${kind.padEnd(16)} server ${show(r.server)} µs per request, client ${show(r.client)} µs, ${show(r.rate)} req/s`)
  }
  for (const server of servers) {
    await server.agent.close()
    server.child.kill()
  }
}
