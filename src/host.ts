/**
 * HTTPHost: composition only. One request listener fed by the stream server, one dispatcher used by
 * `fetch`.
 *
 * @module
 */
import { Server, createServer } from 'node:http'
import { fetch as undiciFetch } from 'undici'
import { peerFromHostname } from './addressing.js'
import { createDispatcher, resolveTarget } from './client.js'
import { HostClosedError, LibP2PHTTPError, NoLibp2pError } from './errors.js'
import { setServerPeer } from './identity.js'
import { ProtocolService } from './protocols.js'
import { StreamOpener } from './stream/connect.js'
import { listenOnStreams } from './stream/server.js'
import { StreamSocket } from './stream/socket.js'
import type { DispatcherOptions, FetchTarget } from './client.js'
import type { ProtocolsOptions, SetProtocolsOptions } from './discovery.js'
import type { Handler } from './handler.js'
import type { MountOptions } from './mount.js'
import type { PingOptions } from './ping.js'
import type { HostProtocols, ProtocolClient, ProtocolFetchOptions, ProtocolsInit } from './protocols.js'
import type { StreamDialer } from './stream/connect.js'
import type { StreamListener, StreamRegistrar } from './stream/server.js'
import type { ProtocolMap } from './well-known.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Dispatcher, RequestInit as UndiciRequestInit } from 'undici'

/** The part of a js-libp2p node an HTTPHost uses. A `Libp2p` from `createLibp2p` fits. */
export interface Libp2pLike extends StreamRegistrar, StreamDialer {
  peerId: PeerId
  getMultiaddrs: () => Multiaddr[]
}

/** Options for {@link createHTTPHost}. */
export interface HTTPHostInit extends DispatcherOptions, ProtocolsInit {
  /** A js-libp2p node: enables HTTP over `/http/1.1` streams, both serving and fetching. */
  libp2p?: Libp2pLike
  /**
   * How many `/http/1.1` streams one peer may have open to us at once.
   *
   * @default 256
   */
  maxInboundStreams?: number
  /**
   * Limits of the HTTP/1.1 server that parses requests arriving on streams (Node's `http.Server`
   * options). Headers must arrive within `headersTimeout`, the whole request within `requestTimeout`;
   * a stream on which no byte moves either way for `idleTimeout` is closed (0 disables).
   *
   * @default { headersTimeout: 60000, requestTimeout: 300000, maxHeaderSize: 16384, idleTimeout: 300000 }
   */
  server?: { headersTimeout?: number, requestTimeout?: number, maxHeaderSize?: number, idleTimeout?: number }
  /**
   * When an exchange is over, how long the peer may take to accept the rest of our output (it must
   * keep reading) before the stream is reset, in ms.
   *
   * @default 60000
   */
  lingerTimeout?: number
  /**
   * Called with errors thrown by handlers (the client gets a 500, or a reset stream when the response
   * had already started).
   *
   * @default logs to `console.error`
   */
  onError?: (err: unknown, req: IncomingMessage) => void
}

/** Options for `host.fetch`: the WHATWG `RequestInit` (as undici takes it), and a peer's protocol to fetch within. */
export type FetchInit = Omit<UndiciRequestInit, 'dispatcher'> & ProtocolFetchOptions

/** Options for {@link HTTPHost.close}. */
export interface CloseOptions {
  /**
   * How long in-flight requests (served and fetched) may take to finish before they are reset, in ms.
   *
   * @default 5000
   */
  timeout?: number
}

/** An HTTP host: serves handlers to peers and fetches from them. */
export interface HTTPHost extends HostProtocols {
  /** The libp2p node's peer id, when the host has a node. */
  readonly peerId: PeerId | undefined
  /**
   * The undici dispatcher that reaches peers: pass it to undici's `fetch`, `request`, `WebSocket` or
   * `EventSource` (`{ dispatcher: host.dispatcher }`) with URLs from {@link HTTPHost.url}.
   */
  readonly dispatcher: Dispatcher
  /**
   * Serve `handler` at `/` to every peer: it answers what no protocol mounted with `handle` does.
   * Replaces the previous root handler. It has no protocol id, so the well-known map does not list it.
   *
   * @throws {MountConflictError} when a protocol is mounted at `/`
   */
  serve: (handler: Handler) => void
  /**
   * Fetch from a peer (or any http(s) URL). `target` is a `multiaddr:` URI (optionally ending in
   * `/http-path/<percent-encoded path>`), a `Multiaddr` or list of them, a `PeerId`, `{ peer, path }`,
   * or a URL. Resolves with a WHATWG `Response` whose body streams.
   *
   * @throws {InvalidTargetError} for a target that cannot be understood
   * @throws {DialError} when the peer cannot be dialled
   * @throws {ProtocolNotSupportedError} when the peer does not speak `/http/1.1`
   * @throws {StreamResetError} when the stream is reset before the response headers arrive
   */
  fetch: (target: FetchTarget, init?: FetchInit) => Promise<Response>
  /** The `http://<peer>/path` URL that {@link HTTPHost.dispatcher} routes to `target` over libp2p. */
  url: (target: FetchTarget) => Promise<string>
  /** This host's addresses: the libp2p node's multiaddrs, each ending in `/p2p/<id>`. */
  addrs: () => Multiaddr[]
  /** Stop serving and fetching. In-flight requests get `timeout` ms to finish. Idempotent. */
  close: (options?: CloseOptions) => Promise<void>
}

