/**
 * Discovering peers' protocol maps: fetch `/.well-known/libp2p/protocols` (the legacy
 * `/.well-known/libp2p` when that is 404) through the host's own `fetch`, so over whichever transport the
 * host picks for the target; read at most 8 KiB; cache per peer in a bounded LRU with a TTL; one request
 * per peer at a time, shared by concurrent callers.
 *
 * @module
 */
import { InvalidLimitError, InvalidProtocolMapError, WellKnownStatusError, WellKnownTimeoutError, WellKnownTooLargeError } from '../errors.js'
import { LRUMap } from '../util/lru.js'
import { readAtMost } from '../util/read-limit.js'
import { targetKey, withPath } from '../client/target-path.js'
import { LEGACY_WELL_KNOWN_PATH, WELL_KNOWN_PATH, parseProtocolMap, validateProtocolMap } from './well-known.js'
import type { FetchTarget } from '../client/target.js'
import type { ProtocolMap } from './well-known.js'

/** The most a protocol map may weigh, in bytes (go-libp2p reads 8 KiB too). */
export const WELL_KNOWN_MAX_BYTES = 8192

/** Node's timers take at most 2^31 - 1 ms; a longer timeout means none. */
const MAX_TIMER = 2 ** 31 - 1

/** Options of a host for discovering peers' protocol maps. */
export interface DiscoveryOptions {
  /**
   * How long fetching a protocol map may take, in ms (dial, legacy fallback and body included). `0` or
   * `Infinity` waits without a limit.
   *
   * @default 30000
   */
  timeout?: number
  /**
   * How long a fetched map is used before it is fetched again, in ms. `0` disables the cache;
   * `Infinity` keeps maps until evicted.
   *
   * @default 300000
   */
  cacheTTL?: number
  /**
   * How many peers' maps are cached; the least recently used is dropped first.
   *
   * @default 256
   */
  cacheSize?: number
  /**
   * The most bytes of a peer's protocol map that are read; a larger map fails with
   * `ERR_WELL_KNOWN_TOO_LARGE`.
   *
   * @default 8192
   */
  maxBytes?: number
}

/** Options for `host.protocols`. */
export interface ProtocolsOptions {
  /** Fetch the map even when a fresh one is cached. */
  refresh?: boolean
  /** Stops waiting (the request itself stops when no other caller waits for it). */
  signal?: AbortSignal
  /** Overrides {@link DiscoveryOptions.timeout} for this call. */
  timeout?: number
}

/** Options for `host.setProtocols`. */
export interface SetProtocolsOptions {
  /**
   * How long the map is used before it is fetched from the peer, in ms. Out-of-band knowledge is kept
   * until replaced, forgotten or evicted unless told otherwise.
   *
   * @default Infinity
   */
  ttl?: number
}

/** The fetch a discovery uses: the host's own. */
export type DiscoveryFetch = (target: FetchTarget, init: { headers: Record<string, string>, signal: AbortSignal }) => Promise<Response>

interface Entry {
  map: Readonly<ProtocolMap>
  expires: number
}

interface InFlight {
  promise: Promise<Readonly<ProtocolMap>>
  controller: AbortController
  waiters: number
  settled: boolean
}

/** Protocol maps of peers: fetched, cached, shared. */
export class ProtocolDiscovery {
  readonly #fetch: DiscoveryFetch
  readonly #now: () => number
  readonly #timeout: number
  readonly #ttl: number
  readonly #maxBytes: number
  readonly #cache: LRUMap<string, Entry>
  readonly #inFlight = new Map<string, InFlight>()

  /** `now` is a monotonic clock in ms, injectable so that expiry is tested without waiting. */
  constructor (fetch: DiscoveryFetch, init: DiscoveryOptions = {}, now: () => number = () => performance.now()) {
    this.#fetch = fetch
    this.#now = now
    this.#timeout = init.timeout ?? 30_000
    this.#ttl = init.cacheTTL ?? 300_000
    this.#cache = new LRUMap(init.cacheSize ?? 256)
    this.#maxBytes = init.maxBytes ?? WELL_KNOWN_MAX_BYTES
  }

  /**
   * The protocol map of the server `target` reaches: cached, or fetched.
   *
   * @throws {WellKnownStatusError} for an answer other than 200 (after the legacy path, when the first was 404)
   * @throws {WellKnownTooLargeError} for a map over `maxBytes`
   * @throws {InvalidProtocolMapError} for a map that is not JSON of the expected shape
   * @throws {WellKnownTimeoutError} when the timeout passes first
   */
  async get (target: FetchTarget, options: ProtocolsOptions = {}): Promise<Readonly<ProtocolMap>> {
    const timeout = options.timeout ?? this.#timeout
    if (typeof timeout !== 'number' || !(timeout >= 0)) {
      throw new InvalidLimitError('timeout', `timeout must be a number of ms ≥ 0 (0 or Infinity: none), not ${String(timeout)}`)
    }
    const key = targetKey(target)
    if (options.refresh !== true) {
      const cached = this.#cached(key)
      if (cached != null) {
        return cached
      }
    }
    const flight = this.#inFlight.get(key) ?? this.#start(key, target)
    return await this.#wait(key, flight, options)
  }

