/**
 * A shared HTTP cache (RFC 9111) in front of a peer, for the consumer side of a tunnel and the gateway.
 * The cache itself is undici's: its `cache` interceptor decides what is stored, what is fresh, what must
 * be revalidated (`ETag`, `Last-Modified`; a `304` refreshes the entry) and sets `Age`; its
 * `MemoryCacheStore` holds the entries. Two things are ours:
 *
 * - **The key.** undici keys an entry by origin, method, path (and the `Vary`ing headers). A stream
 *   peer's origin names the peer (`http://<peer>`), but a native (`/tls/http`) peer's is an address,
 *   which another peer can hold later; and a store is shared by every peer a gateway reaches. Each
 *   (peer, protocol) sees the store through {@link scopedStore}, whose keys carry both, so two
 *   providers never share an entry.
 * - **Saying what happened** (RFC 9211 `Cache-Status`): the interceptor does not tell, so a tracer
 *   placed below it sees whether a request went on to the peer at all (a miss, or a revalidation the
 *   cache added `If-None-Match`/`If-Modified-Since` to) and with what status the peer answered.
 *
 * @module
 */
import { cacheStores, interceptors } from 'undici'
import { ForwardingHandler } from '../client/forwarding-handler.js'
import type { Dispatcher } from 'undici'

/** A store for undici's cache interceptor (`cacheStores.MemoryCacheStore`, or one of your own). */
export type CacheStore = NonNullable<NonNullable<Parameters<typeof interceptors.cache>[0]>['store']>

type CacheKey = Parameters<CacheStore['get']>[0]

/** The size of the memory cache when none is given: 64 MiB. */
export const DEFAULT_CACHE_SIZE = 64 * 1024 * 1024

/**
 * A memory store of at most `maxSize` bytes of bodies. One entry may take up to a sixteenth of it (4 MiB
 * of the default 64 MiB): a single large answer would otherwise push out everything else, and undici's
 * store evicts half of every key's entries when it overflows.
 */
export function memoryCacheStore (maxSize = DEFAULT_CACHE_SIZE): CacheStore {
  return new cacheStores.MemoryCacheStore({ maxSize, maxEntrySize: Math.floor(maxSize / 16) })
}

/**
 * `store` as seen by one scope (a peer and its protocol): every key's origin gets the scope in front, so
 * entries of two scopes never meet, whatever their URLs. The interceptor keeps its own, unscoped key
 * (it compares it with the URLs it was redirected through); only the store sees the scoped one.
 *
 * The name the local client used goes in too: a forwarder passes its client's `Host` on to a stream
 * peer (whose URL's origin names the peer, not the host), and in `X-Forwarded-Host` to a native one, so
 * two names are two target URIs (RFC 9111 §2, the key is the target URI) that the peer may answer
 * differently; an upstream behind `serve --upstream` sees the name in `X-Forwarded-Host` and may build
 * links and redirects from it.
 */
export function scopedStore (store: CacheStore, scope: string): CacheStore {
  const named = (key: CacheKey): string => JSON.stringify([key.headers?.host, key.headers?.['x-forwarded-host']].map(v => v == null ? '' : String(v)))
  const scoped = (key: CacheKey): CacheKey => ({ ...key, origin: `${JSON.stringify(scope)} ${named(key)} ${key.origin}` })
  return {
    get: (key) => store.get(scoped(key)),
    createWriteStream: (key, value) => store.createWriteStream(scoped(key), value),
    delete: (key) => store.delete(scoped(key))
  }
}

/** What the cache did with one request, for `Cache-Status` and the log. */
export interface CacheTrace {
  /** The request went on to the peer (a miss, a revalidation, an uncached method). */
  forwarded: boolean
  /** It went on with validators (`If-None-Match`, `If-Modified-Since`), the client's or the cache's. */
  revalidated: boolean
  /** The client's own request had validators: the cache passes it on, whatever it holds. */
  clientConditional: boolean
  /** The peer's status, when it was asked. */
  peerStatus?: number
  /**
   * The client's answer has begun: a request the cache sends on after that is its own background
   * revalidation (`stale-while-revalidate`, the stale answer already served), not this request's.
   */
  answered?: boolean
}