function defaultOnError (err: unknown): void {
  console.error('libp2phttp: handler failed:', err)
}

class Host implements HTTPHost {
  readonly dispatcher: Dispatcher
  readonly #libp2p: Libp2pLike | undefined
  readonly #init: HTTPHostInit
  readonly #server: Server
  readonly #addressHints = new Map<string, Multiaddr[]>()
  readonly #protocols: ProtocolService
  #streams: StreamListener | undefined
  #closing: Promise<void> | undefined

  constructor (init: HTTPHostInit) {
    this.#init = init
    this.#libp2p = init.libp2p
    this.#server = createServer({
      headersTimeout: init.server?.headersTimeout ?? 60_000,
      requestTimeout: init.server?.requestTimeout ?? 300_000,
      maxHeaderSize: init.server?.maxHeaderSize ?? 16_384
    }, (req, res) => { this.#onRequest(req, res) })
    // A stream on which nothing moves either way (a peer that stopped reading our response) is closed.
    this.#server.timeout = init.server?.idleTimeout ?? 300_000
    // The server never listens on a port of its own; 'listening' starts the timer that enforces
    // headersTimeout and requestTimeout on the sockets it is given.
    this.#server.emit('listening')
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { this.#onUpgrade(req, socket, head) })
    const opener = new StreamOpener({
      dial: async (target, options) => {
        if (this.#libp2p == null) {
          throw new NoLibp2pError()
        }
        return await this.#libp2p.dial(target, options)
      }
    }, {
      addressesOf: (peer) => this.#addressHints.get(peer.toString()),
      maxOutboundStreams: Math.max(init.maxStreamsPerPeer ?? 32, 64)
    })
    this.dispatcher = createDispatcher(opener, init)
    this.#protocols = new ProtocolService({ fetch: async (t, i) => await this.fetch(t, i), url: async (t) => await this.url(t) }, init)
  }

  get peerId (): PeerId | undefined {
    return this.#libp2p?.peerId
  }

  async start (): Promise<void> {
    if (this.#libp2p != null) {
      this.#streams = await listenOnStreams(this.#libp2p, this.#server, {
        maxInboundStreams: this.#init.maxInboundStreams,
        lingerMs: this.#init.lingerTimeout
      })
    }
  }

  serve (handler: Handler): void {
    this.#protocols.router.serve(handler)
  }

  handle (protocol: string, handler: Handler, options?: MountOptions): void { this.#protocols.handle(protocol, handler, options) }
  unhandle (protocol: string): boolean { return this.#protocols.unhandle(protocol) }
  async protocols (target: FetchTarget, options?: ProtocolsOptions): Promise<Readonly<ProtocolMap>> { return await this.#protocols.protocols(target, options) }
  setProtocols (target: FetchTarget, map: ProtocolMap, options?: SetProtocolsOptions): void { this.#protocols.setProtocols(target, map, options) }
  forgetProtocols (target: FetchTarget): void { this.#protocols.forgetProtocols(target) }
  client (target: FetchTarget, protocol: string): ProtocolClient { return this.#protocols.client(target, protocol) }
  async ping (target: FetchTarget, options?: PingOptions): Promise<number> { return await this.#protocols.ping(target, options) }

  #onRequest (req: IncomingMessage, res: ServerResponse): void {
    if (req.socket instanceof StreamSocket) {
      // One request per stream: `Connection: close`, and the stream ends after the response.
      res.shouldKeepAlive = false
    }
    const handler = this.#protocols.router.listenerFor(req)
    if (handler == null) {
      res.statusCode = 404
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('no handler is served here\n')
      return
    }
    try {
      const result = handler(req, res)
      if (result != null && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(undefined, (err: unknown) => { this.#onHandlerError(err, req, res) })
      }
    } catch (err) {
      this.#onHandlerError(err, req, res)
    }
  }

  #onHandlerError (err: unknown, req: IncomingMessage, res: ServerResponse): void {
    try {
      (this.#init.onError ?? defaultOnError)(err, req)
    } catch {}
    if (!res.headersSent && !res.destroyed) {
      res.statusCode = 500
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('Internal Server Error\n')
    } else {
      // The status line is out: only a reset can tell the client the body is incomplete.
      res.destroy(err instanceof Error ? err : new Error(String(err)))
    }
  }

  #onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const target = this.#protocols.router.upgradeTargetFor(req)
    if (target != null && target.listenerCount('upgrade') > 0) {
      target.emit('upgrade', req, socket, head)
      return
    }
    // Node has detached the socket from its HTTP machinery: answer and finish it ourselves.
    socket.end('HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => { socket.destroy() })
  }

  async url (target: FetchTarget): Promise<string> {
    const resolved = await resolveTarget(target, async (addr) => {
      if (this.#libp2p == null) {
        throw new NoLibp2pError()
      }
      const connection = await this.#libp2p.dial(addr)
      return connection.remotePeer
    })
    if (resolved.peer != null && resolved.addrs.length > 0) {
      this.#rememberAddresses(resolved.peer, resolved.addrs)
    }
    return resolved.url
  }

  #rememberAddresses (peer: PeerId, addrs: Multiaddr[]): void {
    const key = peer.toString()
    this.#addressHints.delete(key)
    this.#addressHints.set(key, addrs)
    // bounded: forget the least recently used peers
    while (this.#addressHints.size > 1024) {
      const oldest = this.#addressHints.keys().next().value
      if (oldest == null) break
      this.#addressHints.delete(oldest)
    }
  }

  async fetch (target: FetchTarget, init: FetchInit = {}): Promise<Response> {
    if (init.protocol != null || init.path != null) {
      return await this.#protocols.fetch(target, init)
    }
    if (this.#closing != null) {
      throw new HostClosedError()
    }
    try {
      const url = await this.url(target)
      const response = await undiciFetch(url, { ...init, dispatcher: this.dispatcher }) as unknown as Response
      setServerPeer(response, peerFromHostname(new URL(response.url === '' ? url : response.url).hostname))
      return response
    } catch (err) {
      throw unwrapFetchError(err)
    }
  }

  addrs (): Multiaddr[] {
    return this.#libp2p?.getMultiaddrs() ?? []
  }

  async close (options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeout ?? 5000)
    await this.#closing
  }

  async #close (timeout: number): Promise<void> {
    await this.#streams?.close()
    const deadline = new Promise<void>(resolve => setTimeout(resolve, timeout).unref())
    const streams = this.#streams
    const served = streams == null
      ? Promise.resolve()
      : new Promise<void>(resolve => {
        const check = (): void => {
          if (streams.open.size === 0) {
            resolve()
          } else {
            setTimeout(check, 20).unref()
          }
        }
        check()
      })
    await Promise.race([Promise.all([served, this.dispatcher.close()]), deadline])
    for (const socket of streams?.open ?? []) {
      socket.destroy(new Error('HTTPHost closed'))
    }
    await this.dispatcher.destroy().catch(() => {})
    this.#server.close()
    this.#server.closeAllConnections()
  }
}

/** undici's fetch reports every network failure as `TypeError('fetch failed')`; surface our typed cause. */
function unwrapFetchError (err: unknown): unknown {
  let current: unknown = err
  for (let depth = 0; depth < 4 && current != null; depth++) {
    if (current instanceof LibP2PHTTPError) {
      return current
    }
    current = (current as { cause?: unknown }).cause
  }
  return err
}

/**
 * Create an HTTP host.
 *
 * @example
 * ```ts
 * import { createHTTPHost, remotePeer } from 'libp2phttp'
 *
 * const host = await createHTTPHost({ libp2p })
 * host.serve((req, res) => { res.end(`hello ${remotePeer(req)}`) })
 * const res = await host.fetch(`multiaddr:${addr}/http-path/hello`)
 * ```
 */
export async function createHTTPHost (init: HTTPHostInit = {}): Promise<HTTPHost> {
  const host = new Host(init)
  await host.start()
  return host
}
