/**
 * The handler shapes (src/server/handler.ts, rules 1–3), each run on a real request: a listener from
 * toRequestListener is served by a loopback http.Server and fetched, so each test sees what the
 * handler answered, not only that something came back.
 */
import { Server, createServer } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { toRequestListener } from '../../src/server/handler.js'
import { InvalidHandlerError, fetchHandler, nodeHandler } from '../../src/index.js'
import type { Handler, RequestListener } from '../../src/server/handler.js'
import type { AddressInfo } from 'node:net'
import type { IncomingMessage, ServerResponse } from 'node:http'

let servers: Server[] = []
afterEach(() => { for (const s of servers) s.close(); servers = [] })

/** Serve `handler` (through toRequestListener) for one request: its status, body, and what it threw. */
async function answer (handler: Handler): Promise<{ status: number, body: string, error?: unknown }> {
  const listener: RequestListener = toRequestListener(handler)
  let error: unknown
  const server = createServer((req, res) => {
    // what the host's pipeline does with a throwing or rejecting listener: 500, and onError
    Promise.resolve().then(() => listener(req, res)).catch((err: unknown) => {
      error = err
      if (!res.headersSent) res.statusCode = 500
      res.end()
    })
  })
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/p?q=1`, { signal: AbortSignal.timeout(5000) })
  return { status: res.status, body: await res.text(), error }
}

describe('toRequestListener', () => {
  it('runs a (req, res) listener and an Express-style (req, res, next) as Node listeners', async () => {
    expect(await answer((req: IncomingMessage, res: ServerResponse) => { res.end(`node ${req.url}`) })).toMatchObject({ status: 200, body: 'node /p?q=1' })
    expect(await answer((req: IncomingMessage, res: ServerResponse, _next: unknown) => { res.end(`express ${req.url}`) })).toMatchObject({ status: 200, body: 'express /p?q=1' })
  })

  it('runs a one-parameter function and a { fetch } object as fetch-style, the object\'s fetch called as its method', async () => {
    expect(await answer((request: Request) => new Response(`fetch ${new URL(request.url).pathname}`))).toMatchObject({ status: 200, body: 'fetch /p' })
    const app = { greeting: 'hono-like', fetch (this: { greeting: string }, request: Request) { return new Response(`${this.greeting} ${new URL(request.url).search}`, { status: 201 }) } }
    expect(await answer(app)).toMatchObject({ status: 201, body: 'hono-like ?q=1' })
  })

  it('uses a Koa-like app.callback()', async () => {
    expect(await answer({ callback: () => (_req: IncomingMessage, res: ServerResponse) => { res.end('koa') } })).toMatchObject({ status: 200, body: 'koa' })
  })

  it("runs an http.Server's own request listeners, and answers 404 for a server without one", async () => {
    const inner = new Server()
    inner.on('request', (req, res) => { res.end(`inner ${req.url}`) })
    expect(await answer(inner)).toMatchObject({ status: 200, body: 'inner /p?q=1' })
    expect(await answer(new Server())).toMatchObject({ status: 404, body: '' })
  })

  it('honours explicit marks over declared parameters', async () => {
    // rest parameters declare none; a marked two-parameter function is fetch-style all the same
    expect(await answer(nodeHandler((...args: unknown[]) => { (args[1] as ServerResponse).end('marked node') }))).toMatchObject({ status: 200, body: 'marked node' })
    expect(await answer(fetchHandler((..._args: unknown[]) => new Response('marked fetch')))).toMatchObject({ status: 200, body: 'marked fetch' })
    expect(await answer(fetchHandler(((request: Request, _env: unknown) => new Response(`env-style ${request.method}`)) as never))).toMatchObject({ status: 200, body: 'env-style GET' })
  })

  it('a wrong reading of the declared parameters fails the request with InvalidHandlerError naming the mark, never leaves it unanswered', async () => {
    // a fetch handler declaring two parameters, sync and async: read as a Node listener
    const sync = await answer(((_request: Request, _env: unknown) => new Response('x')) as never)
    expect(sync.status).toBe(500)
    expect(sync.error).toBeInstanceOf(InvalidHandlerError)
    expect(String(sync.error)).toMatch(/fetchHandler\(\)/)
    const later = await answer((async (_request: Request, _env: unknown) => new Response('x')) as never)
    expect(later.status).toBe(500)
    expect(String(later.error)).toMatch(/fetchHandler\(\)/)
    // a Node listener declaring one parameter: read as fetch-style, returns no Response
    const one = await answer(((req: IncomingMessage & { res?: ServerResponse }) => { void req }) as never)
    expect(one.status).toBe(500)
    expect(one.error).toBeInstanceOf(InvalidHandlerError)
    expect(String(one.error)).toMatch(/nodeHandler\(\)/)
  })

  it('refuses what it cannot classify when it is served, saying what to do', () => {
    expect(() => toRequestListener((() => {}) as never)).toThrow(/nodeHandler\(\) or fetchHandler\(\)/)
    expect(() => toRequestListener(((..._args: unknown[]) => {}) as never)).toThrow(InvalidHandlerError)
    expect(() => toRequestListener(((_a: unknown, _b: unknown, _c: unknown, _d: unknown) => {}) as never)).toThrow(/4 parameters/)
    expect(() => toRequestListener({} as never)).toThrow(InvalidHandlerError)
    expect(() => toRequestListener(null as never)).toThrow(InvalidHandlerError)
  })
})
