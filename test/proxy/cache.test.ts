/**
 * Issue 19: the consumer's shared cache (RFC 9111) through real peers. A provider peer answers with the
 * headers each case names and counts what reaches it; a local server in front of `forwardToPeer` with a
 * cache is asked twice (or three times) with plain `fetch`. Each row is one rule of RFC 9111 for a
 * shared cache, and says how many requests the peer must have seen.
 */
import { createServer } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cacheStores, interceptors, request } from 'undici'
import { WebSocket, WebSocketServer } from 'ws'
import { forwardToPeer, gateway } from '../../src/index.js'
import { memoryCacheStore } from '../../src/index.js'
import { scopedStore } from '../../src/proxy/cache.js'
import { cacheOutcomeOf } from '../../src/proxy/upstream.js'
import { createPeer, sleep, stopPeers } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'
import type { PeerForwarder } from '../../src/index.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

let provider: Peer
let other: Peer
let consumer: Peer
let base: string
let wsBase: string
const locals: Server[] = []
/** What reached the provider, per path: the request headers of each request. */
const reached = new Map<string, IncomingMessage['headers'][]>()
/** The outcome the proxy recorded for each local response, in order. */
const outcomes: Array<string | undefined> = []

/** How the provider answers a path: status and headers, the body its path and hit count. */
type Reply = { status?: number, headers: Record<string, string> }
type Answer = (req: IncomingMessage, n: number) => Reply
const answers = new Map<string, Answer>()

async function local (listener: ((req: IncomingMessage, res: ServerResponse) => void) & { upgrade?: PeerForwarder['upgrade'] }): Promise<string> {
  const s = createServer((req, res) => {
    res.once('close', () => { outcomes.push(cacheOutcomeOf(res)) })
    listener(req, res)
  })
  if (listener.upgrade != null) s.on('upgrade', listener.upgrade)
  locals.push(s)
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}

/** A provider whose answers come from {@link answers}; its body names `who`, the path and the count. */
function serveAnswers (peer: Peer, who: string): void {
  peer.host.handle('/x/site/1', (req, res) => {
    const path = req.url ?? '/'
    const seen = reached.get(`${who}${path}`) ?? []
    seen.push(req.headers)
    reached.set(`${who}${path}`, seen)
    const answer = answers.get(path)?.(req, seen.length) ?? { headers: {} }
    res.writeHead(answer.status ?? 200, { 'content-type': 'text/plain', ...answer.headers })
    res.end(answer.status === 304 ? undefined : `${who} ${path} #${seen.length}`)
  })
}

beforeAll(async () => {
  provider = await createPeer()
  other = await createPeer()
  consumer = await createPeer()
  serveAnswers(provider, 'A')
  // a WebSocket endpoint whose plain GET may be cached
  const wss = new WebSocketServer({ noServer: true })
  const ws = createServer((_req, res) => { res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }).end('use a WebSocket') })
  ws.on('upgrade', (req, socket, head) => { wss.handleUpgrade(req, socket, head, (c) => { c.on('message', (m: Buffer) => { c.send(`echo ${m.toString()}`) }) }) })
  provider.host.handle('/x/ws/1', ws)
  wsBase = await local(forwardToPeer(consumer.host, provider.node.getMultiaddrs()[0], { protocol: '/x/ws/1', cache: memoryCacheStore(), allowHosts: [] }))
  serveAnswers(other, 'B')
  await consumer.node.dial(provider.node.getMultiaddrs())
  await consumer.node.dial(other.node.getMultiaddrs())
  base = await local(forwardToPeer(consumer.host, provider.node.getMultiaddrs()[0], { protocol: '/x/site/1', cache: memoryCacheStore(), pseudonym: 'edge' }))
})
afterAll(async () => {
  for (const s of locals) { s.closeAllConnections(); s.close() }
  await stopPeers(consumer, provider, other)
})

/** One rule: the provider's answer, the requests' headers, and how many requests reach the provider. */
interface Case {
  name: string
  answer: Answer
  requests: Array<Record<string, string>>
  reached: number
  /** Wait this long between the requests (a freshness lifetime running out). */
  pause?: number
  /** What the last answer's `Cache-Status` says. */
  status?: RegExp
}

