/**
 * Runs a fetch-style handler (`(request: Request) => Response`, e.g. Hono's `app.fetch`) as a Node
 * request listener: the Node request becomes a WHATWG `Request` whose body streams, the `Response` is
 * written back as it is produced (a server-sent event reaches the client when it is enqueued), and the
 * request's `signal` aborts when the client goes away.
 *
 * @module
 */
import { Readable } from 'node:stream'
import { InvalidHandlerError } from '../errors.js'
import { authenticationOf, remotePeer, setAuthentication, setRemotePeer } from '../identity.js'
import { setOriginalUrl } from './original-url.js'
import type { RoutedRequest } from './original-url.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** A WHATWG fetch-style handler. */
export type FetchHandler = (request: Request) => Response | Promise<Response>

const PENDING = Symbol('pending')

/** The origin of the URL given to fetch-style handlers when the request has no usable `Host`. */
const FALLBACK_HOST = 'localhost'

function requestURL (req: IncomingMessage, target = req.url ?? '/'): URL {
  const scheme = (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'
  const host = req.headers.host
  if (target.startsWith('/')) {
    // Concatenate rather than resolve: '//other/x' is a path here, never another origin.
    try {
      return new URL(`${scheme}://${host != null && host !== '' ? host : FALLBACK_HOST}${target}`)
    } catch {
      return new URL(`${scheme}://${FALLBACK_HOST}${target}`)
    }
  }
  // absolute-form (RFC 9112 §3.2.2), as sent to proxies
  return new URL(target)
}

/** Build the WHATWG `Request` for a Node request. */
export function toRequest (req: IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    headers.append(raw[i], raw[i + 1])
  }
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal }
  if (hasBody) {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>
    init.duplex = 'half'
  }
  const request = new Request(requestURL(req), init)
  setRemotePeer(request, remotePeer(req))
  const how = authenticationOf(req)
  if (how != null) setAuthentication(request, how)
  const original = (req as RoutedRequest).originalUrl
  if (original != null) {
    setOriginalUrl(request, requestURL(req, original).toString())
  }
  return request
}

/**
 * Write a WHATWG `Response` to a Node response. A body that is complete at once (a string, a buffer)
 * is sent with `Content-Length` in one write; anything else streams chunk by chunk as it is produced.
 * A body that fails midway destroys the response, so the client sees an error rather than a short body.
 */
export async function writeResponse (response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status
  if (response.statusText !== '') {
    res.statusMessage = response.statusText
  }
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') {
      continue
    }
    res.setHeader(name, value)
  }
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) {
    res.setHeader('set-cookie', cookies)
  }
  if (response.body == null) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  let finished = false
  const onClose = (): void => {
    if (!finished) {
      // the client went away: stop producing
      reader.cancel(new Error('client disconnected')).catch(() => {})
    }
  }
  res.once('close', onClose)
  try {
    const first = await reader.read()
    if (first.done) {
      finished = true
      res.end()
      return
    }
    const next = reader.read()
    const second = await Promise.race([next, new Promise<typeof PENDING>(resolve => setImmediate(resolve, PENDING))])
    if (second !== PENDING && second.done) {
      finished = true
      if (!res.hasHeader('content-length')) {
        res.setHeader('content-length', first.value.byteLength)
      }
      res.end(first.value)
      return
    }
    res.flushHeaders()
    await write(res, first.value)
    let chunk = second === PENDING ? await next : second
    while (!chunk.done) {
      await write(res, chunk.value)
      chunk = await reader.read()
    }
    finished = true
    res.end()
  } catch (err) {
    finished = true
    if (!res.headersSent) {
      // nothing was sent yet: let the caller answer 500
      throw err
    }
    res.destroy(err as Error)
  } finally {
    res.off('close', onClose)
  }
}

function write (res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.destroyed) {
    return Promise.reject(new Error('response destroyed'))
  }
  if (res.write(chunk)) {
    return Promise.resolve()
  }
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      res.off('drain', onDrain)
      res.off('close', onClose)
      if (err != null) reject(err)
      else resolve()
    }
    const onDrain = (): void => { done() }
    const onClose = (): void => { done(new Error('response closed before drain')) }
    res.once('drain', onDrain)
    res.once('close', onClose)
  })
}

/** Whether `value` is a WHATWG `Response`, duck-typed: one from another copy of undici is just as good. */
export function isResponse (value: unknown): value is Response {
  return value != null && typeof (value as Partial<Response>).status === 'number' && typeof (value as Partial<Response>).headers === 'object' && 'body' in (value as object)
}

/** Adapt a fetch-style handler to a Node request listener. Rejections reach `onError` via the returned promise. */
export function fetchHandlerListener (handler: FetchHandler) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const controller = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) {
        controller.abort(new Error('the client closed the connection'))
      }
    })
    const response: unknown = await handler(toRequest(req, controller.signal))
    if (!isResponse(response)) {
      throw new InvalidHandlerError(`a fetch-style handler returned ${String(response)}, not a Response: a (req, res) listener of one declared parameter? Mark it with nodeHandler()`)
    }
    await writeResponse(response, res)
  }
}
