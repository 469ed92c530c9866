/**
 * Every failure is an answer, never a hang: handler errors, resets, aborts, unreachable peers, close.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DialError, HostClosedError, InvalidTargetError, ProtocolNotSupportedError, StreamResetError } from '../../src/index.js'
import { StreamSocket } from '../../src/stream/socket.js'
import { createNode, createPeer, sleep, stopPeers, until, uriOf } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { Libp2p } from '@libp2p/interface'
import type { IncomingMessage, ServerResponse } from 'node:http'

let server: Peer | undefined
let client: Peer | undefined
let extra: Libp2p | undefined
afterEach(async () => {
  await stopPeers(server, client)
  await extra?.stop()
  server = client = extra = undefined
})

async function pair (onError?: (err: unknown) => void): Promise<[Peer, Peer]> {
  server = await createPeer({ onError: onError ?? (() => {}) })
  client = await createPeer()
  return [server, client]
}

/** Watch the server's stream sockets to see how each exchange ended. */
function watchSockets (): { errors: Error[], closed: number, restore: () => void } {
  const seen = { errors: [] as Error[], closed: 0, restore: () => {} }
  const original = StreamSocket.prototype._destroy
  const spy = vi.spyOn(StreamSocket.prototype, '_destroy').mockImplementation(function (this: StreamSocket, err, cb) {
    if (this.stream.direction === 'inbound') {
      if (err != null) seen.errors.push(err)
      seen.closed++
    }
    original.call(this, err, cb)
  })
  seen.restore = () => { spy.mockRestore() }
  return seen
}

describe('handler failures', () => {
  it('a handler that throws gives 500 and reports the error', async () => {
    const errors: unknown[] = []
    const [s, c] = await pair(err => errors.push(err))
    s.host.serve((_req: IncomingMessage, _res: ServerResponse) => { throw new Error('boom') })
    const res = await c.host.fetch(uriOf(s, '/'))
    expect(res.status).toBe(500)
    expect(await res.text()).toBe('Internal Server Error\n')
    expect((errors[0] as Error).message).toBe('boom')
  })

  it('an async handler that rejects gives 500', async () => {
    const [s, c] = await pair()
    s.host.serve(async (_req: IncomingMessage, _res: ServerResponse) => { await sleep(5); throw new Error('later') })
    const res = await c.host.fetch(uriOf(s, '/'))
    expect(res.status).toBe(500)
  })

  it('a fetch-style handler that throws gives 500', async () => {
    const [s, c] = await pair()
    s.host.serve(async (_request: Request): Promise<Response> => { throw new Error('nope') })
    const res = await c.host.fetch(uriOf(s, '/'))
    expect(res.status).toBe(500)
  })

  it('a handler failing after the headers resets the stream and errors the body', async () => {
    const [s, c] = await pair()
    s.host.serve(async (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('partial')
      await sleep(20)
      throw new Error('midway')
    })
    const res = await c.host.fetch(uriOf(s, '/'))
    expect(res.status).toBe(200)
    await expect(res.text()).rejects.toThrow()
  })

  it('no handler served: 404', async () => {
    const [s, c] = await pair()
    const res = await c.host.fetch(uriOf(s, '/'))
    expect(res.status).toBe(404)
  })
})

describe('resets', () => {
  it('a server reset before the response rejects the fetch with StreamResetError', async () => {
    const [s, c] = await pair()
    s.host.serve((req: IncomingMessage, _res: ServerResponse) => {
      (req.socket as unknown as StreamSocket).stream.abort(new Error('server gives up'))
    })
    const err = await c.host.fetch(uriOf(s, '/')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StreamResetError)
    expect((err as StreamResetError).code).toBe('ERR_STREAM_RESET')
  })

  it('a server reset mid-body errors the response body', async () => {
    const [s, c] = await pair()
    s.host.serve((req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-length': '1000000' })
      res.write(Buffer.alloc(1000))
      setTimeout(() => { (req.socket as unknown as StreamSocket).stream.abort(new Error('server gives up')) }, 20)
    })
    const res = await c.host.fetch(uriOf(s, '/'))
    expect(res.status).toBe(200)
    const err = await res.arrayBuffer().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    // undici reports `terminated`, caused by our typed reset
    expect(String((err as Error).cause)).toMatch(/reset/)
  })
})

