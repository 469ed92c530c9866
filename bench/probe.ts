/**
 * `npm run bench:probe -- <contender> [--op small|down|up] [--requests N] [--concurrency C]
 * [--size BYTES] [--repeats R] [--negotiation optimistic|full] [--http2] [--cpu-prof DIR]`
 * (`--http2`: libp2phttp-native's client offers h2, to compare with HTTP/1.1, its default)
 *
 * One contender, one operation, measured the way an optimisation is judged: the rate and the CPU time
 * per operation of the client (this process) and of the server (its own process). CPU per operation
 * varies less with the machine's load than the rate does, so an A/B of a change (run, switch branch,
 * run) shows effects of a few per cent. `--cpu-prof DIR` writes V8 CPU profiles of both processes,
 * limited to the measured operations.
 */
import '../examples/polyfill.js'
import './production.js'
import { mkdir, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CONTENDERS, connect } from './contenders.js'
import { startServer } from './run.js'
import { smallGets } from './scenarios.js'
import type { Client, Contender } from './contenders.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    op: { type: 'string', default: 'small' },
    requests: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '1' },
    size: { type: 'string', default: String(64 * 2 ** 20) },
    repeats: { type: 'string', default: '3' },
    negotiation: { type: 'string' },
    http2: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' }
  }
})

const contender = positionals[0] as Contender
if (!CONTENDERS.includes(contender)) {
  throw new Error(`usage: npm run bench:probe -- <${CONTENDERS.join('|')}> [options]`)
}
const op = values.op as 'small' | 'down' | 'up'
const size = Number(values.size)
// bulk operations default to a handful of transfers, small ones to thousands of requests
const count = op === 'small' ? Number(values.requests) : Math.min(Number(values.requests), 5)
// transfers run one after another; concurrency applies to small requests
const concurrency = Number(values.concurrency)

async function run (client: Client): Promise<void> {
  if (op === 'small') {
    await smallGets(client, count, concurrency)
    return
  }
  for (let i = 0; i < count; i++) {
    if (op === 'down') await client.download(size)
    else await client.upload(size)
  }
}

const server = await startServer(contender)
const client = await connect(contender, server.addr, server.ca, { streamNegotiation: values.negotiation as 'optimistic' | 'full' | undefined, http2: values.http2 ? true : undefined })
const session = new Session()
try {
  // warm up (connections, JIT): a steady state is what a change is judged on
  for (let i = 0; i < Math.min(count, 1000); i++) await client.small()
  if (op !== 'small') await run(client)
  if (values['cpu-prof'] != null) {
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
    await server.probe.profile('start')
  }
  const unit = op === 'small' ? 'req/s' : 'MB/s'
  console.log(`${contender} ${op}${op === 'small' ? ` c=${concurrency}` : ` ${size} bytes`}, ${count} per repeat`)
  for (let r = 0; r < Number(values.repeats); r++) {
    const serverBefore = (await server.probe.usage()).cpu
    const clientBefore = process.cpuUsage()
    const childBefore = await client.cpu?.() ?? 0
    const start = performance.now()
    await run(client)
    const seconds = (performance.now() - start) / 1000
    const mine = process.cpuUsage(clientBefore)
    // a client in a process of its own (libp2p-http): that process's CPU
    const used = client.cpu == null ? mine : { user: (await client.cpu() - childBefore) * 1e6, system: 0 }
    const serverCPU = (await server.probe.usage()).cpu - serverBefore
    const rate = op === 'small' ? count / seconds : count * size / 1e6 / seconds
    const perOp = (s: number): string => `${(s * 1e6 / count).toFixed(0)} µs`
    console.log(`  ${rate.toFixed(0)} ${unit}   CPU per ${op === 'small' ? 'request' : 'transfer'}: client ${perOp((used.user + used.system) / 1e6)}, server ${perOp(serverCPU)}`)
  }
  if (values['cpu-prof'] != null) {
    const { profile } = await session.post('Profiler.stop')
    await mkdir(values['cpu-prof'], { recursive: true })
    await writeFile(join(values['cpu-prof'], 'client.cpuprofile'), JSON.stringify(profile))
    await server.probe.profile({ file: join(values['cpu-prof'], 'server.cpuprofile') })
    console.log(`CPU profiles: ${join(values['cpu-prof'], 'client.cpuprofile')}, ${join(values['cpu-prof'], 'server.cpuprofile')}`)
  }
} finally {
  if (values['cpu-prof'] != null) session.disconnect()
  await client.close()
  await server.stop()
}
