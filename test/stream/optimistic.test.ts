/**
 * Optimistic multistream-select: the preamble bytes, the socket's check of the remote's answer over real
 * yamux streams, and the client's use of it end to end between real nodes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DialError, ProtocolNotSupportedError } from '../../src/index.js'
import { StreamSocket } from '../../src/stream/socket.js'
import { MULTISTREAM_ID, optimisticPreamble } from '../../src/stream/optimistic.js'
import { createNode, createPeer, stopPeers, until, uriOf } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1')

describe('optimisticPreamble', () => {
  it('is the multistream header and the proposal, each varint length-prefixed (multistream-select spec)', () => {
    const preamble = optimisticPreamble('/http/1.1', 'peer', 1000)
    expect(latin1(preamble.outgoing)).toBe('\x13/multistream/1.0.0\n\x0a/http/1.1\n')
    // A remote that accepts echoes both messages byte for byte.
    expect(preamble.expected).toEqual(preamble.outgoing)
    expect(MULTISTREAM_ID).toBe('/multistream/1.0.0')
  })

  it('prefixes long protocol ids with a multi-byte varint', () => {
    const protocol = `/${'x'.repeat(199)}`
    const bytes = optimisticPreamble(protocol, 'peer', 1000).outgoing
    // 200 bytes plus the newline = 201 = 0xc9 0x01 as an unsigned varint
    expect([...bytes.subarray(20, 22)]).toEqual([0xc9, 0x01])
    expect(bytes.byteLength).toBe(20 + 2 + 201)
  })

  it('creates no closures per stream: one shared `refused`, and `onSettled` carried as given (issue 21: the build keeps function names, a defineProperty per named closure)', () => {
    const onSettled = (): void => {}
    const a = optimisticPreamble('/http/1.1', 'peerA', 1000, onSettled)
    const b = optimisticPreamble('/http/1.1', 'peerB', 1000)
    expect(a.refused).toBe(b.refused)
    expect(a.onSettled).toBe(onSettled)
    expect(b.onSettled).toBeUndefined()
    // the shared method still names each stream's own peer and protocol
    expect(a.refused('timeout').message).toMatch(/peerA did not confirm \/http\/1\.1 within 1000 ms/)
    expect(b.refused('ended').message).toMatch(/peerB ended the stream/)
  })

  it('tells a refused protocol from a remote that does not speak multistream-select, ends or is silent', () => {
    const preamble = optimisticPreamble('/http/1.1', 'peerX', 1000)
    expect(preamble.refused(20)).toBeInstanceOf(ProtocolNotSupportedError)
    expect(preamble.refused(25)).toBeInstanceOf(ProtocolNotSupportedError)
    const garbage = preamble.refused(0)
    expect(garbage).toBeInstanceOf(DialError)
    expect(garbage.message).toMatch(/peerX did not answer with multistream-select/)
    // a clean end is a closing stream or connection, not an answer about the protocol
    expect(preamble.refused('ended')).toBeInstanceOf(DialError)
    expect(preamble.refused('ended')).not.toBeInstanceOf(ProtocolNotSupportedError)
    expect(preamble.refused('timeout').message).toMatch(/did not confirm \/http\/1\.1 within 1000 ms/)
  })
})

describe('StreamSocket with a preamble', () => {
  const PROTOCOL = '/test/preamble/1'
  let a: Libp2p
  let b: Libp2p
  const nextInbound: Array<(stream: Stream) => void> = []

  beforeAll(async () => {
    a = await createNode()
    b = await createNode()
    await b.handle(PROTOCOL, (stream) => { nextInbound.shift()?.(stream) }, { maxInboundStreams: 1024 })
  })
  afterAll(async () => { await Promise.all([a.stop(), b.stop()]) })

  async function pair (): Promise<{ socket: StreamSocket, remote: Stream, first: Promise<string> }> {
    const inbound = new Promise<Stream>(resolve => nextInbound.push(resolve))
    const stream = await a.dialProtocol(b.getMultiaddrs(), PROTOCOL)
    const socket = new StreamSocket(stream, {
      remotePeer: b.peerId,
      remoteAddr: b.getMultiaddrs()[0],
      lingerMs: 500,
      preamble: optimisticPreamble('/http/1.1', b.peerId.toString(), 2000)
    })
    socket.write('GET / HTTP/1.1\r\n\r\n')
    const remote = await inbound
    const first = new Promise<string>(resolve => {
      remote.addEventListener('message', (evt) => { resolve(latin1(evt.data.subarray())) }, { once: true })
    })
    return { socket, remote, first }
  }

  async function received (socket: StreamSocket): Promise<{ text: string, error?: Error }> {
    let text = ''
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
    return await new Promise(resolve => {
      socket.on('error', (error) => { resolve({ text, error }) })
      socket.on('end', () => { resolve({ text }) })
    })
  }

  it('sends the proposal in the same message as the first write', async () => {
    const { socket, remote, first } = await pair()
    expect(await first).toBe('\x13/multistream/1.0.0\n\x0a/http/1.1\nGET / HTTP/1.1\r\n\r\n')
    socket.destroy()
    remote.abort(new Error('done'))
  })

  it('delivers only what follows the confirmation, however the confirmation is split', async () => {
    const { socket, remote, first } = await pair()
    await first
    const result = received(socket)
    remote.send(Buffer.from('\x13/multistream/1.0.0\n\x0a/ht', 'latin1'))
    remote.send(Buffer.from('tp/1.1', 'latin1'))
    remote.send(Buffer.from('\nHTTP/1.1 200 OK\r\n\r\n', 'latin1'))
    await remote.close()
    expect(await result).toEqual({ text: 'HTTP/1.1 200 OK\r\n\r\n' })
    socket.destroy()
  })

  it('ends cleanly when the remote confirms and then ends without a byte more', async () => {
    const { socket, remote, first } = await pair()
    await first
    const result = received(socket)
    remote.send(Buffer.from('\x13/multistream/1.0.0\n\x0a/http/1.1\n', 'latin1'))
    await remote.close()
    expect(await result).toEqual({ text: '' })
    socket.destroy()
  })

  it('fails with ProtocolNotSupportedError on `na` and resets the stream', async () => {
    const { socket, remote, first } = await pair()
    await first
    const result = received(socket)
    remote.send(Buffer.from('\x13/multistream/1.0.0\n\x03na\n', 'latin1'))
    const { text, error } = await result
    expect(text).toBe('')
    expect(error).toBeInstanceOf(ProtocolNotSupportedError)
    expect((error as ProtocolNotSupportedError).code).toBe('ERR_PROTOCOL_NOT_SUPPORTED')
    await until(() => remote.status === 'reset', 5000, 'the remote to see a reset')
  })

  it('fails with DialError when the answer is not multistream-select at all', async () => {
    const { socket, remote, first } = await pair()
    await first
    const result = received(socket)
    remote.send(Buffer.from('HTTP/1.1 200 OK\r\n\r\n', 'latin1'))
    const { text, error } = await result
    expect(text).toBe('')
    expect(error).toBeInstanceOf(DialError)
    await until(() => remote.status === 'reset', 5000, 'the remote to see a reset')
  })

  it('fails with DialError when the remote ends the stream before confirming', async () => {
    const { socket, remote, first } = await pair()
    await first
    const result = received(socket)
    remote.send(Buffer.from('\x13/multistream/1.0.0\n', 'latin1'))
    await remote.close()
    const { error } = await result
    expect(error).toBeInstanceOf(DialError)
    expect((error as Error).message).toMatch(/ended the stream before confirming \/http\/1\.1/)
  })

  it('fails with DialError and resets the stream when the confirmation does not come in time', async () => {
    const { socket, remote, first } = await pair()
    await first
    const result = received(socket)
    remote.send(Buffer.from('\x13/multistream/1.0.0\n', 'latin1'))
    const { error } = await result
    expect(error).toBeInstanceOf(DialError)
    expect((error as Error).message).toMatch(/did not confirm \/http\/1\.1 within 2000 ms/)
    await until(() => remote.status === 'reset', 5000, 'the remote to see a reset')
  })
})

describe('the client negotiates /http/1.1 optimistically', () => {
  let server: Peer | undefined
  let client: Peer | undefined
  afterEach(async () => {
    await stopPeers(server, client)
    server = undefined
    client = undefined
  })

  /** Count the streams the client opens through libp2p's own (fully negotiating) newStream. */
  function countFullNegotiations (from: Peer, to: Peer): { count: number } {
    const counter = { count: 0 }
    const connection = from.node.getConnections(to.node.peerId)[0] as Connection & { newStream: Connection['newStream'] }
    const newStream = connection.newStream
    connection.newStream = async (protocols, options) => {
      counter.count++
      return await newStream(protocols, options)
    }
    return counter
  }

  async function start (clientInit: Parameters<typeof createPeer>[0] = {}): Promise<{ server: Peer, client: Peer }> {
    server = await createPeer()
    client = await createPeer(clientInit)
    server.host.serve(async (req: Request) => new Response(`${req.method} ${await req.text()}`))
    return { server, client }
  }

  it('negotiates every stream optimistically, the first of a connection included, bodies too', async () => {
    const { server, client } = await start()
    await client.node.dial(server.node.getMultiaddrs()[0])
    const full = countFullNegotiations(client, server)
    expect(await (await client.host.fetch(uriOf(server, '/'))).text()).toBe('GET ')
    const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
      await (await client.host.fetch(uriOf(server, '/'), { method: 'POST', body: `body ${i}` })).text()))
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `POST body ${i}`))
    expect(full.count).toBe(0)
    // The streams are listed under their protocol, as libp2p's own would be.
    expect(client.node.getConnections(server.node.peerId)[0].streams.every(s => s.protocol === '/http/1.1')).toBe(true)
  })

  it("negotiates every stream in full with streamNegotiation: 'full'", async () => {
    const { server, client } = await start({ streamNegotiation: 'full' })
    await (await client.host.fetch(uriOf(server, '/'))).text()
    const full = countFullNegotiations(client, server)
    for (let i = 0; i < 3; i++) await (await client.host.fetch(uriOf(server, '/'))).text()
    expect(full.count).toBe(3)
  })

  it('negotiates in full when the node has stream middleware for /http/1.1, and runs it', async () => {
    const { server, client } = await start()
    let ran = 0
    client.node.use('/http/1.1', (stream, connection, next) => { ran++; next(stream, connection) })
    await (await client.host.fetch(uriOf(server, '/'))).text()
    const full = countFullNegotiations(client, server)
    for (let i = 0; i < 3; i++) await (await client.host.fetch(uriOf(server, '/'))).text()
    expect(full.count).toBe(3)
    expect(ran).toBe(4)
  })

  /**
   * Let the server's side of the connection hand new streams to `onStream` instead of negotiating them
   * (libp2p 3's Connection listens to its muxer's `stream` events with `onIncomingStream`).
   */
  function interceptInbound (on: Peer, from: Peer, onStream: (stream: Stream) => void): void {
    const connection = on.node.getConnections(from.node.peerId)[0] as unknown as {
      muxer: EventTarget
      onIncomingStream: (evt: Event) => void
    }
    connection.muxer.removeEventListener('stream', connection.onIncomingStream)
    connection.muxer.addEventListener('stream', (evt) => { onStream((evt as CustomEvent<Stream>).detail) })
  }

  it('bounds the wait for a confirmation by connectTimeout, as a full negotiation is', async () => {
    const { server, client } = await start({ connectTimeout: 300, client: { headersTimeout: 20_000 } })
    await (await client.host.fetch(uriOf(server, '/'))).text()
    interceptInbound(server, client, () => { /* never answers */ })
    const start_ = Date.now()
    const silent = client.host.fetch(uriOf(server, '/'))
    await expect(silent).rejects.toBeInstanceOf(DialError)
    await expect(silent).rejects.toMatchObject({ message: expect.stringMatching(/did not confirm \/http\/1\.1 within \d+ ms/) })
    // nowhere near the 20 s header timeout that would otherwise end it
    expect(Date.now() - start_).toBeLessThan(5000)
  })

  it('reports a stream closed before the confirmation as a DialError, not as a missing protocol', async () => {
    const { server, client } = await start()
    await (await client.host.fetch(uriOf(server, '/'))).text()
    interceptInbound(server, client, (stream) => { void stream.close() })
    const closed = client.host.fetch(uriOf(server, '/'))
    await expect(closed).rejects.toBeInstanceOf(DialError)
    await expect(closed).rejects.not.toBeInstanceOf(ProtocolNotSupportedError)
  })

  it('fails with ProtocolNotSupportedError, without hanging, once the peer stops speaking /http/1.1', async () => {
    const { server, client } = await start()
    await (await client.host.fetch(uriOf(server, '/'))).text()
    await server.node.unhandle('/http/1.1')
    const refused = client.host.fetch(uriOf(server, '/'), { method: 'POST', body: 'x' })
    await expect(refused).rejects.toBeInstanceOf(ProtocolNotSupportedError)
    await expect(refused).rejects.toMatchObject({ code: 'ERR_PROTOCOL_NOT_SUPPORTED' })
    await until(() => client?.node.getConnections().flatMap(c => c.streams).length === 0, 5000, 'the refused stream to go')
  })
})