const hours = new Date(Date.now() - 3_600_000).toUTCString()
const cases: Case[] = [
  { name: 'fresh (max-age): served from the cache, with Age', answer: () => ({ headers: { 'cache-control': 'max-age=60' } }), requests: [{}, {}, {}], reached: 1, status: /^edge; hit$/ },
  { name: 'no-store: never stored', answer: () => ({ headers: { 'cache-control': 'no-store, max-age=60' } }), requests: [{}, {}], reached: 2, status: /^edge; fwd=miss; fwd-status=200$/ },
  { name: 'private: not stored by a shared cache', answer: () => ({ headers: { 'cache-control': 'private, max-age=60' } }), requests: [{}, {}], reached: 2 },
  { name: 'Authorization: not stored without public, s-maxage or must-revalidate (§3.5)', answer: () => ({ headers: { 'cache-control': 'max-age=60' } }), requests: [{ authorization: 'Bearer a' }, { authorization: 'Bearer a' }], reached: 2 },
  { name: 'Authorization with public: stored', answer: () => ({ headers: { 'cache-control': 'public, max-age=60' } }), requests: [{ authorization: 'Bearer a' }, { authorization: 'Bearer a' }], reached: 1 },
  { name: 'Vary: one entry per value of the named header', answer: () => ({ headers: { 'cache-control': 'max-age=60', vary: 'X-Lang' } }), requests: [{ 'x-lang': 'en' }, { 'x-lang': 'en' }, { 'x-lang': 'fr' }, { 'x-lang': 'fr' }], reached: 2 },
  { name: 'Vary: *: never reused', answer: () => ({ headers: { 'cache-control': 'max-age=60', vary: '*' } }), requests: [{}, {}], reached: 2 },
  { name: 's-maxage wins over max-age in a shared cache (fresh)', answer: () => ({ headers: { 'cache-control': 'max-age=0, s-maxage=60' } }), requests: [{}, {}], reached: 1 },
  { name: 's-maxage=0 wins over max-age in a shared cache (stale)', answer: () => ({ headers: { 'cache-control': 'max-age=60, s-maxage=0' } }), requests: [{}, {}], reached: 2 },
  {
    name: 'ETag: a stale entry is revalidated with If-None-Match; the 304 serves the stored body',
    answer: (req): Reply => req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: { etag: '"v1"' } } : { headers: { 'cache-control': 'no-cache', etag: '"v1"' } },
    requests: [{}, {}],
    reached: 2,
    status: /^edge; fwd=stale; fwd-status=304$/
  },
  {
    name: 'Last-Modified: revalidated with If-Modified-Since',
    answer: (req): Reply => req.headers['if-modified-since'] === hours ? { status: 304, headers: {} } : { headers: { 'cache-control': 'max-age=0', 'last-modified': hours } },
    requests: [{}, {}],
    reached: 2,
    status: /fwd=stale; fwd-status=304/
  },
  {
    name: 'a 304 with new Cache-Control refreshes the entry: the next request is a hit',
    answer: (req): Reply => req.headers['if-none-match'] === '"r1"' ? { status: 304, headers: { etag: '"r1"', 'cache-control': 'max-age=60' } } : { headers: { 'cache-control': 'max-age=1', etag: '"r1"' } },
    requests: [{}, {}, {}],
    pause: 1100,
    reached: 2,
    status: /^edge; hit$/
  },
  {
    name: 'a 304 without Cache-Control refreshes the entry too: the stored max-age counts from the 304',
    answer: (req): Reply => req.headers['if-none-match'] === '"q1"' ? { status: 304, headers: { etag: '"q1"' } } : { headers: { 'cache-control': 'max-age=2', etag: '"q1"' } },
    requests: [{}, {}, {}],
    pause: 2100,
    reached: 2,
    status: /^edge; hit$/
  },
  { name: "the client's no-cache: passed on even when fresh", answer: () => ({ headers: { 'cache-control': 'max-age=60' } }), requests: [{}, { 'cache-control': 'no-cache' }], reached: 2 },
  { name: 'Set-Cookie: not stored by a shared cache', answer: () => ({ headers: { 'cache-control': 'max-age=60', 'set-cookie': 'a=b' } }), requests: [{}, {}], reached: 2 }
]

