/**
 * The contenders: how each one serves (in the server process) and fetches (in the bench process).
 * Every client exposes the same four operations, so scenarios do not know whom they measure.
 */
import { createServer as createHTTPServer } from 'node:http'
import { createServer as createHTTPSServer } from 'node:https'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { generate } from 'selfsigned'
import { Agent, fetch as undiciFetch } from 'undici'
import { createHTTPHost, withKeptX25519Keys } from '../src/index.js'
import { nodeHandler, zeros } from './handlers.js'
import { libp2pHTTPClient } from './libp2p-http.js'
import { RAW_PROTOCOL, receive, send, serveRaw } from './raw-stream.js'
import type { HTTPHost } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'
import type { AddressInfo } from 'node:net'

export const CONTENDERS = ['node-http', 'raw-stream', 'libp2phttp-stream', 'node-https', 'libp2phttp-native', 'libp2p-http'] as const
export type Contender = typeof CONTENDERS[number]

/** What a server process reports once it listens. */
export interface Served {
  addr: string
  /** The PEM certificate of TLS servers, for the client to trust. */
  ca?: string
  stop: () => Promise<void>
}

/**
 * A js-libp2p node as every libp2p contender runs it: TCP on 127.0.0.1, noise, yamux; noise's X25519 on
 * kept keys (`withKeptX25519Keys`), as the command's node has it (a handshake's CPU, not a steady-state cost).
 */
export async function node (): Promise<Awaited<ReturnType<typeof createLibp2p>>> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto: withKeptX25519Keys(defaultCrypto) })],
    streamMuxers: [yamux()]
  })
}

/** A self-signed certificate for 127.0.0.1 (an EC key). */
export async function certificate (): Promise<{ key: string, cert: string }> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
  })
  return { key: pems.private, cert: pems.cert }
}

async function listen (server: ReturnType<typeof createHTTPServer>): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** Start `contender`'s server in this process. */
export async function serve (contender: Contender): Promise<Served> {
  switch (contender) {
    case 'node-http': {
      const server = createHTTPServer((req, res) => { void nodeHandler(req, res) })
      const port = await listen(server)
      return { addr: `http://127.0.0.1:${port}`, stop: async () => { server.closeAllConnections(); server.close() } }
    }
    case 'node-https': {
      const tls = await certificate()
      const server = createHTTPSServer(tls, (req, res) => { void nodeHandler(req, res) })
      const port = await listen(server)
      return { addr: `https://127.0.0.1:${port}`, ca: tls.cert, stop: async () => { server.closeAllConnections(); server.close() } }
    }
    case 'raw-stream': {
      const libp2p = await node()
      await handleRaw(libp2p)
      return { addr: libp2p.getMultiaddrs()[0].toString(), stop: async () => { await libp2p.stop() } }
    }
    case 'libp2phttp-stream': {
      const libp2p = await node()
      const host = await createHTTPHost({ libp2p, ping: false })
      host.serve(nodeHandler)
      return { addr: libp2p.getMultiaddrs()[0].toString(), stop: async () => { await host.close({ timeout: 100 }); await libp2p.stop() } }
    }
    case 'libp2phttp-native': {
      const tls = await certificate()
      const host = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls, ping: false })
      host.serve(nodeHandler)
      return { addr: host.addrs()[0].toString(), ca: tls.cert, stop: async () => { await host.close({ timeout: 100 }) } }
    }
    case 'libp2p-http':
      // @libp2p/http 2.0.6 needs Node 22: run.ts forks bench/libp2p-http.mjs instead of this process
      throw new Error('the libp2p-http server runs under Node 22 (bench/libp2p-http.ts), not in server.ts')
  }
}

/** One contender's client, in the bench process. */
export interface Client {
  small: () => Promise<void>
  /** Download `n` bytes; resolves with the bytes received. */
  download: (n: number) => Promise<number>
  /** Upload `n` bytes; resolves with the count the server acknowledged. */
  upload: (n: number) => Promise<number>
  /** Time from sending the request to the first body byte of a streamed response, in ms. */
  firstByte: () => Promise<number>
  /** CPU seconds used so far by the client's own process, when that is not this one. */
  cpu?: () => Promise<number>
  close: () => Promise<void>
}

const CHUNK = new Uint8Array(64 * 1024)

async function drain (res: Response): Promise<number> {
  if (!res.ok) throw new Error(`bench request failed: ${res.status}`)
  let n = 0
  for await (const chunk of res.body ?? []) n += (chunk as Uint8Array).byteLength
  return n
}

async function firstChunk (start: number, res: Response): Promise<number> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  await reader.read()
  const ms = performance.now() - start
  while (!(await reader.read()).done) { /* the rest */ }
  return ms
}

