/**
 * How many function names the published build defines per `host.fetch` over a stream (both ends in this
 * process): the build keeps names (tsup `keepNames`), so every named closure made per request costs an
 * `Object.defineProperty(fn, 'name')` (esbuild's `__name`). Counted, not timed: deterministic on any load.
 *
 * ```sh
 * npx tsup --out-dir dist-check --no-dts && node bench/names-per-request.mjs ../dist-check
 * ```
 * (the build must sit inside the repository, so that its imports resolve from `node_modules`).
 */
let names = 0
const define = Object.defineProperty
Object.defineProperty = function (target, key, descriptor) {
  if (key === 'name' && typeof target === 'function') names++
  return define(target, key, descriptor)
}
if (typeof Promise.withResolvers !== 'function') {
  // libp2p 3 on Node 20 (what src/cli/polyfill.ts does for the command)
  Promise.withResolvers = function () { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b }); return { promise, resolve, reject } }
}
const dist = process.argv[2] ?? '../dist'
const { createHTTPHost } = await import(`${dist}/index.js`)
const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const node = async () => await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
const server = await node()
const client = await node()
const serverHost = await createHTTPHost({ libp2p: server, ping: false })
serverHost.serve((req, res) => { res.end('hello') })
const clientHost = await createHTTPHost({ libp2p: client })
const url = `multiaddr:${server.getMultiaddrs()[0].toString()}/http-path/small`
for (let i = 0; i < 200; i++) await (await clientHost.fetch(url)).arrayBuffer()
const before = names
const n = 1000
for (let i = 0; i < n; i++) await (await clientHost.fetch(url)).arrayBuffer()
console.log(`${dist}: ${((names - before) / n).toFixed(2)} function names defined per request (both ends)`)
await clientHost.close()
await serverHost.close()
await client.stop()
await server.stop()
