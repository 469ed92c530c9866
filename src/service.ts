/**
 * The host as a js-libp2p service: `createLibp2p({ services: { http: httpHost() } })`. The node gives it
 * its components (registrar, connection manager, address manager, identity key, metrics, logger), starts
 * it with itself and stops it with itself.
 *
 * A stopped host cannot start again (its dispatcher is destroyed), while a libp2p node can: each start
 * builds a fresh {@link Host} and mounts on it what was mounted before (`serve`, `handle`), so the
 * handlers outlive a restart as a libp2p protocol handler does; what the host learned of other peers
 * (protocol maps, routes) does not, as the node's connections do not.
 *
 * @module
 */
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { HostClosedError } from './errors.js'
import { Host } from './host.js'
import { hostNodeOfComponents } from './node.js'
import type { FetchInit, HTTPHost, HTTPHostOptions } from './host.js'
import type { HTTPHostComponents, HostNode } from './node.js'
import type { FetchTarget } from './client/target.js'
import type { ProtocolsOptions, SetProtocolsOptions } from './protocols/discovery.js'
import type { PingOptions } from './protocols/ping.js'
import type { ProtocolClient } from './protocols/service.js'
import type { ProtocolMap } from './protocols/well-known.js'
import type { Handler } from './server/handler.js'
import type { MountOptions } from './server/mount.js'
import type { PeerId, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Dispatcher } from 'undici'

export type { HTTPHostComponents } from './node.js'

/** Options for {@link httpHost}: those of `createHTTPHost`, the node being the one the service runs in. */
export interface HTTPHostServiceOptions extends Omit<HTTPHostOptions, 'libp2p'> {
  /**
   * When the node stops, how long in-flight requests (served and fetched) may take to finish before
   * they are reset, in ms. The node's connections stay open meanwhile (the host closes in the node's
   * `beforeStop`).
   *
   * @default 5000
   */
  stopTimeout?: number
}

/**
 * The host as a service of a js-libp2p node (`node.services.http`): an {@link HTTPHost} whose life is the
 * node's. It has no `close`: `node.stop()` closes it, `node.start()` starts it again.
 */
export interface HTTPHostService extends Omit<HTTPHost, 'close' | 'peerId'> {
  /** The node's peer id. */
  readonly peerId: PeerId
  /**
   * The undici dispatcher that reaches peers. A new one at each start of the node: the one read before
   * a stop fails its requests afterwards.
   */
  readonly dispatcher: Dispatcher
}

/**
 * The capabilities the service gives the node (what other services may list in their dependencies):
 * `'@libp2p/http'`, as @libp2p/http's service claims, since both serve and fetch libp2p+HTTP on
 * `/http/1.1`; and `'libp2phttp'` for this package's API.
 */
export const HTTP_HOST_CAPABILITIES: readonly string[] = ['@libp2p/http', 'libp2phttp']

/**
 * What the service needs the node to have: a transport, since it serves and fetches over the node's
 * connections. (A stream multiplexer is not listed: WebRTC and WebTransport connections carry streams
 * without one, and their transports do not claim that capability.)
 */
export const HTTP_HOST_DEPENDENCIES: readonly string[] = ['@libp2p/transport']

class HTTPHostServiceImpl implements HTTPHostService, Startable {
  readonly [Symbol.toStringTag] = 'libp2phttp'
  readonly [serviceCapabilities]: string[] = [...HTTP_HOST_CAPABILITIES]
  readonly [serviceDependencies]: string[] = [...HTTP_HOST_DEPENDENCIES]

  readonly #node: HostNode
  readonly #init: HTTPHostServiceOptions
  readonly #log: (formatter: string, ...args: unknown[]) => void
  /** What was mounted, in order, to mount again on the next start's host. */
  #root: Handler | undefined
  readonly #mounts = new Map<string, { handler: Handler, options?: MountOptions }>()
  #host: Host
  #started = false
  /** The current host's close, once begun: `beforeStop` starts it, `stop` waits for it. */
  #closing: Promise<void> | undefined

