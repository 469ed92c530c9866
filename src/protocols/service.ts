/**
 * Protocols over HTTP, the host's side of them: mounting handlers at path prefixes (listed in the
 * well-known map), discovering peers' maps, fetching within a peer's protocol, and HTTP ping.
 * `host.ts` delegates here; the pieces live in `router.ts`, `discovery.ts`, `target-path.ts` and `ping.ts`.
 * No Node APIs: the router that serves the mounts is the caller's (Node's `server/router.ts`, the
 * browser's `web/router.ts`).
 *
 * @module
 */
import { ProtocolDiscovery } from './discovery.js'
import { InvalidTargetError, ProtocolNotFoundError } from '../errors.js'
import { PING_PROTOCOL, sendPing } from './ping.js'
import { protocolPath, targetKey, withPath } from '../client/target-path.js'
import type { ClientFetchInit } from '../client/host-client.js'
import type { FetchTarget } from '../client/target.js'
import type { DiscoveryOptions, ProtocolsOptions, SetProtocolsOptions } from './discovery.js'
import type { Handler } from '../server/handler.js'
import type { MountOptions } from '../server/mount.js'
import type { PingDeps, PingOptions } from './ping.js'
import type { ProtocolMap } from './well-known.js'

/** Options of `createHTTPHost` for protocols. */
export interface HostProtocolsOptions {
  /** Discovery of peers' protocol maps: timeout and cache. */
  discovery?: DiscoveryOptions
  /**
   * Serve `/http-ping/1` (POST 32 bytes, get them back) at `/http-ping/1/`, listed in the well-known map.
   *
   * @default true
   */
  ping?: boolean
}

/** The part of `host.fetch`'s options that selects a protocol of the peer. */
export interface ProtocolFetchOptions {
  /**
   * Request within this protocol of the peer: its path prefix is looked up in the peer's well-known
   * protocol map (`host.protocols`) and `path` is requested under it.
   */
  protocol?: string
  /**
   * With `protocol`: the request target under the protocol's prefix (query kept). Without it, the
   * protocol's path exactly as the peer lists it.
   *
   * @default the protocol's path
   */
  path?: string
}

/** Options of a {@link ProtocolClient}'s `fetch`: `host.fetch`'s, without the protocol selection. */
export type ProtocolClientInit = ClientFetchInit

/** A client bound to one protocol of one peer; paths are relative to the protocol's prefix. */
export interface ProtocolClient {
  /** The protocol id. */
  readonly protocol: string
  /** The target it reaches (as given to `host.client`). */
  readonly target: FetchTarget
  /** `host.fetch(target, { ...init, protocol, path })`. */
  fetch: (path?: string, init?: ProtocolClientInit) => Promise<Response>
  /** The URL for `path` within the protocol, for undici's own APIs with `host.dispatcher` (see `host.url`). */
  url: (path?: string) => Promise<string>
}

/** The protocol methods of an HTTP host. */
export interface HostProtocols {
  /**
   * Serve `handler` for `protocol` under a path prefix and list it in the well-known protocol map.
   * The handler sees the request target with the prefix stripped (`req.url` starts with `/`); the target
   * as sent is in `req.originalUrl` and `originalUrl(req)`. The most specific prefix wins; the root
   * handler of `serve` answers what no prefix matches. A request for the prefix without its trailing
   * slash is redirected (308) to the slash form.
   *
   * @example
   * ```ts
   * host.handle('/kv/1.0.0', kvApp)                          // at /kv/1.0.0/
   * host.handle('/ipfs/gateway', gatewayApp, { path: '/' })  // at the root
   * ```
   * @throws {InvalidMountError} for an empty protocol id, or a path that is not absolute and normalised
   * @throws {MountConflictError} when the protocol is already handled or another handler has that path
   */
  handle: (protocol: string, handler: Handler, options?: MountOptions) => void
  /** Stop serving `protocol` and drop it from the well-known map. Returns whether it was handled. */
  unhandle: (protocol: string) => boolean
  /**
   * The protocol map of the server `target` reaches (`{ "/kv/1.0.0": { path: "/kv/1.0.0/" } }`), from
   * its `/.well-known/libp2p/protocols` (or the legacy `/.well-known/libp2p` when that is 404), fetched with
   * `host.fetch` and cached per peer (or per origin for targets that name no peer). Concurrent calls share
   * one request. The map is frozen.
   *
   * @throws {WellKnownStatusError} for an answer other than 200
   * @throws {WellKnownTooLargeError} for a map over 8 KiB
   * @throws {InvalidProtocolMapError} for a map that is not JSON of the expected shape
   * @throws {WellKnownTimeoutError} when the discovery timeout passes first
   */
  protocols: (target: FetchTarget, options?: ProtocolsOptions) => Promise<Readonly<ProtocolMap>>
  /**
   * Record `target`'s protocol map as learnt out of band; `host.protocols` and protocol fetches use it
   * instead of asking the peer.
   *
   * @throws {InvalidProtocolMapError} for a map of the wrong shape or with paths that are not absolute
   */
  setProtocols: (target: FetchTarget, map: ProtocolMap, options?: SetProtocolsOptions) => void
  /** Drop the cached protocol map of `target`: the next use fetches it. */
  forgetProtocols: (target: FetchTarget) => void
  /**
   * A client for one protocol of `target`: `client.fetch('/keys/a')` is
   * `host.fetch(target, { protocol, path: '/keys/a' })`.
   */
  client: (target: FetchTarget, protocol: string) => ProtocolClient
  /**
   * Ping `target` over HTTP (`/http-ping/1`, found through its protocol map): POST 32 random bytes and
   * check the echo. Resolves with the round trip in ms (the map lookup not included).
   *
   * @throws {PingError} for a status other than 200 or a wrong echo
   * @throws {ProtocolNotFoundError} when the peer does not list `/http-ping/1`
   */
  ping: (target: FetchTarget, options?: PingOptions) => Promise<number>
}

