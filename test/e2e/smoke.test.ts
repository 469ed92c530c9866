import { afterEach, expect, it } from 'vitest'
import { remotePeer, serverPeer } from '../../src/index.js'
import { createPeer, stopPeers, uriOf } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'

let server: Peer | undefined
let client: Peer | undefined
afterEach(async () => { await stopPeers(server, client) })

it('GET over a stream', async () => {
  server = await createPeer()
  client = await createPeer()
  server.host.serve((req, res) => { res.end(`hello ${req.url} from ${remotePeer(req)?.toString()}`) })
  const res = await client.host.fetch(uriOf(server, '/x?y=1'))
  expect(res.status).toBe(200)
  expect(await res.text()).toBe(`hello /x?y=1 from ${client.node.peerId.toString()}`)
  expect(serverPeer(res)?.equals(server.node.peerId)).toBe(true)
})
