/**
 * Every handler shape people already have, normalised into one Node request listener. The shape is
 * stated by what is passed, in this order (the first that applies decides):
 *
 * 1. {@link nodeHandler}`(fn)` / {@link fetchHandler}`(fn)`: as marked, whatever `fn` declares.
 * 2. an `http.Server`: its `request` (and `upgrade`) listeners are invoked;
 *    an object with a `fetch` method (Hono's `app`): fetch-style;
 *    an object with `callback()` (a Koa app): the listener it returns.
 * 3. a bare function, by the parameters it declares (`fn.length`, the only thing a function states
 *    about itself): exactly one, `(request) => Response`, is fetch-style; two or three, `(req, res)` and
 *    Express's `(req, res, next)`, a Node listener. Anything else (rest or default parameters, which
 *    `fn.length` does not count, or four and more) is refused when it is served: mark it.
 *
 * Rule 3 cannot see a fetch handler that declares more parameters (Hono's `app.fetch(request, env,
 * ctx)`, a `(request, env)` worker), or a Node listener of one (`(req) => req.res.end()`): such a
 * handler fails its first request with {@link InvalidHandlerError} (a `500`, and `onError`), naming
 * the marker to use, rather than leaving the request unanswered.
 *
 * @module
 */
import { Server } from 'node:http'
import { InvalidHandlerError } from '../errors.js'
import { fetchHandlerListener, isResponse } from './fetch-handler.js'
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
    if (handler.length === 2 || handler.length === 3) {
      return declaredNodeListener(handler as NodeHandler)
    }
    if (handler.length === 1) {
      return fetchHandlerListener(handler as FetchHandler)
    }
    throw new InvalidHandlerError(`cannot tell whether this function takes (req, res) or (request): it declares ${handler.length} parameters (rest and default parameters are not counted); wrap it with nodeHandler() or fetchHandler()`)
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

/**
 * A bare function taken as a Node listener by its declared parameters (rule 3). A fetch handler
 * declaring more than one parameter returns a `Response` and never writes `res`: told, not left hanging.
 */
function declaredNodeListener (fn: NodeHandler): RequestListener {
  const misfit = (): InvalidHandlerError => new InvalidHandlerError(`the handler ${fn.name === '' ? '' : `${fn.name} `}was taken for a (req, res) listener (it declares ${fn.length} parameters) but returned a Response: it is fetch-style, so mark it with fetchHandler()`)
  return (req, res) => {
    const result = fn(req, res)
    if (isResponse(result)) {
      throw misfit()
    }
    if (result instanceof Promise) {
      return result.then((value: unknown) => {
        if (isResponse(value)) throw misfit()
      })
    }
    return result
  }
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