/** The request option under which {@link cachingDispatcher} finds the request's {@link CacheTrace}. */
export const CACHE_TRACE = Symbol.for('libp2phttp.cacheTrace')

/** Dispatch options carrying a {@link CacheTrace} (undici's interceptors copy options with `...`, symbols included). */
export type TracedOptions = Dispatcher.DispatchOptions & { [CACHE_TRACE]?: CacheTrace }

/** Headers of a `304` that describe no stored answer: never merged into it. */
const NOT_MERGED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'content-encoding', 'content-range'])

/**
 * Records the peer's status in the request's trace, and completes undici's revalidation: its
 * interceptor answers a revalidation's `304` from the stored entry but never stores the entry again
 * (RFC 9111 §4.3.4 says to update it with the `304`'s headers): with new `Cache-Control` it deletes the
 * entry, without it the entry stays stale and every request revalidates again. So a `304` to the
 * cache's own revalidation is passed up as the stored answer with the `304`'s headers merged in, which
 * undici's revalidation handler then treats as a new answer and stores through its own rules
 * (freshness, `Vary`, `no-store`). Only for a store that answers at once (the memory store); another
 * store gets undici's behaviour.
 */
class TraceHandler extends ForwardingHandler {
  readonly #trace: CacheTrace
  readonly #stored: (() => ReturnType<CacheStore['get']>) | undefined
  #replay: Iterable<Buffer> | undefined

  constructor (inner: Dispatcher.DispatchHandler, trace: CacheTrace, stored?: () => ReturnType<CacheStore['get']>) {
    super(inner)
    this.#trace = trace
    this.#stored = stored
  }

  override onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    this.#trace.peerStatus = statusCode
    const result = statusCode === 304 ? this.#stored?.() : undefined
    // a 304 that forbids storing (no-store, private) goes up as it is: undici then fetches anew
    const forbids = /(?:^|,)\s*(?:no-store|private)\b/i.test(String(headers['cache-control'] ?? ''))
    if (result == null || typeof (result as Promise<unknown>).then === 'function' || forbids) {
      super.onResponseStart(controller, statusCode, headers, statusMessage)
      return
    }
    const entry = result as Exclude<ReturnType<CacheStore['get']>, Promise<unknown> | undefined>
    if (!Array.isArray(entry.body) && entry.body != null) {
      super.onResponseStart(controller, statusCode, headers, statusMessage)
      return
    }
    const merged: Record<string, string | string[]> = { ...entry.headers as Record<string, string | string[]> }
    for (const [name, value] of Object.entries(headers)) if (!NOT_MERGED.has(name)) merged[name] = value
    this.#replay = (entry.body ?? []) as Buffer[]
    super.onResponseStart(controller, entry.statusCode, merged, entry.statusMessage)
  }

  override onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // a 304 has no body; the stored one goes up at its end
    if (this.#replay == null) super.onResponseData(controller, chunk)
  }

  override onResponseEnd (controller: Dispatcher.DispatchController, trailers: Record<string, string | string[]>): void {
    if (this.#replay != null) for (const chunk of this.#replay) super.onResponseData(controller, chunk)
    super.onResponseEnd(controller, trailers)
  }
}

/** Marks a trace {@link CacheTrace.answered} when the client's answer begins. */
class AnsweredHandler extends ForwardingHandler {
  readonly #trace: CacheTrace

  constructor (inner: Dispatcher.DispatchHandler, trace: CacheTrace) {
    super(inner)
    this.#trace = trace
  }

  override onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    this.#trace.answered = true
    super.onResponseStart(controller, statusCode, headers, statusMessage)
  }
}

