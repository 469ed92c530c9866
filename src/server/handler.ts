/**
 * Every handler shape people already have, normalised into one Node request listener:
 * - a Node listener `(req, res)` — also Express apps, `fastify.routing`, Koa's `app.callback()`;
 * - a Koa application (anything with `callback()` returning a listener);
 * - an `http.Server` — its `request` (and `upgrade`) listeners are invoked;
 * - a fetch-style function `(request) => Response`, or an object with such a `fetch` (Hono's `app`).
 *
 * A plain function is told apart by its declared parameters: two or more is a Node listener, one is
 * fetch-style. Wrap it in {@link nodeHandler} or {@link fetchHandler} when that would guess wrong
 * (rest parameters, defaults).
 *
 * @module
 */
import { Server } from 'node:http'
import { InvalidHandlerError } from '../errors.js'
import { fetchHandlerListener } from './fetch-handler.js'
import type { FetchHandler } from './fetch-handler.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** A Node request listener. Its return value is awaited when it is a promise, so async errors are caught. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, ...rest: any[]) => unknown

/** Anything `host.serve` accepts. */
export type Handler =
  | NodeHandler
  | FetchHandler
  | Server
  | { fetch: (request: Request, ...rest: any[]) => Response | Promise<Response> }
  | { callback: () => NodeHandler }
  | TaggedHandler

const TAG = Symbol.for('libp2phttp.handler')

/** A handler whose shape was stated explicitly. */
export interface TaggedHandler {
  readonly [TAG]: { kind: 'node', fn: NodeHandler } | { kind: 'fetch', fn: FetchHandler }
}

/** State that `fn` is a Node `(req, res)` listener, whatever its declared parameters. */
export function nodeHandler (fn: NodeHandler): TaggedHandler {
  return { [TAG]: { kind: 'node', fn } }
}

/** State that `fn` is a fetch-style `(request) => Response` handler, whatever its declared parameters. */
export function fetchHandler (fn: FetchHandler): TaggedHandler {
  return { [TAG]: { kind: 'fetch', fn } }
}

/** The one listener every transport feeds. Returns a promise when the handler is asynchronous. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown

/**
 * Normalise `handler` into a request listener.
 *
 * @throws {InvalidHandlerError} for values of no known shape
 */
export function toRequestListener (handler: Handler): RequestListener {
  if (handler == null) {
    throw new InvalidHandlerError('a handler is required')
  }
  if (typeof handler === 'object' && TAG in handler) {
    const tagged = handler[TAG]
    return tagged.kind === 'node' ? tagged.fn : fetchHandlerListener(tagged.fn)
  }
  if (handler instanceof Server) {
    return serverListener(handler)
  }
  if (typeof handler === 'function') {
    if (handler.length >= 2) {
      return handler as NodeHandler
    }
    if (handler.length === 1) {
      return fetchHandlerListener(handler as FetchHandler)
    }
    throw new InvalidHandlerError('cannot tell whether this function takes (req, res) or (request): wrap it with nodeHandler() or fetchHandler()')
  }
  if (typeof handler === 'object') {
    if ('fetch' in handler && typeof handler.fetch === 'function') {
      const app = handler
      return fetchHandlerListener((request) => app.fetch(request))
    }
    if ('callback' in handler && typeof handler.callback === 'function') {
      return handler.callback()
    }
  }
  throw new InvalidHandlerError(`unsupported handler: ${Object.prototype.toString.call(handler)}; expected a (req, res) listener, an http.Server, a Koa app, or a fetch-style handler`)
}

/** Run an existing `http.Server`'s own `request` listeners, so it is served exactly as it is configured. */
function serverListener (server: Server): RequestListener {
  return (req, res) => {
    if (server.listenerCount('request') === 0) {
      res.statusCode = 404
      res.end()
      return
    }
    server.emit('request', req, res)
  }
}
