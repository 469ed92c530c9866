/**
 * `httpHost()` as a service of real js-libp2p nodes (TCP + noise + yamux on 127.0.0.1): serving and
 * fetching between two of them, discovery and ping, Peer ID Authentication with the node's own key, the
 * node's stop closing everything it opened, a restart, and a node without a transport refused.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { connect } from 'node:net'
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import { HostClosedError, PING_PROTOCOL, fetchHandler, WELL_KNOWN_PATH, httpHost, remotePeer, serverPeer } from '../src/index.js'
import { HTTP_HOST_CAPABILITIES } from '../src/service.js'
import { snapshot, settle } from './helpers/leaks.js'
import { openHTTPStreams } from './helpers/raw-stream.js'
import { until } from './helpers/nodes.js'
import { testCertificate } from './helpers/tls.js'
import type { HTTPHostService, HTTPHostServiceOptions } from '../src/index.js'
import type { Connection, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type Node = Libp2p<{ http: HTTPHostService }>

const nodes: Libp2p[] = []

async function createServiceNode (init: HTTPHostServiceOptions = {}, start = true): Promise<Node> {
  const node = await createLibp2p({
    start,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { http: httpHost(init) }
  })
  nodes.push(node)
  return node
}

afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async node => { await node.stop() }))
})

function uriOf (node: Libp2p, path: string): string {
  const addr = node.getMultiaddrs()[0].toString()
  return path === '/' ? `multiaddr:${addr}` : `multiaddr:${addr}/http-path/${encodeURIComponent(path.replace(/^\//, ''))}`
}

/** The port of the first native listener of `node`'s host. */
function nativeAddr (node: Node): Multiaddr {
  const found = node.services.http.addrs().find(ma => ma.toString().includes('/http'))
  if (found == null) throw new Error('no native address')
  return found
}

