/**
 * What answers a request: the well-known protocol map first, then the most specific protocol mount,
 * then the root handler of `serve` (see `mount.ts` for the matching rules). One router per host, fed by
 * every transport.
 *
 * @module
 */
import { Server } from 'node:http'
import { toRequestListener } from './handler.js'
import { MountTable, parseRequestTarget } from './mount.js'
import { rewriteUrl } from './original-url.js'
import { PING_PROTOCOL, pingListener } from '../protocols/ping.js'
import { isWellKnownPath, serializeProtocolMap, wellKnownListener } from '../protocols/well-known.js'
import type { Handler, RequestListener } from './handler.js'
import type { MountMatch, MountOptions } from './mount.js'
import type { ProtocolMap } from '../protocols/well-known.js'
import type { IncomingMessage } from 'node:http'

/** Options for {@link Router}. */
export interface RouterOptions {
  /**
   * Serve `/http-ping/1` at `/http-ping/1/` (listed in the well-known map).
   *
   * @default true
   */
  ping?: boolean
}

interface Served {
  listener: RequestListener
  /** The handler itself when it is an `http.Server`: upgrades (WebSocket) are forwarded to it. */
  server: Server | undefined
}

function served (handler: Handler): Served {
  return { listener: toRequestListener(handler), server: handler instanceof Server ? handler : undefined }
}

function redirect (location: string): RequestListener {
  return (_req, res) => {
    // 308 rather than go's 301: the method and body are kept (RFC 9110 §15.4.9).
    res.statusCode = 308
    res.setHeader('location', location)
    res.end()
  }
}

/** The request router of a host. */
export class Router {
  readonly #mounts = new MountTable<Served>()
  readonly #wellKnown: RequestListener
  #wellKnownBody: Uint8Array

  constructor (init: RouterOptions = {}) {
    this.#wellKnownBody = serializeProtocolMap({})
    this.#wellKnown = wellKnownListener(() => this.#wellKnownBody)
    if (init.ping !== false) {
      this.handle(PING_PROTOCOL, pingListener)
    }
  }

  /** Set the root handler, at `/`, unlisted in the protocol map. */
  serve (handler: Handler): void {
    this.#mounts.setRoot(served(handler))
  }

  /** Mount `handler` for `protocol` (see {@link MountTable.add}) and list it in the protocol map. */
  handle (protocol: string, handler: Handler, options: MountOptions = {}): void {
    this.#mounts.add(protocol, options.path, served(handler))
    this.#mapChanged()
  }

  /** Remove the mount of `protocol`. Returns whether there was one. */
  unhandle (protocol: string): boolean {
    const removed = this.#mounts.remove(protocol)
    if (removed) {
      this.#mapChanged()
    }
    return removed
  }

  /** The protocol map served at the well-known paths. */
  protocolMap (): ProtocolMap {
    return this.#mounts.protocolMap()
  }

  /**
   * The listener for `req`, with `req.url` rewritten for a mounted protocol (the original kept in
   * `req.originalUrl`); `undefined` when nothing serves it.
   */
  listenerFor (req: IncomingMessage): RequestListener | undefined {
    const match = this.#match(req)
    if (match === 'well-known') {
      return this.#wellKnown
    }
    switch (match.kind) {
      case 'redirect':
        return redirect(match.location)
      case 'mount':
        if (match.url != null) {
          rewriteUrl(req, match.url)
        }
        return match.mount.value.listener
      default:
        return undefined
    }
  }

  /**
   * The `http.Server` an upgrade request (WebSocket) goes to: the one mounted where `req` points, with
   * `req.url` rewritten as for requests. `undefined` when that handler is not an `http.Server`.
   */
  upgradeTargetFor (req: IncomingMessage): Server | undefined {
    const match = this.#match(req)
    if (match === 'well-known' || match.kind !== 'mount' || match.mount.value.server == null) {
      return undefined
    }
    if (match.url != null) {
      rewriteUrl(req, match.url)
    }
    return match.mount.value.server
  }

  #match (req: IncomingMessage): MountMatch<Served> | 'well-known' {
    const target = parseRequestTarget(req.url ?? '/')
    if (target == null) {
      // `OPTIONS *` and the like: only the root handler can make sense of them.
      return this.#mounts.match({ pathname: '/', search: '' })
    }
    if (isWellKnownPath(target.pathname)) {
      return 'well-known'
    }
    return this.#mounts.match(target)
  }

  #mapChanged (): void {
    this.#wellKnownBody = serializeProtocolMap(this.#mounts.protocolMap())
  }
}
