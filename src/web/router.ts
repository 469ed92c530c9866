/**
 * What answers a request in the browser host: the rules of the Node router (`server/router.ts`), for
 * fetch-style handlers. The well-known protocol map first (its answer from `wellKnownAnswer`), then the
 * most specific protocol mount, then the root handler of `serve`; the matching rules are `MountTable`'s
 * (`server/mount.ts`), shared with Node. `/http-ping/1` is mounted as in Node.
 *
 * @module
 */
import { InvalidHandlerError } from '../errors.js'
import { authenticationOf, remotePeer, setAuthentication, setRemotePeer } from '../identity.js'
import { PING_PROTOCOL, pingHandler } from '../protocols/ping.js'
import { isWellKnownPath, serializeProtocolMap, wellKnownAnswer } from '../protocols/well-known.js'
import { MountTable, parseRequestTarget } from '../server/mount.js'
import { setOriginalUrl } from '../server/original-url.js'
import type { ProtocolRouter } from '../protocols/service.js'
import type { ProtocolMap } from '../protocols/well-known.js'
import type { FetchHandler } from '../server/fetch-handler.js'
import type { MountOptions } from '../server/mount.js'

/**
 * A handler in the browser: a fetch-style function, or an object with such a `fetch` (Hono's `app`).
 * Node's `(req, res)` listeners and `http.Server`s have no browser counterpart.
 */
export type WebHandler = FetchHandler | { fetch: (request: Request, ...rest: any[]) => Response | Promise<Response> }

/** Called with what a handler threw (the peer gets a `500`). */
export type WebErrorListener = (err: unknown, request: Request) => void

/** @throws {InvalidHandlerError} for anything but a function or an object with a `fetch` function */
function toFetchHandler (handler: WebHandler): FetchHandler {
  if (typeof handler === 'function') {
    return handler
  }
  if (handler != null && typeof handler === 'object' && typeof handler.fetch === 'function') {
    return async (request) => await handler.fetch(request)
  }
  throw new InvalidHandlerError('the browser host serves fetch-style handlers: a function (request) => Response, or an object with such a `fetch`; Node (req, res) listeners and http.Server are Node-only')
}

/** `request` re-pointed at `url` for a mount's handler: the caller's identity and the original URL kept. */
function rewritten (request: Request, url: string): Request {
  // `duplex` is required by the Fetch standard when a body is a stream; not yet in TypeScript's DOM types
  const init = { duplex: 'half' } as RequestInit
  const routed = new Request(new URL(url, request.url), new Request(request, init))
  // A browser's `Request` copies only the fields it allows (no Cookie, Host, Date, …): the mount's
  // handler sees what the client sent, as the root handler does (`http1/server.ts` keeps them)
  if ([...routed.headers.keys()].length !== [...request.headers.keys()].length) {
    Object.defineProperty(routed, 'headers', { value: request.headers, enumerable: false, configurable: true })
  }
  setRemotePeer(routed, remotePeer(request))
  const how = authenticationOf(request)
  if (how != null) setAuthentication(routed, how)
  setOriginalUrl(routed, request.url)
  return routed
}

function answer (status: number, headers: Record<string, string>, body?: Uint8Array | string): Response {
  return new Response(body as BodyInit | undefined, { status, headers })
}

/** The request router of a browser host. */
export class WebRouter implements ProtocolRouter<WebHandler> {
  readonly #mounts = new MountTable<FetchHandler>()
  readonly #onError: WebErrorListener
  #wellKnownBody: Uint8Array

  constructor (init: { ping?: boolean, onError?: WebErrorListener } = {}) {
    this.#wellKnownBody = serializeProtocolMap({})
    this.#onError = init.onError ?? ((err) => { console.error('libp2phttp: a handler failed', err) })
    if (init.ping !== false) {
      this.handle(PING_PROTOCOL, pingHandler)
    }
  }

  /** Set the root handler, at `/`, unlisted in the protocol map. */
  serve (handler: WebHandler): void {
    this.#mounts.setRoot(toFetchHandler(handler))
  }

  /** Mount `handler` for `protocol` (see `MountTable.add`) and list it in the protocol map. */
  handle (protocol: string, handler: WebHandler, options: MountOptions = {}): void {
    this.#mounts.add(protocol, options.path, toFetchHandler(handler))
    this.#wellKnownBody = serializeProtocolMap(this.#mounts.protocolMap())
  }

  unhandle (protocol: string): boolean {
    const removed = this.#mounts.remove(protocol)
    if (removed) {
      this.#wellKnownBody = serializeProtocolMap(this.#mounts.protocolMap())
    }
    return removed
  }

  /** The protocol map served at the well-known paths. */
  protocolMap (): ProtocolMap {
    return this.#mounts.protocolMap()
  }

  /** Answer `request` (the fetch-style handler every inbound stream is served with). Never rejects. */
  readonly dispatch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    const target = parseRequestTarget(`${url.pathname}${url.search}`)
    if (target != null && isWellKnownPath(target.pathname)) {
      const wellKnown = wellKnownAnswer(request.method, request.headers.get('accept') ?? undefined, this.#wellKnownBody)
      return answer(wellKnown.status, wellKnown.headers, wellKnown.body)
    }
    const match = this.#mounts.match(target ?? { pathname: '/', search: '' })
    if (match.kind === 'redirect') {
      // 308 rather than go's 301: the method and body are kept (RFC 9110 §15.4.9), as the Node router does
      return answer(308, { location: match.location })
    }
    if (match.kind === 'none') {
      return answer(404, { 'content-type': 'text/plain; charset=utf-8' }, 'no handler is served here\n')
    }
    const routed = match.url == null ? request : rewritten(request, match.url)
    try {
      const response: unknown = await match.mount.value(routed)
      if (!(response instanceof Response)) {
        throw new InvalidHandlerError(`a fetch-style handler must return a Response, not ${Object.prototype.toString.call(response)}`)
      }
      return response
    } catch (err) {
      try {
        this.#onError(err, request)
      } catch {}
      return answer(500, { 'content-type': 'text/plain; charset=utf-8' }, 'Internal Server Error\n')
    }
  }
}
