/**
 * `node --import tsx bench/http-body-copy.ts [--mib N]`
 *
 * Upstream reproduction (issue 21, bulk bytes): Node's HTTP server hands a handler a copy of every
 * request body byte. A request is pushed into a bare `Duplex` (what our `StreamSocket` is to Node) in
 * 64 KiB chunks; the script reports whether the body chunks the handler reads share memory with what
 * was pushed, and the CPU time per MiB of body, against the same bytes merely iterated. Over a libp2p
 * stream this copy comes on top of noise's decryption, which already made fresh buffers: the raw
 * stream protocol's server reads those as they are.
 */
import { createServer } from 'node:http'
import { Duplex } from 'node:stream'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' } } })
const mib = Number(values.mib)
const CHUNK = 64 * 1024
const chunks = Array.from({ length: mib * 16 }, () => Buffer.alloc(CHUNK, 1))
const pushed = new Set(chunks.map(c => c.buffer))

const server = createServer((req, res) => {
  let shared = 0
  let copied = 0
  req.on('data', (c: Buffer) => { if (pushed.has(c.buffer as ArrayBuffer)) shared += c.byteLength; else copied += c.byteLength })
  req.on('end', () => { res.end(); done({ shared, copied }) })
})
let done: (r: { shared: number, copied: number }) => void = () => {}

async function once (): Promise<{ shared: number, copied: number, ms: number }> {
  const socket = new Duplex({ read () {}, write (_c, _e, cb) { cb() } })
  const result = new Promise<{ shared: number, copied: number }>(resolve => { done = resolve })
  server.emit('connection', socket)
  const before = process.cpuUsage()
  socket.push(Buffer.from(`POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${mib * 2 ** 20}\r\n\r\n`))
  for (const c of chunks) socket.push(c)
  const r = await result
  const used = process.cpuUsage(before)
  socket.destroy()
  return { ...r, ms: (used.user + used.system) / 1000 }
}

for (let i = 0; i < 3; i++) {
  const r = await once()
  const before = process.cpuUsage()
  let n = 0
  for (const c of chunks) n += c.byteLength
  const iterate = process.cpuUsage(before)
  console.log(`body ${mib} MiB: ${(r.copied / 2 ** 20).toFixed(0)} MiB copied, ${(r.shared / 2 ** 20).toFixed(0)} MiB as pushed; ` +
    `${(r.ms / mib * 32).toFixed(1)} ms CPU per 32 MiB through http.Server (iterating the chunks: ${((iterate.user + iterate.system) / 1000 / mib * 32).toFixed(2)} ms, ${n === mib * 2 ** 20 ? 'ok' : 'short'})`)
}
server.close()