describe('abort', () => {
  it('aborting while waiting for headers rejects with AbortError and resets the stream', async () => {
    const [s, c] = await pair()
    const seen = watchSockets()
    try {
      let serverSawClose = false
      const controller = new AbortController()
      s.host.serve((_req: IncomingMessage, res: ServerResponse) => {
        res.on('close', () => { serverSawClose = true })
        // abort once the request is surely in (a timer raced the dial on a loaded machine)
        controller.abort()
      })
      const err = await c.host.fetch(uriOf(s, '/'), { signal: controller.signal }).catch((e: unknown) => e)
      expect((err as Error).name).toBe('AbortError')
      await until(() => serverSawClose, 5000, 'server to see the request end')
      await until(() => seen.closed > 0, 5000, 'server socket to close')
      expect(seen.errors.some(e => e instanceof StreamResetError)).toBe(true)
    } finally {
      seen.restore()
    }
  })

  it('aborting during the body errors the body stream and resets the stream', async () => {
    const [s, c] = await pair()
    const seen = watchSockets()
    try {
      s.host.serve((_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200)
        const timer = setInterval(() => { res.write('tick\n') }, 5)
        res.on('close', () => { clearInterval(timer) })
      })
      const controller = new AbortController()
      const res = await c.host.fetch(uriOf(s, '/'), { signal: controller.signal })
      const reader = res.body!.getReader()
      await reader.read()
      controller.abort()
      const err = await reader.read().then(() => reader.read()).catch((e: unknown) => e)
      expect((err as Error).name).toBe('AbortError')
      await until(() => seen.errors.some(e => e instanceof StreamResetError), 5000, 'server stream reset')
    } finally {
      // a failure here must not leave the spy on for the next tests
      seen.restore()
    }
  })

  it('an already-aborted signal rejects at once', async () => {
    const [s, c] = await pair()
    s.host.serve((_req: IncomingMessage, res: ServerResponse) => { res.end() })
    const err = await c.host.fetch(uriOf(s, '/'), { signal: AbortSignal.abort() }).catch((e: unknown) => e)
    expect((err as Error).name).toBe('AbortError')
  })
})

describe('unreachable peers', () => {
  it('a peer that cannot be dialled rejects with DialError', async () => {
    client = await createPeer({ connectTimeout: 5000 })
    const gone = await createNode()
    const addr = gone.getMultiaddrs()[0]
    await gone.stop()
    const err = await client.host.fetch(`multiaddr:${addr.toString()}`).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DialError)
    expect((err as DialError).code).toBe('ERR_DIAL_FAILED')
  })

  it('a peer without /http/1.1 rejects with ProtocolNotSupportedError', async () => {
    client = await createPeer()
    extra = await createNode()
    const err = await client.host.fetch(`multiaddr:${extra.getMultiaddrs()[0].toString()}`).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ProtocolNotSupportedError)
    expect((err as ProtocolNotSupportedError).code).toBe('ERR_PROTOCOL_NOT_SUPPORTED')
  })

  it('a malformed multiaddr URI rejects with InvalidTargetError', async () => {
    client = await createPeer()
    const err = await client.host.fetch('multiaddr:/ip4/not-an-ip/tcp/1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidTargetError)
    expect((err as InvalidTargetError).code).toBe('ERR_INVALID_TARGET')
  })
})

describe('close', () => {
  it('is idempotent, unregisters the protocol, and refuses new fetches', async () => {
    const [s, c] = await pair()
    s.host.serve((_req: IncomingMessage, res: ServerResponse) => { res.end('x') })
    expect(await (await c.host.fetch(uriOf(s, '/'))).text()).toBe('x')
    await Promise.all([s.host.close(), s.host.close()])
    await s.host.close()
    expect(s.node.getProtocols()).not.toContain('/http/1.1')
    const err = await c.host.fetch(uriOf(s, '/')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ProtocolNotSupportedError)
    await c.host.close()
    await expect(c.host.fetch(uriOf(s, '/'))).rejects.toBeInstanceOf(HostClosedError)
  })

  it('lets an in-flight request finish, and resets one that outlives the timeout', async () => {
    const [s, c] = await pair()
    let slowStarted = false
    s.host.serve(async (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/slow') {
        slowStarted = true
        await sleep(100)
        res.end('done')
        return
      }
      res.writeHead(200)
      res.write('forever')
    })
    const slow = c.host.fetch(uriOf(s, '/slow'))
    const forever = await c.host.fetch(uriOf(s, '/forever'))
    // both requests in flight before the close (a fixed sleep raced the dial on a loaded machine)
    await until(() => slowStarted, 5000, 'the slow request to arrive')
    const started = Date.now()
    await s.host.close({ timeout: 500 })
    expect(Date.now() - started).toBeLessThan(2000)
    expect(await (await slow).text()).toBe('done')
    await expect(forever.text()).rejects.toThrow()
  })
})