describe('forwardToPeer with a cache: RFC 9111 for a shared cache', () => {
  cases.forEach((c, i) => {
    it(c.name, async () => {
      const path = `/case-${i}`
      answers.set(path, c.answer)
      let last: Response | undefined
      const bodies: string[] = []
      for (const [n, headers] of c.requests.entries()) {
        if (n > 0 && c.pause != null && n === 1) await sleep(c.pause)
        last = await fetch(`${base}${path}`, { headers })
        bodies.push(await last.text())
      }
      expect(reached.get(`A${path}`)?.length).toBe(c.reached)
      // every answer is the provider's, never another path's or peer's
      for (const body of bodies) expect(body).toMatch(new RegExp(`^A ${path} #\\d+$`))
      if (c.status != null) expect(last?.headers.get('cache-status')).toMatch(c.status)
    })
  })

  it('a hit carries Age and the body stored; the log hears hit/miss/revalidated', async () => {
    answers.set('/age', () => ({ headers: { 'cache-control': 'max-age=60', date: new Date(Date.now() - 5000).toUTCString() } }))
    outcomes.length = 0
    const first = await fetch(`${base}/age`)
    const stored = await first.text()
    const second = await fetch(`${base}/age`)
    expect(await second.text()).toBe(stored)
    // the answer was 5 s old when it arrived (its Date): RFC 9111 §4.2.3's apparent age counts
    expect(Number(second.headers.get('age'))).toBeGreaterThanOrEqual(5)
    await sleep(10)
    expect(outcomes).toEqual(['miss', 'hit'])
  })

  it('POST is not cached and invalidates the stored GET (§4.4)', async () => {
    answers.set('/post', () => ({ headers: { 'cache-control': 'max-age=60' } }))
    await (await fetch(`${base}/post`)).text()
    await (await fetch(`${base}/post`)).text()
    await (await fetch(`${base}/post`, { method: 'POST', body: 'x' })).text()
    await (await fetch(`${base}/post`)).text()
    expect(reached.get('A/post')?.map(h => h['content-length'] ?? '-')).toEqual(['-', '1', '-'])
  })
})

describe('host.dispatcher composed with undici\'s cache interceptor', () => {
  it('caches answers from peers, each peer\'s apart (its URL names it)', async () => {
    const cached = consumer.host.dispatcher.compose(interceptors.cache({ store: new cacheStores.MemoryCacheStore() }))
    answers.set('/lib', () => ({ headers: { 'cache-control': 'max-age=60' } }))
    const read = async (peer: Peer): Promise<string> => {
      const res = await request(await consumer.host.url({ peer: peer.node.peerId, path: '/x/site/1/lib' }), { dispatcher: cached })
      return await res.body.text()
    }
    expect([await read(provider), await read(other), await read(provider), await read(other)]).toEqual(['A /lib #1', 'B /lib #1', 'A /lib #1', 'B /lib #1'])
    expect(reached.get('A/lib')?.length).toBe(1)
    expect(reached.get('B/lib')?.length).toBe(1)
  })
})

describe('upgrades pass the cache by', () => {
  it('a WebSocket to a URL whose GET is stored still gets its 101', async () => {
    expect(await (await fetch(`${wsBase}/`)).text()).toBe('use a WebSocket')
    expect((await fetch(`${wsBase}/`)).headers.get('cache-status')).toMatch(/; hit$/)
    const socket = new WebSocket(`${wsBase.replace('http:', 'ws:')}/`)
    const reply = await new Promise<string>((resolve, reject) => {
      socket.on('open', () => { socket.send('hi') }).on('message', (m: Buffer) => { resolve(m.toString()) }).on('error', reject).on('unexpected-response', (_req, res) => { reject(new Error(`got ${String(res.statusCode)}`)) })
    })
    socket.close()
    expect(reply).toBe('echo hi')
  })
})