function portOf (ma: Multiaddr): number {
  return Number(ma.getComponents().find(c => c.name === 'tcp')?.value)
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
async function accepts (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
}

const SOCKETS = ['TCPSocketWrap', 'TCPServerWrap', 'TLSWrap']

describe('httpHost() as a js-libp2p service', () => {
  it('serves and fetches between two nodes built with it, typed as node.services.http', async () => {
    const server = await createServiceNode()
    const client = await createServiceNode()
    expectTypeOf(client.services.http.fetch).returns.resolves.toEqualTypeOf<Response>()
    server.services.http.serve((req, res) => { res.end(`hello ${remotePeer(req)?.toString() ?? ''}`) })
    server.services.http.handle('/echo/1', async (req: Request) => new Response(await req.text()), { path: '/echo/' })

    const res = await client.services.http.fetch(uriOf(server, '/'))
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(`hello ${client.peerId.toString()}`)
    expect(serverPeer(res)?.equals(server.peerId)).toBe(true)
    const echoed = await client.services.http.fetch(uriOf(server, '/'), { protocol: '/echo/1', path: 'x', method: 'POST', body: 'ping' })
    expect(await echoed.text()).toBe('ping')
    expect(client.services.http.peerId.equals(client.peerId)).toBe(true)
  })

  it('serves the well-known map and answers HTTP ping', async () => {
    const server = await createServiceNode()
    const client = await createServiceNode()
    server.services.http.handle('/kv/1', (_req, res) => { res.end('kv') })
    const map = await client.services.http.protocols(uriOf(server, '/'))
    expect(map).toMatchObject({ '/kv/1': { path: '/kv/1/' }, [PING_PROTOCOL]: expect.any(Object) })
    const wellKnown = await client.services.http.fetch(uriOf(server, WELL_KNOWN_PATH))
    expect(await wellKnown.json()).toMatchObject({ '/kv/1': { path: '/kv/1/' } })
    expect(await client.services.http.ping(uriOf(server, '/'))).toBeGreaterThanOrEqual(0)
    expect(await (await client.services.http.client(uriOf(server, '/'), '/kv/1').fetch('a')).text()).toBe('kv')
  })

  it('negotiates /http/1.1 optimistically with the registrar it was given, and in full when the node has middleware', async () => {
    const server = await createServiceNode()
    const client = await createServiceNode()
    server.services.http.serve(fetchHandler(async () => new Response('ok')))
    await (await client.services.http.fetch(uriOf(server, '/'))).text()
    const connection = client.getConnections(server.peerId)[0] as Connection & { newStream: Connection['newStream'] }
    const newStream = connection.newStream
    let full = 0
    connection.newStream = async (protocols, options) => { full++; return await newStream(protocols, options) }
    for (let i = 0; i < 3; i++) await (await client.services.http.fetch(uriOf(server, '/'))).text()
    expect(full).toBe(0)
    let ran = 0
    client.use('/http/1.1', (stream, conn, next) => { ran++; next(stream, conn) })
    for (let i = 0; i < 3; i++) await (await client.services.http.fetch(uriOf(server, '/'))).text()
    expect(full).toBe(3)
    expect(ran).toBe(3)
  })

  it('signs with the node\'s key component: a native listener requiring Peer ID Authentication, no auth.privateKey', async () => {
    const cert = await testCertificate()
    const server = await createServiceNode({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert, auth: { server: { hostnames: ['127.0.0.1'] } } })
    const client = await createServiceNode({ clientTLS: { ca: cert.cert } })
    server.services.http.serve((req, res) => { res.end(remotePeer(req)?.toString()) })
    const target = multiaddr(`${nativeAddr(server).toString().replace(/\/p2p\/.*$/, '')}/p2p/${server.peerId.toString()}`)
    const res = await client.services.http.fetch(target)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(client.peerId.toString())
    expect(serverPeer(res)?.equals(server.peerId)).toBe(true)
  })

  it('stops with the node: handlers unregistered, listeners closed, no stream or socket left, fetch refused', async () => {
    // the baseline: no socket of an earlier test still closing
    await until(() => SOCKETS.every(type => !process.getActiveResourcesInfo().includes(type)), 10_000, 'earlier sockets to close')
    const client = await createServiceNode()
    const before = await snapshot([client])
    const server = await createServiceNode({ listen: ['/ip4/127.0.0.1/tcp/0/http'], insecureAllowHTTP: true })
    server.services.http.serve(fetchHandler(async () => new Response('ok')))
    const port = portOf(nativeAddr(server))
    expect(await accepts(port)).toBe(true)
    expect(server.getProtocols()).toContain('/http/1.1')
    await Promise.all(Array.from({ length: 5 }, async () => await (await client.services.http.fetch(uriOf(server, '/'))).text()))

    await server.stop()
    expect(server.getProtocols()).not.toContain('/http/1.1')
    expect(await accepts(port)).toBe(false)
    expect(openHTTPStreams(server)).toBe(0)
    // the client's side: the connection to the stopped node went with its streams, and every socket of
    // the server (libp2p's TCP listener, the native listener, connections) is closed
    const after = await settle([client], before)
    expect(after.streams).toBe(0)
    await expect(server.services.http.fetch(uriOf(client, '/'))).rejects.toBeInstanceOf(HostClosedError)
  })

  it('lets an exchange in flight finish when the node stops (the connections close after it)', async () => {
    const server = await createServiceNode()
    const client = await createServiceNode()
    let release: () => void = () => {}
    const released = new Promise<void>(resolve => { release = resolve })
    let arrived = false
    server.services.http.serve(fetchHandler(async () => { arrived = true; await released; return new Response('late') }))
    const pending = client.services.http.fetch(uriOf(server, '/'))
    await until(() => arrived, 5000, 'the request to reach the handler')
    const stopping = server.stop()
    // the host closes first (no new streams), while the connection stays up
    await until(() => !server.getProtocols().includes('/http/1.1'), 5000, 'the handler to be unregistered')
    release()
    const res = await pending
    expect(await res.text()).toBe('late')
    await stopping
  })

  it('starts again with the node, serving what was mounted before', async () => {
    const server = await createServiceNode({ listen: ['/ip4/127.0.0.1/tcp/0/http'], insecureAllowHTTP: true })
    const client = await createServiceNode()
    server.services.http.serve(fetchHandler(async () => new Response('root')))
    server.services.http.handle('/kv/1', fetchHandler(async () => new Response('kv')))
    expect(await (await client.services.http.fetch(uriOf(server, '/'))).text()).toBe('root')
    const oldDispatcher = server.services.http.dispatcher

    await server.stop()
    // a request must not race the client's old connection while it closes (see the example)
    await until(() => client.getConnections(server.peerId).length === 0, 5000, 'the client to see the server go')
    // mounts made while stopped are kept too
    server.services.http.handle('/late/1', fetchHandler(async () => new Response('late')))
    await server.start()
    expect(server.services.http.dispatcher).not.toBe(oldDispatcher)
    expect(server.getProtocols()).toContain('/http/1.1')
    expect(await accepts(portOf(nativeAddr(server)))).toBe(true)
    expect(await (await client.services.http.fetch(uriOf(server, '/'))).text()).toBe('root')
    expect(await (await client.services.http.fetch(uriOf(server, '/'), { protocol: '/kv/1', path: '' })).text()).toBe('kv')
    expect(await (await client.services.http.fetch(uriOf(server, '/'), { protocol: '/late/1', path: '' })).text()).toBe('late')
    // and it fetches again
    client.services.http.serve(fetchHandler(async () => new Response('client')))
    expect(await (await server.services.http.fetch(uriOf(client, '/'))).text()).toBe('client')
  })

  it('accepts mounts before the node starts and refuses to fetch until it does', async () => {
    const server = await createServiceNode({}, false)
    server.services.http.serve(fetchHandler(async () => new Response('early')))
    await expect(server.services.http.fetch('multiaddr:/ip4/127.0.0.1/tcp/1')).rejects.toBeInstanceOf(HostClosedError)
    expect(server.getProtocols()).not.toContain('/http/1.1')
    await server.start()
    const client = await createServiceNode()
    expect(await (await client.services.http.fetch(uriOf(server, '/'))).text()).toBe('early')
  })

  it('names its capabilities and refuses a node without a transport with js-libp2p\'s clear error', async () => {
    const node = await createServiceNode()
    expect(HTTP_HOST_CAPABILITIES).toContain('@libp2p/http')
    await expect(createLibp2p({ services: { http: httpHost() } })).rejects.toMatchObject({
      name: 'UnmetServiceDependenciesError',
      message: expect.stringMatching(/Service "libp2phttp" required capability "@libp2p\/transport"/)
    })
    // a service that needs ours is satisfied by it
    const dependent = () => ({ [Symbol.for('@libp2p/service-dependencies')]: ['@libp2p/http'] })
    const withDependent = await createLibp2p({ start: false, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { http: httpHost(), dependent } })
    nodes.push(withDependent)
    expect(node.services.http).toBeDefined()
  })
})
