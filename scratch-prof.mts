import './examples/polyfill.ts'
import { createPeer, stopPeers } from './test/helpers/nodes.ts'
const server = await createPeer({ ping: false })
const client = await createPeer()
server.host.serve((_req, res) => { res.end('hello from the bench server\n') })
const target = { peer: server.node.getMultiaddrs()[0], path: '/small' }
for (let i = 0; i < 200; i++) await (await client.host.fetch(target)).text()
const t = performance.now()
for (let i = 0; i < 3000; i++) await (await client.host.fetch(target)).text()
console.log('req/s', (3000 / ((performance.now() - t) / 1000)).toFixed(0))
await stopPeers(server, client)