/**
 * A client over anything that takes (path, init) → Response. Uploads stream, except where `buffered`:
 * @libp2p/http 2.0.6 delivers nothing of a streamed request body, so it is given the bytes whole.
 */
function httpClient (get: (path: string, init?: RequestInit & { duplex?: 'half' }) => Promise<Response>, close: () => Promise<void>, buffered = false): Client {
  return {
    small: async () => { await drain(await get('/small')) },
    download: async (n) => await drain(await get('/bytes', { headers: { 'x-bytes': String(n) } })),
    upload: async (n) => Number(await (await get('/upload', { method: 'POST', body: buffered ? new Uint8Array(n) : zeros(n), duplex: 'half' })).text()),
    firstByte: async () => { const start = performance.now(); return await firstChunk(start, await get('/first')) },
    close
  }
}

/** Client options a probe may vary (`bench/probe.ts`); the bench uses the defaults. */
export interface ClientOptions {
  /** libp2phttp's `streamNegotiation`. */
  streamNegotiation?: 'optimistic' | 'full'
  /** libp2phttp's `http2` (the native transport offers h2 unless `false`). */
  http2?: boolean
}

/** Connect a client of `contender` to a server at `addr`. */
export async function connect (contender: Contender, addr: string, ca?: string, options: ClientOptions = {}): Promise<Client> {
  switch (contender) {
    case 'node-http':
    case 'node-https': {
      // undici's fetch, as libp2phttp's host.fetch uses: the comparison is of transports, not client APIs
      const agent = new Agent({ connect: { ca }, connections: 64 })
      return httpClient(async (path, init) => await (undiciFetch(`${addr}${path}`, { ...init, dispatcher: agent } as never) as unknown as Promise<Response>), async () => { await agent.close() })
    }
    case 'libp2phttp-stream':
    case 'libp2phttp-native': {
      const libp2p = contender === 'libp2phttp-stream' ? await node() : undefined
      const host = await createHTTPHost({ libp2p, clientTLS: { ca }, maxStreamsPerPeer: 64, streamNegotiation: options.streamNegotiation, http2: options.http2 })
      return hostClient(host, addr, async () => { await host.close({ timeout: 100 }); await libp2p?.stop() })
    }
    case 'libp2p-http':
      return await libp2pHTTPClient(addr)
    case 'raw-stream': {
      const libp2p = await node()
      return await rawClient(libp2p, addr, async () => { await libp2p.stop() })
    }
  }
}

/** Serve the raw protocol on `libp2p` (the one-process set-up adds it to a node that serves HTTP too). */
export async function handleRaw (libp2p: Pick<Libp2p, 'handle'>): Promise<void> {
  await libp2p.handle(RAW_PROTOCOL, (stream) => { serveRaw(stream).catch(() => { stream.abort(new Error('bench server failed')) }) }, { maxInboundStreams: 1024 })
}

/** A raw-protocol client on `libp2p`'s connection to `addr`; `close` is the owner's clean-up. */
export async function rawClient (libp2p: Pick<Libp2p, 'dial'>, addr: string, close: () => Promise<void>): Promise<Client> {
  // one connection, a new stream per exchange: what the HTTP contenders do once connected
  const connection = await libp2p.dial(multiaddr(addr))
  const exchange = async (line: string, body: number, onData: (chunk: Uint8Array) => void): Promise<void> => {
    const stream = await connection.newStream(RAW_PROTOCOL, { maxOutboundStreams: 1024 })
    const done = receive(stream, onData)
    await send(stream, new TextEncoder().encode(`${line}\n`))
    for (let left = body; left > 0; left -= CHUNK.byteLength) {
      await send(stream, left >= CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, left))
    }
    await stream.close()
    await done
  }
  return {
    small: async () => { await exchange('small', 0, () => {}) },
    download: async (n) => { let got = 0; await exchange(`bytes ${n}`, 0, (c) => { got += c.byteLength }); return got },
    upload: async (n) => { let text = ''; await exchange('upload', n, (c) => { text += new TextDecoder().decode(c) }); return Number(text) },
    firstByte: async () => {
      const start = performance.now()
      let first = 0
      await exchange('first', 0, () => { if (first === 0) first = performance.now() - start })
      return first
    },
    close
  }
}

/** A libp2phttp client: `host.fetch` to `addr` (a multiaddr, either transport). */
export function hostClient (host: HTTPHost, addr: string, close: () => Promise<void>): Client {
  const target = multiaddr(addr)
  return httpClient(async (path, init) => await host.fetch(`multiaddr:${target.toString()}/http-path/${encodeURIComponent(path.slice(1))}`, init as never), close)
}
