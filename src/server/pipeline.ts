/**
 * The server's request pipeline, one for streams and native listeners alike: cheap refusals
 * (request checks, limits), a stream alias pointed into its mount, Peer ID Authentication when the
 * host requires it, then the router's handler (or upgrade target). Handler failures end here too.
 *
 * @module
 */
import { createServer } from 'node:http'
import { needsPeerIdAuth } from '../auth/server.js'
import { answerDetached } from './raw-response.js'
import { declaresTooLarge, nodeServerOptions, refuseLargeBody, refuseMalformed } from './limits.js'
import { rewriteUrl } from './original-url.js'
import { admitRequest } from './request-checks.js'
import { aliasedTarget } from '../stream/alias.js'
import { HTTP_STREAM_PROTOCOL } from '../stream/server.js'
import { StreamSocket } from '../stream/socket.js'
import type { AuthGuards } from '../auth/server.js'
import type { ResolvedServerLimits } from './limits.js'
import type { RequestFault } from './request-checks.js'
import type { Router } from './router.js'
import type { StreamAlias } from '../stream/alias.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'

/** What the pipeline is built from. */
export interface PipelineOptions {
  limits: ResolvedServerLimits
  /** Routes each request that passed the checks: well-known map, mounts, root. */
  router: Router
  /** Peer ID Authentication of clients, when the host requires it. */
  authGuard?: AuthGuards
  /** Stream protocol ids answered like `/http/1.1`, each for one mount. */
  streamAliases?: readonly StreamAlias[]
  /** Told of errors thrown by handlers. */
  onError?: (err: unknown, req: IncomingMessage) => void
}

function defaultOnError (err: unknown): void {
  console.error('libp2phttp: handler failed:', err)
}

/** One host's request pipeline, and the `http.Server` that parses the requests arriving on streams. */
export class RequestPipeline {
  /**
   * Parses requests on streams (it never listens on a port of its own; native listeners have theirs
   * and call {@link RequestPipeline.onRequest} and its siblings).
   */
  readonly server: Server
  readonly limits: ResolvedServerLimits
  readonly #init: PipelineOptions

  constructor (init: PipelineOptions) {
    this.#init = init
    this.limits = init.limits
    this.server = createServer(nodeServerOptions(init.limits), (req, res) => { this.onRequest(req, res) })
    // A stream on which nothing moves either way (a peer that stopped reading our response) is closed.
    this.server.timeout = init.limits.idleTimeout
    // The server never listens on a port of its own; 'listening' starts the timer that enforces
    // headersTimeout and requestTimeout on the sockets it is given.
    this.server.emit('listening')
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { this.onUpgrade(req, socket, head) })
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => { this.onCheckContinue(req, res) })
  }

  /**
   * `Expect: 100-continue`: the client waits for our go-ahead before it sends the body. A declared body
   * over the limit is refused now (417 would also do; 413 says why), so the client is never invited to
   * upload what will be refused.
   */
  onCheckContinue (req: IncomingMessage, res: ServerResponse): void {
    if (declaresTooLarge(req, this.#init.limits.maxRequestBodySize)) {
      refuseLargeBody(req, res, this.#init.limits.maxRequestBodySize)
      return
    }
    // the go-ahead only once the request will reach its handler (auth and checks passed)
    this.#request(req, res, false, () => { res.writeContinue() })
  }

  onRequest (req: IncomingMessage, res: ServerResponse): void {
    this.#request(req, res, false)
  }

  #request (req: IncomingMessage, res: ServerResponse, authenticated: boolean, proceed?: () => void): void {
    if (!authenticated) {
      const onStream = req.socket instanceof StreamSocket
      if (onStream) {
        // One request per stream: `Connection: close`, and the stream ends after the response.
        res.shouldKeepAlive = false
      }
      // cheap refusals first: no handshake for a request that cannot be served anyway
      if (refuseMalformed(req, res, { oneRequest: onStream }) || refuseLargeBody(req, res, this.#init.limits.maxRequestBodySize)) {
        return
      }
      const outside = req.socket instanceof StreamSocket ? this.#intoAlias(req, req.socket) : undefined
      if (outside != null) {
        res.statusCode = outside.status
        res.setHeader('content-type', 'text/plain; charset=utf-8')
        res.end(outside.reason)
        return
      }
      const guard = this.#init.authGuard
      if (guard != null && needsPeerIdAuth(req)) {
        guard.request(req, res, () => { this.#request(req, res, true, proceed) })
        return
      }
    }
    const handler = this.#init.router.listenerFor(req)
    proceed?.()
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

  onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#upgrade(req, socket, head, false)
  }

  #upgrade (req: IncomingMessage, socket: Duplex, head: Buffer, authenticated: boolean): void {
    if (!authenticated) {
      const fault = admitRequest(req)
      const outside = fault ?? (req.socket instanceof StreamSocket ? this.#intoAlias(req, req.socket) : undefined)
      if (outside != null) {
        answerDetached(socket, outside.status, outside.reason)
        return
      }
    }
    const guard = this.#init.authGuard
    if (!authenticated && guard != null && needsPeerIdAuth(req)) {
      guard.upgrade(req, socket, () => { this.#upgrade(req, socket, head, true) })
      return
    }
    const target = this.#init.router.upgradeTargetFor(req)
    if (target != null && target.listenerCount('upgrade') > 0) {
      target.emit('upgrade', req, socket, head)
      return
    }
    answerDetached(socket, 501, '')
  }

  /**
   * For a request on a stream alias of a mount (see {@link StreamAlias}), point `req.url` into the mount;
   * the answer to give instead when it cannot be (the mount is gone, the target would leave it).
   */
  #intoAlias (req: IncomingMessage, socket: StreamSocket): RequestFault | undefined {
    const streamProtocol = socket.stream.protocol
    const alias = streamProtocol === HTTP_STREAM_PROTOCOL ? undefined : this.#init.streamAliases?.find(a => a.streamProtocol === streamProtocol)
    if (alias?.protocol == null) return undefined
    const mount = this.#init.router.protocolMap()[alias.protocol]
    if (mount == null) return { status: 404, reason: `${alias.protocol} is not served here\n` }
    const target = aliasedTarget(req.url ?? '', mount.path)
    if (target == null) return { status: 400, reason: `the request target must stay within ${alias.protocol} on ${alias.streamProtocol}\n` }
    rewriteUrl(req, target)
    return undefined
  }
}
