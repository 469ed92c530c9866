/**
 * The yamux frames one small exchange costs on an open connection, raw stream RPC against libp2phttp
 * (both ends in this process): every frame is a noise message of its own (an encryption, a decryption,
 * two TCP writes in @libp2p/tcp), so frames are a deterministic proxy for the per-request transport work.
 *
 * `node --import tsx bench/yamux-frames.ts` prints each frame of one exchange per contender (C: client
 * node, S: server node) and the count by kind. It shows an upstream cost both pay: @chainsafe/libp2p-yamux
 * answers every data frame it reads with a WINDOW_UPDATE (`stream.js` `handleData` → `sendWindowUpdate`,
 * sent whenever any of the window was consumed; go-yamux waits until half of it was), and
 * @libp2p/multistream-select's `handle` writes the multistream header and the protocol echo as two frames.
 */
import '../examples/polyfill.js'
import './production.js'
import { createHTTPHost } from '../src/index.js'
import { handleRaw, hostClient, node, rawClient } from './contenders.js'
import { nodeHandler } from './handlers.js'
import type { Client } from './contenders.js'
// the muxer class is not in the package's exports; patched here to observe frames, nothing else
import { YamuxMuxer } from '../node_modules/@chainsafe/libp2p-yamux/dist/src/muxer.js'

interface FrameHeader { type: number, flag: number, streamID: number, length: number }
const TYPES = ['DATA', 'WINDOW_UPDATE', 'PING', 'GO_AWAY']
const FLAGS: Record<number, string> = { 1: ' SYN', 2: ' ACK', 4: ' FIN', 8: ' RST' }
let frames: string[] | undefined
const proto = (YamuxMuxer as unknown as { prototype: { sendFrame: (this: { client: boolean }, header: FrameHeader, data?: unknown) => unknown } }).prototype
const sendFrame = proto.sendFrame
proto.sendFrame = function (header, data) {
  frames?.push(`${this.client ? 'C' : 'S'} ${TYPES[header.type]}${FLAGS[header.flag] ?? ''} ${header.type === 0 ? `${header.length} bytes` : `(${header.length})`}`)
  return sendFrame.call(this, header, data)
}

const server = await node()
await handleRaw(server)
const serverHost = await createHTTPHost({ libp2p: server, ping: false })
serverHost.serve(nodeHandler)
const client = await node()
const clientHost = await createHTTPHost({ libp2p: client, ping: false })
const addr = server.getMultiaddrs()[0].toString()
const clients: Record<string, Client> = {
  'raw-stream': await rawClient(client, addr, async () => {}),
  'libp2phttp-stream': hostClient(clientHost, addr, async () => {})
}
for (const [name, c] of Object.entries(clients)) {
  // the first exchange of each negotiates in full or confirms the protocol; the second is the steady state
  await c.small()
  await c.small()
  await new Promise(resolve => setTimeout(resolve, 100))
  frames = []
  await c.small()
  // the closing frames follow the response
  await new Promise(resolve => setTimeout(resolve, 100))
  const seen = frames
  frames = undefined
  const kinds = new Map<string, number>()
  for (const f of seen) {
    const kind = f.replace(/ [0-9]+ bytes| \([0-9]+\)/, '')
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  }
  console.log(`${name}: ${seen.length} frames for one small GET\n  ${seen.join('\n  ')}\n  by kind: ${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')}`)
}
await clientHost.close({ timeout: 100 })
await client.stop()
await serverHost.close({ timeout: 100 })
await server.stop()