describe('entries are keyed per peer and protocol', () => {
  it('two providers serving the same path through one gateway and one store never share an entry', async () => {
    const gw = await local(gateway(consumer.host, { cache: memoryCacheStore() }))
    answers.set('/same', () => ({ headers: { 'cache-control': 'max-age=60' } }))
    const at = (peer: Peer): string => `${gw}/p2p/${peer.node.peerId.toString()}/x/site/1/http/same`
    const a1 = await (await fetch(at(provider))).text()
    const b1 = await (await fetch(at(other))).text()
    const a2 = await (await fetch(at(provider))).text()
    const b2 = await (await fetch(at(other))).text()
    expect([a1, b1, a2, b2]).toEqual(['A /same #1', 'B /same #1', 'A /same #1', 'B /same #1'])
  })

  it('scopedStore: the same URL in two scopes is two entries', async () => {
    const store = memoryCacheStore()
    const key = { origin: 'https://127.0.0.1:4001', method: 'GET', path: '/same', headers: {} }
    const value = { statusCode: 200, statusMessage: 'OK', headers: {}, cacheControlDirectives: {}, cachedAt: Date.now(), staleAt: Date.now() + 60_000, deleteAt: Date.now() + 60_000 }
    const write = scopedStore(store, '12D3KooWA /x/site/1').createWriteStream(key, value)
    await new Promise<void>((resolve, reject) => { write?.on('finish', resolve).on('error', reject).end(Buffer.from('A')) })
    expect(await scopedStore(store, '12D3KooWA /x/site/1').get(key)).toMatchObject({ statusCode: 200 })
    expect(await scopedStore(store, '12D3KooWB /x/site/1').get(key)).toBeUndefined()
    expect(await scopedStore(store, '12D3KooWA /x/other/1').get(key)).toBeUndefined()
    expect(await store.get(key)).toBeUndefined()
  })

  it('scopedStore: a native peer\'s requests differing only in X-Forwarded-Host (the local client\'s Host) are two entries', async () => {
    const store = scopedStore(memoryCacheStore(), '12D3KooWA /x/site/1')
    const key = (name: string): Parameters<typeof store.get>[0] => ({ origin: 'https://127.0.0.1:4001', method: 'GET', path: '/same', headers: { host: 'provider.example', 'x-forwarded-host': name } })
    const value = { statusCode: 200, statusMessage: 'OK', headers: {}, cacheControlDirectives: {}, cachedAt: Date.now(), staleAt: Date.now() + 60_000, deleteAt: Date.now() + 60_000 }
    const write = store.createWriteStream(key('a.example'), value)
    await new Promise<void>((resolve, reject) => { write?.on('finish', resolve).on('error', reject).end(Buffer.from('A')) })
    expect(await store.get(key('a.example'))).toMatchObject({ statusCode: 200 })
    expect(await store.get(key('b.example'))).toBeUndefined()
  })
})

describe('the Host the local client names is part of the key', () => {
  it('two Host names through one forwarder are two target URIs: neither gets the other\'s stored answer', async () => {
    // the caller's Host goes on to a stream peer (an upstream behind `serve --upstream` sees it in
    // X-Forwarded-Host and may build links from it): the stored answer for one name is not another's
    answers.set('/hosted', () => ({ headers: { 'cache-control': 'max-age=60' } }))
    const get = async (host: string): Promise<string> => await (await request(`${base}/hosted`, { headers: { host } })).body.text()
    expect(await get('a.example')).toBe('A /hosted #1')
    expect(await get('b.example')).toBe('A /hosted #2')
    expect(await get('a.example')).toBe('A /hosted #1')
    expect(reached.get('A/hosted')?.map(h => h.host)).toEqual(['a.example', 'b.example'])
  })
})

describe('stale-while-revalidate', () => {
  it('the stale answer served at once is a hit, though the cache then asks the peer in the background', async () => {
    answers.set('/swr', () => ({ headers: { 'cache-control': 'max-age=2, stale-while-revalidate=60', etag: '"s1"' } }))
    // the answer is stored once its body has gone through the cache's writer: on a loaded machine not
    // always before the next request, so ask until a fresh hit shows it is there (one CI run under three
    // suites at once asked the peer a second time here)
    let stored: string | undefined
    for (let i = 0; stored == null && i < 100; i++) {
      const res = await fetch(`${base}/swr`)
      const text = await res.text()
      if (res.headers.get('cache-status') === 'edge; hit') stored = text
      else await sleep(20)
    }
    expect(stored).toMatch(/^A \/swr #\d+$/)
    await sleep(2100)
    outcomes.length = 0
    const stale = await fetch(`${base}/swr`)
    expect(await stale.text()).toBe(stored)
    expect(stale.headers.get('cache-status')).toBe('edge; hit')
    // the log's outcome is recorded when the local response closes
    while (outcomes.length === 0) await sleep(5)
    expect(outcomes).toEqual(['hit'])
  })
})
