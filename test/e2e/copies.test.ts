/**
 * Two copies of the package in one process (issue 17): what a program gets when two dependencies each
 * bring their own libp2phttp (two versions in one `node_modules`, or a bundled copy beside an installed
 * one). The package is built twice by tsup with its own library configuration (`tsup.config.ts`) into
 * two directories and both builds are imported: errors of one copy are recognised by the other, and
 * `remotePeer`/`serverPeer`/`transportOf`/`authenticationOf`/`originalUrl` of one copy read what a host
 * of the other recorded. (ESM only, so the two copies are two ESM builds: see docs/decisions.md.)
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import config from '../../tsup.config.js'
import { createNode } from '../helpers/nodes.js'
import type { Libp2p } from '@libp2p/interface'
import type { Options } from 'tsup'

type Package = typeof import('../../src/index.js')

let dir: string
let a: Package
let b: Package

/** Build the library into `outDir` as `npm run build` does (no types, no source maps) and import it. */
async function copy (outDir: string): Promise<Package> {
  const library = (config as Options[])[0]
  await build({ ...library, outDir, dts: false, sourcemap: false, silent: true })
  return await import(pathToFileURL(join(outDir, 'index.js')).href) as Package
}

beforeAll(async () => {
  // inside the project, so that the builds' imports of the dependencies resolve from its node_modules
  dir = await mkdtemp(join(process.cwd(), '.copies-'))
  a = await copy(join(dir, 'a'))
  b = await copy(join(dir, 'b'))
}, 60_000)

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('two copies of the package in one process', () => {
  it('are two copies: their classes and functions differ', () => {
    expect(a.DialError).not.toBe(b.DialError)
    expect(a.remotePeer).not.toBe(b.remotePeer)
  })

  it("errors: instanceof and isLibP2PHTTPError recognise the other copy's errors, class by class", async () => {
    const host = await a.createHTTPHost()
    try {
      const err = await host.fetch('multiaddr:/not-a-protocol/1').then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(a.InvalidTargetError)
      expect(err).toBeInstanceOf(b.InvalidTargetError)
      expect(err).toBeInstanceOf(b.LibP2PHTTPError)
      expect(err).toBeInstanceOf(Error)
      expect(err).not.toBeInstanceOf(b.DialError)
      expect(b.isLibP2PHTTPError(err)).toBe(true)
      expect((err as { code: string }).code).toBe('ERR_INVALID_TARGET')
    } finally {
      await host.close()
    }
    // a class in the middle of the chain, and one that is not in it
    const status = new a.WellKnownStatusError('peer', 404)
    expect(status).toBeInstanceOf(b.WellKnownError)
    expect(status).toBeInstanceOf(b.WellKnownStatusError)
    expect(status).not.toBeInstanceOf(b.WellKnownTimeoutError)
    expect(status).not.toBeInstanceOf(b.ResponseError)
    // not ours: no brand
    expect(b.isLibP2PHTTPError(new Error('x'))).toBe(false)
    expect(b.isLibP2PHTTPError(Object.assign(new Error('x'), { code: 'ERR_DIAL_FAILED' }))).toBe(false)
    expect(b.isLibP2PHTTPError(null)).toBe(false)
    expect(new Error('x')).not.toBeInstanceOf(b.LibP2PHTTPError)
    // the brand is not an own, enumerable property: not in JSON or a spread
    expect(Object.getOwnPropertySymbols(status)).toEqual([])
  })

  describe('identity across copies: a host of one copy, the accessors of the other', () => {
    let server: Libp2p
    let client: Libp2p
    let serving: Awaited<ReturnType<Package['createHTTPHost']>>
    let fetching: Awaited<ReturnType<Package['createHTTPHost']>>

    beforeAll(async () => {
      server = await createNode()
      client = await createNode()
      serving = await a.createHTTPHost({ libp2p: server })
      fetching = await b.createHTTPHost({ libp2p: client })
      serving.handle('/node/1', (req, res) => {
        res.end(`${String(b.remotePeer(req))} ${String(b.authenticationOf(req))} ${b.originalUrl(req)}`)
      })
      serving.handle('/fetch/1', b.fetchHandler((request) => new Response(`${String(b.remotePeer(request))} ${String(b.authenticationOf(request))} ${b.originalUrl(request)}`)))
    })

    afterAll(async () => {
      await serving?.close()
      await fetching?.close()
      await server?.stop()
      await client?.stop()
    })

    it('remotePeer, authenticationOf and originalUrl of copy B read a request served by copy A (Node and fetch-style handlers)', async () => {
      const node = await fetching.fetch(server.getMultiaddrs()[0], { protocol: '/node/1', path: '/x?y=1' })
      expect(await node.text()).toBe(`${client.peerId.toString()} libp2p-connection /node/1/x?y=1`)
      const fetchStyle = await fetching.fetch(server.getMultiaddrs()[0], { protocol: '/fetch/1', path: '/x' })
      const [peer, how, url] = (await fetchStyle.text()).split(' ')
      expect([peer, how, new URL(url).pathname]).toEqual([client.peerId.toString(), 'libp2p-connection', '/fetch/1/x'])
    })

    it('serverPeer and transportOf of copy A read a response fetched by copy B', async () => {
      const res = await fetching.fetch(server.getMultiaddrs()[0], { protocol: '/node/1' })
      await res.arrayBuffer()
      expect(a.serverPeer(res)?.toString()).toBe(server.peerId.toString())
      expect(a.transportOf(res)?.transport).toBe('stream')
      expect(b.serverPeer(res)?.toString()).toBe(server.peerId.toString())
    })
  })
})