/** The client's fetch and url, which protocol requests go through once their path is resolved. */
export interface HostFetching {
  fetch: (target: FetchTarget, init?: ClientFetchInit) => Promise<Response>
  url: (target: FetchTarget) => Promise<string>
}

/** What serves a host's protocol mounts (and lists them in its well-known map). */
export interface ProtocolRouter<H> {
  handle: (protocol: string, handler: H, options?: MountOptions) => void
  unhandle: (protocol: string) => boolean
}

/** Random bytes from the platform's Web Crypto (Node 20 and browsers alike). */
function randomBytes (size: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(size))
}

/** The implementation of {@link HostProtocols} for one host, whose handlers are `H`s served by `router`. */
export class ProtocolService<H, R extends ProtocolRouter<H> = ProtocolRouter<H>> {
  /** Routes the host's requests: well-known map, mounts, root. */
  readonly router: R
  readonly #host: HostFetching
  readonly #discovery: ProtocolDiscovery
  readonly #ping: Pick<PingDeps, 'randomBytes' | 'now'>
  readonly #timeout: number

  constructor (host: HostFetching, router: R, init: HostProtocolsOptions = {}, deps: Pick<PingDeps, 'randomBytes' | 'now'> = { randomBytes, now: () => performance.now() }) {
    this.#host = host
    this.router = router
    this.#discovery = new ProtocolDiscovery((target, fetchInit) => host.fetch(target, fetchInit), init.discovery, deps.now)
    this.#ping = deps
    this.#timeout = init.discovery?.timeout ?? 30_000
  }

  handle (protocol: string, handler: H, options?: MountOptions): void {
    this.router.handle(protocol, handler, options)
  }

  unhandle (protocol: string): boolean {
    return this.router.unhandle(protocol)
  }

  async protocols (target: FetchTarget, options?: ProtocolsOptions): Promise<Readonly<ProtocolMap>> {
    return await this.#discovery.get(target, options)
  }

  setProtocols (target: FetchTarget, map: ProtocolMap, options?: SetProtocolsOptions): void {
    this.#discovery.set(target, map, options)
  }

  forgetProtocols (target: FetchTarget): void {
    this.#discovery.forget(target)
  }

  /**
   * `host.fetch` with `{ protocol, path }`: resolve the protocol's prefix, then fetch the same target
   * re-pointed at it (so the host picks the transport it would for `target`).
   *
   * @throws {InvalidTargetError} for `path` without `protocol`
   * @throws {ProtocolNotFoundError} when the peer's map does not list the protocol
   */
  async fetch (target: FetchTarget, init: ClientFetchInit & ProtocolFetchOptions): Promise<Response> {
    const { protocol, path, ...rest } = init
    if (protocol == null) {
      throw new InvalidTargetError('`path` in fetch options needs `protocol`; to fetch a path of a peer use the target { peer, path }')
    }
    const resolved = await this.#resolve(target, protocol, path, rest.signal ?? undefined)
    return await this.#host.fetch(resolved, rest)
  }

  client (target: FetchTarget, protocol: string): ProtocolClient {
    return {
      protocol,
      target,
      fetch: async (path, init = {}) => await this.fetch(target, { ...init, protocol, path }),
      url: async (path) => await this.#host.url(await this.#resolve(target, protocol, path, undefined))
    }
  }

  async ping (target: FetchTarget, options: PingOptions = {}): Promise<number> {
    const timeout = options.timeout ?? this.#timeout
    const bounded = Number.isFinite(timeout) && timeout > 0 ? AbortSignal.timeout(timeout) : undefined
    const signal = options.signal != null && bounded != null ? AbortSignal.any([options.signal, bounded]) : options.signal ?? bounded
    const resolved = await this.#resolve(target, PING_PROTOCOL, undefined, signal)
    options = { ...options, signal }
    return await sendPing({
      ...this.#ping,
      post: async (body, signal) => await this.#host.fetch(resolved, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/octet-stream' },
        signal
      })
    }, options)
  }

  async #resolve (target: FetchTarget, protocol: string, path: string | undefined, signal: AbortSignal | undefined): Promise<FetchTarget> {
    const map = await this.#discovery.get(target, { signal })
    if (!Object.hasOwn(map, protocol)) {
      throw new ProtocolNotFoundError(protocol, targetKey(target))
    }
    return withPath(target, protocolPath(map[protocol].path, path))
  }
}
