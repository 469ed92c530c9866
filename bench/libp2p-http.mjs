// The @libp2p/http contender of the bench, in a process of its own: the package as published (its own
// undici 8) under the Node 22 it requires, both from the interop tests' install
// (test/interop/libp2p-http-peer.ts), which this file is copied into. Forked by bench/libp2p-http.ts as
// `server` (the IPC messages of bench/server.ts) or `client <addr>` (`{ type: 'op', id, op, n }` each
// answered `{ type: 'result', id, value | error }`, plus `usage` and `stop`). The routes are
// bench/handlers.ts's `fetchHandler`, imported from the checkout (Node 22 strips its types).
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { http } from '@libp2p/http'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'

const [mode, handlersURL, addr] = process.argv.slice(2)
const { fetchHandler } = await import(handlersURL)
const send = (message) => { process.send(message) }

const libp2p = await createLibp2p({
  addresses: { listen: mode === 'server' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { http: http() }
})
if (mode === 'server') {
  for (const path of ['/small', '/bytes', '/upload', '/first']) {
    libp2p.services.http.handle(`/libp2phttp-bench${path}`, { path, method: ['GET', 'POST'], handler: fetchHandler })
  }
}

const get = async (path, init) => await libp2p.services.http.fetch(`${addr}/http-path/${encodeURIComponent(path.slice(1))}`, init)
async function drain (res) {
  if (!res.ok) throw new Error(`bench request failed: ${res.status}`)
  let n = 0
  for await (const chunk of res.body ?? []) n += chunk.byteLength
  return n
}
/** The bench's four operations (bench/contenders.ts `Client`). Uploads are whole: @libp2p/http 2.0.6 delivers nothing of a streamed request body. */
const ops = {
  small: async () => { await drain(await get('/small')); return 0 },
  download: async (n) => await drain(await get('/bytes', { headers: { 'x-bytes': String(n) } })),
  upload: async (n) => Number(await (await get('/upload', { method: 'POST', body: new Uint8Array(n) })).text()),
  firstByte: async () => {
    const start = performance.now()
    const reader = (await get('/first')).body.getReader()
    await reader.read()
    const ms = performance.now() - start
    while (!(await reader.read()).done) { /* the rest */ }
    return ms
  }
}

const session = new Session()
process.on('message', (message) => {
  if (message.type === 'op') {
    ops[message.op](message.n).then(
      (value) => { send({ type: 'result', id: message.id, value }) },
      (err) => { send({ type: 'result', id: message.id, error: String(err?.stack ?? err) }) }
    )
  } else if (message.type === 'usage') {
    const cpu = process.cpuUsage()
    send({ type: 'usage', rss: process.memoryUsage.rss(), cpu: (cpu.user + cpu.system) / 1e6 })
  } else if (message.type === 'stop') {
    libp2p.stop().finally(() => process.exit(0))
  } else if (message.type === 'profile-start') {
    session.connect()
    session.post('Profiler.enable').then(async () => await session.post('Profiler.start')).then(() => { send({ type: 'profiled' }) })
  } else if (message.type === 'profile-stop') {
    session.post('Profiler.stop').then(async ({ profile }) => {
      session.disconnect()
      await writeFile(message.file, JSON.stringify(profile))
      send({ type: 'profiled' })
    })
  }
})
send({ type: 'ready', addr: mode === 'server' ? libp2p.getMultiaddrs()[0].toString() : '' })
