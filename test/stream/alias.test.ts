/**
 * Stream aliases (`HTTPHostOptions.streamAliases`): Kubo's p2p HTTP proxy stream ids answered with HTTP/1.1
 * for one mount. Real nodes and raw streams; the same through Kubo itself is in test/interop/kubo.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { originalUrl } from '../../src/index.js'
import { aliasedTarget } from '../../src/stream/alias.js'
import { createNode, createPeer, stopPeers } from '../helpers/nodes.js'
import { rawExchange } from '../helpers/raw-stream.js'
import type { Peer } from '../helpers/nodes.js'
import type { Libp2p } from '@libp2p/interface'

describe('aliasedTarget', () => {
  it('puts the mount path before an origin-form target', () => {
    expect(aliasedTarget('/a/b?x=1', '/x/echo/')).toBe('/x/echo/a/b?x=1')
    expect(aliasedTarget('/', '/x/echo/')).toBe('/x/echo/')
  })

  it('refuses targets that leave the mount: absolute-form, asterisk-form, dot segments', () => {
    expect(aliasedTarget('http://h/x/other/', '/x/echo/')).toBeUndefined()
    expect(aliasedTarget('*', '/x/echo/')).toBeUndefined()
    expect(aliasedTarget('/../other', '/x/echo/')).toBeUndefined()
    expect(aliasedTarget('/%2e%2e/other', '/x/echo/')).toBeUndefined()
    expect(aliasedTarget('/a/../../.well-known/libp2p/protocols', '/x/echo/')).toBeUndefined()
  })

  it('keeps dot segments that stay inside', () => {
    expect(aliasedTarget('/a/../b', '/x/echo/')).toBe('/x/echo/a/../b')
  })
})

describe('stream aliases on a host', () => {
  let server: Peer
  let plain: Peer
  let client: Libp2p
  const seen: string[] = []

  beforeAll(async () => {
    server = await createPeer({ streamAliases: [{ streamProtocol: '/http' }, { streamProtocol: '/x/echo/http', protocol: '/x/echo' }, { streamProtocol: '/x/gone/http', protocol: '/x/gone' }] })
    server.host.serve((req, res) => { seen.push(`root ${req.url ?? ''}`); res.end(`root ${req.url ?? ''}`) })
    server.host.handle('/x/echo', (req, res) => { seen.push(`echo ${req.url ?? ''}`); res.end(`echo ${req.url ?? ''} ${originalUrl(req)}`) })
    server.host.handle('/x/other', (req, res) => { seen.push(`other ${req.url ?? ''}`); res.end('other') })
    plain = await createPeer()
    client = await createNode()
  })

  afterAll(async () => {
    await stopPeers(server, plain)
    await client.stop()
  })

  const send = async (protocol: string, target: string, to: Peer = server): Promise<{ statuses: number[], text: string }> =>
    await rawExchange(client, to.node.getMultiaddrs(), { protocol, send: `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n` })

  it('/x/echo/http reaches the /x/echo mount, the target as sent below it', async () => {
    const r = await send('/x/echo/http', '/a/b?x=1')
    expect(r.statuses).toEqual([200])
    expect(r.text).toMatch(/echo \/a\/b\?x=1 \/a\/b\?x=1$/)
  })

  it('/http is the host as a whole, as /http/1.1', async () => {
    expect((await send('/http', '/a')).text).toMatch(/root \/a$/)
    expect((await send('/http', '/x/echo/z')).text).toMatch(/echo \/z /)
  })

  for (const target of ['/../x/other/secret', '/%2e%2e/x/other/secret', 'http://elsewhere/x/other/secret', '*', '/../.well-known/libp2p/protocols']) {
    it(`a target that would leave the mount is refused (400), nothing else sees it: ${target}`, async () => {
      seen.length = 0
      const r = await send('/x/echo/http', target)
      expect(r.statuses).toEqual([400])
      expect(seen).toEqual([])
    })
  }

  it('absolute-form naming the Host it is sent to is its origin-form, and stays below the mount', async () => {
    seen.length = 0
    const r = await send('/x/echo/http', 'http://x/x/other/secret')
    expect(r.statuses).toEqual([200])
    expect(seen).toEqual(['echo /x/other/secret'])
  })

  it('the well-known path on an alias is the mount\'s, not the host\'s map', async () => {
    expect((await send('/x/echo/http', '/.well-known/libp2p/protocols')).text).toMatch(/echo \/\.well-known\/libp2p\/protocols /)
  })

  it('an alias whose protocol is not mounted answers 404', async () => {
    expect((await send('/x/gone/http', '/a')).statuses).toEqual([404])
  })

  it('without streamAliases no other stream protocol is answered', async () => {
    await expect(send('/http', '/a', plain)).rejects.toThrow(/protocol/i)
  })

  it('a client host with streamProtocol /http reaches the /http alias (and only a peer that answers it)', async () => {
    const kuboStyle = await createPeer({ streamProtocol: '/http' })
    try {
      const res = await kuboStyle.host.fetch(`multiaddr:${server.node.getMultiaddrs()[0].toString()}/http-path/over-http`)
      expect(await res.text()).toBe('root /over-http')
      await expect(kuboStyle.host.fetch(`multiaddr:${plain.node.getMultiaddrs()[0].toString()}/http-path/a`)).rejects.toThrow(/\/http\b/)
    } finally {
      await stopPeers(kuboStyle)
    }
  })
})
