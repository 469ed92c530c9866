/**
 * `node --import tsx bench/h2-vs-h1.ts [--requests N] [--rounds R] [--api fetch|request]`
 *
 * A minimal reproduction, no libp2phttp code: undici's client over HTTP/2 against undici's client over
 * HTTP/1.1, both to one `node:http2` secure server with `allowHTTP1` (what a native `/tls/http`
 * listener is), small GETs (28 bytes) at concurrency 1 and 32. The server runs in a child process;
 * rounds alternate the protocols, and each prints requests/s and the CPU time per request of the
 * client (this process) and of the server. It decides the native client's default protocol (issue 21,
 * docs/decisions.md). The h2 client runs 100 requests at once on one connection (undici 7 sends
 * `pipelining` requests at a time on an h2 connection, as libp2phttp sets it), the HTTP/1.1 client up to
 * 64 connections.
 */
import { fork } from 'node:child_process'
import { createSecureServer } from 'node:http2'
import { parseArgs } from 'node:util'
import { generate } from 'selfsigned'
import { Agent, fetch, request } from 'undici'
import { summarize } from './stats.js'
import type { AddressInfo } from 'node:net'

const BODY = 'hello from the bench server\n'

if (process.argv[2] === '--serve') {
  // the server process: reports its port, answers 'usage' with its CPU seconds
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
  })
  const server = createSecureServer({ key: pems.private, cert: pems.cert, allowHTTP1: true, ALPNProtocols: ['h2', 'http/1.1'], settings: { maxConcurrentStreams: 100 } }, (_req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(BODY)
  })
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port, ca: pems.cert })
  })
  process.on('message', (message: string) => {
    if (message === 'usage') {
      const cpu = process.cpuUsage()
      process.send?.({ cpu: (cpu.user + cpu.system) / 1e6 })
    } else {
      process.exit(0)
    }
  })
} else {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '5' },
      api: { type: 'string', default: 'fetch' }
    }
  })
  const requests = Number(values.requests)
  const child = fork(new URL(import.meta.url).pathname, ['--serve'], { execArgv: ['--import', 'tsx'] })
  const next = async <T>(): Promise<T> => await new Promise<T>(resolve => child.once('message', resolve as (m: unknown) => void))
  const { port, ca } = await next<{ port: number, ca: string }>()
  const serverCPU = async (): Promise<number> => { child.send('usage'); return (await next<{ cpu: number }>()).cpu }
  const origin = `https://127.0.0.1:${port}`
  const agents = {
    h1: new Agent({ connect: { ca }, connections: 64 }),
    // undici 7 runs `pipelining` requests at once on one h2 connection (its default, 1, opens a
    // connection per concurrent request)
    h2: new Agent({ connect: { ca }, allowH2: true, pipelining: 100 })
  }
  const one = async (agent: Agent): Promise<void> => {
    if (values.api === 'request') {
      const res = await request(`${origin}/small`, { dispatcher: agent })
      await res.body.text()
    } else {
      const res = await fetch(`${origin}/small`, { dispatcher: agent })
      await res.text()
    }
  }
  const run = async (agent: Agent, concurrency: number): Promise<{ rate: number, client: number, server: number }> => {
    const serverBefore = await serverCPU()
    const clientBefore = process.cpuUsage()
    const start = performance.now()
    let started = 0
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (started++ < requests) await one(agent)
    }))
    const seconds = (performance.now() - start) / 1000
    const mine = process.cpuUsage(clientBefore)
    const server = await serverCPU() - serverBefore
    return { rate: requests / seconds, client: (mine.user + mine.system) / requests, server: server * 1e6 / requests }
  }
  // warm up both (connections, JIT)
  for (const agent of Object.values(agents)) await run(agent, 32)
  console.log(`undici (${values.api}) to node:http2 allowHTTP1, small GET, ${requests} per round, medians of ${values.rounds} alternating rounds [min–max]`)
  for (const concurrency of [1, 32]) {
    const results: Record<string, Array<{ rate: number, client: number, server: number }>> = { h1: [], h2: [] }
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const name of (r % 2 === 0 ? ['h1', 'h2'] : ['h2', 'h1']) as Array<'h1' | 'h2'>) {
        results[name].push(await run(agents[name], concurrency))
      }
    }
    const show = (xs: number[], digits = 0): string => { const s = summarize(xs); return `${s.median.toFixed(digits)} [${s.min.toFixed(digits)}–${s.max.toFixed(digits)}]` }
    for (const name of ['h1', 'h2'] as const) {
      const rs = results[name]
      console.log(`  c=${concurrency} ${name === 'h1' ? 'HTTP/1.1' : 'h2      '}: ${show(rs.map(r => r.rate))} req/s, CPU per request: client ${show(rs.map(r => r.client))} µs, server ${show(rs.map(r => r.server))} µs`)
    }
    const ratio = summarize(results.h2.map(r => r.rate)).median / summarize(results.h1.map(r => r.rate)).median
    console.log(`  c=${concurrency} h2 / HTTP/1.1 req/s: ${ratio.toFixed(2)}`)
  }
  await Promise.all(Object.values(agents).map(async agent => { await agent.close() }))
  child.send('stop')
}