/** Whether `headers` (any form undici accepts) has a header `name` (lowercase). */
function hasHeader (headers: Dispatcher.DispatchOptions['headers'], name: string): boolean {
  if (headers == null) return false
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += Array.isArray(headers[0]) ? 1 : 2) {
      const entry: unknown = Array.isArray(headers[0]) ? (headers[i] as unknown as string[])[0] : headers[i]
      if (String(entry).toLowerCase() === name) return true
    }
    return false
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [key] of headers as Iterable<[string, unknown]>) if (key.toLowerCase() === name) return true
    return false
  }
  return Object.keys(headers).some(key => key.toLowerCase() === name)
}

/** Whether a request has a validator (`If-None-Match`, `If-Modified-Since`). */
function conditional (headers: Dispatcher.DispatchOptions['headers']): boolean {
  return hasHeader(headers, 'if-none-match') || hasHeader(headers, 'if-modified-since')
}

/**
 * `dispatcher` with undici's shared cache in front, storing in `store` under `scope` (see
 * {@link scopedStore}). A request whose options carry a {@link CacheTrace} under {@link CACHE_TRACE}
 * has it filled in.
 */
export function cachingDispatcher (dispatcher: Dispatcher, store: CacheStore, scope: string): Dispatcher {
  const scoped = scopedStore(store, scope)
  const trace: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts: TracedOptions, handler) => {
    const record = opts[CACHE_TRACE]
    if (record == null || record.answered === true) return dispatch(opts, handler)
    record.forwarded = true
    record.revalidated = record.revalidated || conditional(opts.headers)
    // the cache's own revalidation (the client's validators are the client's business): the entry it
    // revalidates is the one under this request's key (undici's: origin, method, path; its headers for Vary)
    const own = record.revalidated && !record.clientConditional && opts.origin != null
    const stored = own ? () => scoped.get({ origin: String(opts.origin), method: opts.method, path: opts.path, headers: opts.headers as Record<string, string | string[]> }) : undefined
    return dispatch(opts, new TraceHandler(handler, record, stored))
  }
  // above the cache: marks when the client's answer begins (from the cache or the peer)
  const answered: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts: TracedOptions, handler) => {
    const record = opts[CACHE_TRACE]
    return dispatch(opts, record == null ? handler : new AnsweredHandler(handler, record))
  }
  // innermost first: the tracer sees only what the cache sends on
  const cached = dispatcher.compose(trace, interceptors.cache({ store: scoped, type: 'shared', methods: ['GET', 'HEAD'] }), answered)
  // an upgrade (WebSocket) is a GET the interceptor would answer from a stored GET of its URL
  const upgrades: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => opts.upgrade == null ? dispatch(opts, handler) : dispatcher.dispatch(opts, handler)
  return cached.compose(upgrades)
}

/** A fresh trace for a request with `headers` (the client's). */
export function startTrace (headers: Dispatcher.DispatchOptions['headers']): CacheTrace {
  return { forwarded: false, revalidated: false, clientConditional: conditional(headers) }
}

/** The outcome of a traced request: `hit` (served from the cache), `revalidated` (a `304` from the peer refreshed a stored answer) or `miss`. */
export type CacheOutcome = 'hit' | 'revalidated' | 'miss'

/** What a trace says happened. */
export function cacheOutcome (trace: CacheTrace, status: number): CacheOutcome {
  if (!trace.forwarded) return 'hit'
  // the cache asked with its validators, the peer said "not modified", and the client got the stored answer
  if (trace.revalidated && !trace.clientConditional && trace.peerStatus === 304 && status !== 304) return 'revalidated'
  return 'miss'
}

/**
 * The `Cache-Status` member of this cache (RFC 9211 §2) for a traced request: `hit`; or why it went
 * on (`fwd=request`: the client's validators, `fwd=stale`: a revalidation, `fwd=miss`) with the peer's
 * status.
 */
export function cacheStatusMember (name: string, trace: CacheTrace): string {
  if (!trace.forwarded) return `${name}; hit`
  const why = trace.clientConditional ? 'request' : trace.revalidated ? 'stale' : 'miss'
  return `${name}; fwd=${why}${trace.peerStatus == null ? '' : `; fwd-status=${trace.peerStatus}`}`
}