  constructor (components: HTTPHostComponents, init: HTTPHostServiceOptions) {
    this.#node = hostNodeOfComponents(components)
    this.#init = init
    this.#log = components.logger.forComponent('libp2phttp:service')
    this.#host = new Host(this.#node, init)
  }

  get peerId (): PeerId { return this.#node.peerId }
  get dispatcher (): Dispatcher { return this.#host.dispatcher }

  isStarted (): boolean { return this.#started }

  async start (): Promise<void> {
    if (this.#started) return
    if (this.#closing != null) {
      // started again after a stop: a fresh host with what was mounted before
      await this.#closing
      this.#closing = undefined
      this.#host = new Host(this.#node, this.#init)
      if (this.#root != null) this.#host.serve(this.#root)
      for (const [protocol, { handler, options }] of this.#mounts) this.#host.handle(protocol, handler, options)
    }
    await this.#host.start()
    this.#started = true
    this.#log('started: serving %p over /http/1.1 streams%s', this.#node.peerId, (this.#init.listen?.length ?? 0) > 0 ? ' and native listeners' : '')
  }

  /** Close while the node's connections are still open, so in-flight exchanges can finish. */
  async beforeStop (): Promise<void> {
    this.#started = false
    this.#closing ??= this.#host.close({ timeout: this.#init.stopTimeout ?? 5000 })
    await this.#closing
  }

  async stop (): Promise<void> {
    await this.beforeStop()
    this.#log('stopped')
  }

  serve (handler: Handler): void {
    this.#host.serve(handler)
    this.#root = handler
  }

  handle (protocol: string, handler: Handler, options?: MountOptions): void {
    this.#host.handle(protocol, handler, options)
    this.#mounts.set(protocol, { handler, options })
  }

  unhandle (protocol: string): boolean {
    this.#mounts.delete(protocol)
    return this.#host.unhandle(protocol)
  }

  /** The running host, for what reaches other peers. */
  #running (): Host {
    if (!this.#started) {
      throw new HostClosedError('the libp2p node is not started: node.services.http reaches peers while the node runs')
    }
    return this.#host
  }

  async fetch (target: FetchTarget, init?: FetchInit): Promise<Response> { return await this.#running().fetch(target, init) }
  async url (target: FetchTarget): Promise<string> { return await this.#running().url(target) }
  async dispatcherFor (target: FetchTarget): Promise<{ url: string, dispatcher: Dispatcher }> { return await this.#running().dispatcherFor(target) }
  async protocols (target: FetchTarget, options?: ProtocolsOptions): Promise<Readonly<ProtocolMap>> { return await this.#running().protocols(target, options) }
  async ping (target: FetchTarget, options?: PingOptions): Promise<number> { return await this.#running().ping(target, options) }
  client (target: FetchTarget, protocol: string): ProtocolClient {
    // the client outlives restarts: each call goes to the host running at the time
    return {
      protocol,
      target,
      fetch: async (path, init = {}) => await this.fetch(target, { ...init, protocol, path }),
      url: async (path) => await this.#running().client(target, protocol).url(path)
    }
  }

  setProtocols (target: FetchTarget, map: ProtocolMap, options?: SetProtocolsOptions): void { this.#host.setProtocols(target, map, options) }
  forgetProtocols (target: FetchTarget): void { this.#host.forgetProtocols(target) }
  addrs (): Multiaddr[] { return this.#host.addrs() }
}

/**
 * The HTTP host as a js-libp2p service: serve handlers to peers and fetch from them, started and
 * stopped with the node. Takes the options of `createHTTPHost` (but `libp2p`: the node is the one the
 * service runs in). Needs a transport on the node (capability `'@libp2p/transport'`); without one
 * `createLibp2p` fails with js-libp2p's `UnmetServiceDependenciesError`.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { httpHost } from 'libp2phttp'
 *
 * const node = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()],
 *   services: { http: httpHost() } })
 * node.services.http.serve((req, res) => { res.end('hello') })
 * const res = await node.services.http.fetch(`multiaddr:${addr}/http-path/hello`)
 * ```
 */
export function httpHost (init: HTTPHostServiceOptions = {}): (components: HTTPHostComponents) => HTTPHostService {
  return (components) => new HTTPHostServiceImpl(components, init)
}