  /**
   * Record a map learnt out of band. It is validated like a fetched one.
   *
   * @throws {InvalidProtocolMapError} for a map of the wrong shape or with paths that are not absolute
   */
  set (target: FetchTarget, map: ProtocolMap, options: SetProtocolsOptions = {}): void {
    const key = targetKey(target)
    this.#inFlight.delete(key)
    this.#store(key, validateProtocolMap(map, key), options.ttl ?? Infinity)
  }

  /** Drop what is known about `target`'s map; a request in flight for it is not cached when it ends. */
  forget (target: FetchTarget): void {
    const key = targetKey(target)
    this.#inFlight.delete(key)
    this.#cache.delete(key)
  }

  #cached (key: string): Readonly<ProtocolMap> | undefined {
    const entry = this.#cache.get(key)
    if (entry != null && entry.expires <= this.#now()) {
      this.#cache.delete(key)
      return undefined
    }
    return entry?.map
  }

  #store (key: string, map: Readonly<ProtocolMap>, ttl: number): void {
    this.#cache.delete(key)
    if (ttl > 0) {
      this.#cache.set(key, { map, expires: this.#now() + ttl })
    }
  }

  #start (key: string, target: FetchTarget): InFlight {
    const flight: InFlight = { controller: new AbortController(), waiters: 0, settled: false, promise: Promise.resolve({}) }
    flight.promise = this.#load(key, target, flight.controller.signal).then((map) => {
      // A map set or forgotten by hand meanwhile wins over this answer.
      if (this.#inFlight.get(key) === flight) {
        this.#store(key, map, this.#ttl)
      }
      return map
    }).finally(() => {
      flight.settled = true
      if (this.#inFlight.get(key) === flight) {
        this.#inFlight.delete(key)
      }
    })
    // Callers see the failure through #wait; this keeps one nobody waits for any more from being unhandled.
    flight.promise.catch(() => {})
    this.#inFlight.set(key, flight)
    return flight
  }

  async #wait (key: string, flight: InFlight, options: ProtocolsOptions): Promise<Readonly<ProtocolMap>> {
    const timeout = options.timeout ?? this.#timeout
    const signals = [options.signal, timeout > 0 && timeout <= MAX_TIMER ? AbortSignal.timeout(timeout) : undefined].filter(s => s != null)
    const signal = signals.length === 0 ? undefined : AbortSignal.any(signals)
    flight.waiters++
    try {
      return await untilAborted(flight.promise, signal)
    } catch (err) {
      if (signal?.aborted === true && err === signal.reason) {
        throw options.signal?.aborted === true ? options.signal.reason : new WellKnownTimeoutError(key, timeout)
      }
      throw err
    } finally {
      flight.waiters--
      if (flight.waiters === 0 && !flight.settled) {
        // Abandoned: a caller arriving after this must start afresh, not join a request being torn down.
        if (this.#inFlight.get(key) === flight) {
          this.#inFlight.delete(key)
        }
        flight.controller.abort(new Error('no caller waits for this protocol map any more'))
      }
    }
  }

  async #load (key: string, target: FetchTarget, signal: AbortSignal): Promise<Readonly<ProtocolMap>> {
    const init = { headers: { accept: 'application/json' }, signal }
    let res = await this.#fetch(withPath(target, WELL_KNOWN_PATH), init)
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {})
      res = await this.#fetch(withPath(target, LEGACY_WELL_KNOWN_PATH), init)
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {})
      throw new WellKnownStatusError(key, res.status)
    }
    const declared = Number(res.headers.get('content-length') ?? 0)
    if (declared > this.#maxBytes) {
      await res.body?.cancel().catch(() => {})
      throw new WellKnownTooLargeError(key, this.#maxBytes)
    }
    const bytes = await readAtMost(res.body, this.#maxBytes)
    if (bytes == null) {
      throw new WellKnownTooLargeError(key, this.#maxBytes)
    }
    let text: string
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    } catch (err) {
      throw new InvalidProtocolMapError(key, 'not UTF-8', { cause: err })
    }
    return parseProtocolMap(text, key)
  }
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
async function untilAborted<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal == null) {
    return await promise
  }
  signal.throwIfAborted()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}
