/**
 * Inbound `/http/1.1`: every stream the libp2p node accepts on the protocol becomes a {@link StreamSocket}
 * handed to a Node `http.Server`, whose own parser does all the HTTP/1.1 work.
 *
 * @module
 */
import { HTTP_STREAM_PROTOCOL } from './protocol.js'
import { relayLimitCheck } from './relay-limit.js'
import { StreamSlots, addressKey } from './slots.js'
import { StreamSocket } from './socket.js'
import { rawResponse } from '../server/raw-response.js'
import type { Connection, Stream, StreamHandlerOptions } from '@libp2p/interface'
import type { StreamSocketOptions } from './socket.js'
import type { Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'

export { HTTP_STREAM_PROTOCOL }

/** The part of a libp2p node the stream server needs. */
export interface StreamRegistrar {
  handle: (protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: StreamHandlerOptions) => Promise<void>
  unhandle: (protocol: string) => Promise<void>
}

/** Options for {@link listenOnStreams}. */
export interface StreamServerOptions {
  /**
   * How many `/http/1.1` streams one peer may have open towards us at once. Each request is a stream,
   * so this is the per-peer request concurrency the server accepts; a stream past it is answered `503`.
   *
   * @default 256
   */
  maxInboundStreams?: number
  /**
   * How many `/http/1.1` streams all connections together may have open towards us at once. The last
   * eighth is kept for peers holding fewer than 4 streams, at most half of it per remote address (see
   * `slots.ts`), so that a few peers cannot lock everyone else out.
   *
   * @default 4096
   */
  maxInboundStreamsTotal?: number
  /**
   * Whether to serve over limited (relayed) connections.
   *
   * @default false
   */
  runOnLimitedConnection?: boolean
  /** See {@link StreamSocketOptions.lingerMs}. */
  lingerMs?: number
  /**
   * The stream protocol ids answered, each stream with plain HTTP/1.1 (the limits above count them
   * together). A stream's id is its `stream.protocol`.
   *
   * @default ['/http/1.1']
   */
  protocols?: readonly string[]
}

/**
 * Node's HTTP server answers a malformed request (`400`, llhttp's `HPE_*` codes) or a request that took
 * too long (`408`, `ERR_HTTP_REQUEST_TIMEOUT`, for `headersTimeout` and `requestTimeout` alike) with `Connection: close` and then destroys the socket with
 * that error. The answer must reach the client, so those end the stream gracefully instead of resetting it.
 */
function isNodeServerGracefulClose (err: Error): boolean {
  const code = (err as { code?: string }).code ?? ''
  return code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_REQUEST_BODY_TOO_LARGE'
}

/** What Node's server answers a parse error with when no `clientError` listener decides (lib/_http_server.js). */
const NODE_ERROR_STATUS: Readonly<Record<string, number>> = { HPE_HEADER_OVERFLOW: 431, HPE_CHUNK_EXTENSIONS_OVERFLOW: 413, ERR_HTTP_REQUEST_TIMEOUT: 408 }

/**
 * Node's `clientError` for a stream. A parse error once the stream's one request has arrived whole is
 * about bytes that follow it (a `Content-Length` shorter than the body; @libp2p/http counts a string
 * body in UTF-16 units): that is no second request, and nothing after the first is processed (RFC 9112
 * §9.6), so the bytes are dropped and the request is answered; the stream closes after the response.
 * Any other error gets what Node does without a listener: its short answer, if nothing of a response
 * went out yet, and the socket destroyed with the error (a graceful close for HPE_* codes).
 */
function onClientError (err: Error & { code?: string }, socket: Duplex): void {
  const res = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage
  if (socket instanceof StreamSocket && res?.req.complete === true) {
    return
  }
  if (socket.writable && (res == null || !res.headersSent)) {
    const status = NODE_ERROR_STATUS[err.code ?? ''] ?? 400
    socket.write(rawResponse(status))
  }
  socket.destroy(err)
}

/** Streams a connection may open beyond `maxInboundStreams` that still get a `503` instead of a reset. */
const BUSY_HEADROOM = 64

const BUSY_BODY = 'too many concurrent streams\n'
const BUSY_RESPONSE = rawResponse(503, { 'Retry-After': '1', 'Content-Type': 'text/plain; charset=utf-8' }, BUSY_BODY)

/**
 * Answer a stream over the concurrency limits without parsing its request: a `503` (RFC 9110 §15.6.4)
 * is an answer the client can act on (retry later), where a reset looks like a broken peer. The
 * request is discarded unread.
 */
function refuseBusy (socket: StreamSocket): void {
  socket.end(BUSY_RESPONSE, () => {
    socket.destroy()
    // The refused stream still counts against libp2p's inbound limit until the client closes it; a
    // client that never does (a flood) must not fill the headroom, so it is reset after a short grace.
    setTimeout(() => {
      if (socket.stream.status !== 'closed' && socket.stream.status !== 'reset' && socket.stream.status !== 'aborted') {
        socket.stream.abort(new Error('refused stream not closed by the client'))
      }
    }, BUSY_GRACE_MS).unref()
  })
}

/** How long a client may keep a refused (503) stream open after reading the answer. */
const BUSY_GRACE_MS = 5000

/** A running stream listener. */
export interface StreamListener {
  /** Unregister the protocols, so new streams are no longer accepted; open streams carry on (see `idle`). Idempotent. */
  close: () => Promise<void>
  /** Streams accepted and not yet closed. */
  readonly open: ReadonlySet<StreamSocket>
  /** Resolves once no accepted stream is open (at once when none is). */
  idle: () => Promise<void>
}

/**
 * Register `/http/1.1` (or `options.protocols`) on `registrar` and feed each inbound stream to `server` as a connection.
 * `server.httpAllowHalfOpen` is turned on: a client's half-close right after its request (what go-libp2p
 * does) must not abort that request. The server gets a `clientError` listener (see {@link onClientError}):
 * a server fed by native listeners too must keep those on separate `http.Server`s.
 */
export async function listenOnStreams (registrar: StreamRegistrar, server: Server, options: StreamServerOptions = {}): Promise<StreamListener> {
  // Not in @types/node, but read by Node's http server since v0.x (lib/_http_server.js socketOnEnd).
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true
  server.on('clientError', onClientError)
  const open = new Set<StreamSocket>()
  const idleWaiters: Array<() => void> = []
  const maxPerPeer = options.maxInboundStreams ?? 256
  const slots = new StreamSlots(maxPerPeer, options.maxInboundStreamsTotal ?? 4096)
  let closed = false
  const protocols = options.protocols ?? [HTTP_STREAM_PROTOCOL]

  const onStream = (stream: Stream, connection: Connection): void => {
    if (closed) {
      stream.abort(new Error('HTTP host is closing'))
      return
    }
    const socket = new StreamSocket(stream, {
      remotePeer: connection.remotePeer,
      remoteAddr: connection.remoteAddr,
      allowHalfOpen: true,
      lingerMs: options.lingerMs,
      isGracefulClose: isNodeServerGracefulClose,
      resetReason: relayLimitCheck(connection)
    })
    // Node's HTTP server removes its own 'error' listener when it hands a socket to an 'upgrade'
    // listener; a remote reset must never become an uncaught exception.
    socket.on('error', () => {})
    const slot = slots.acquire(connection.remotePeer.toString(), addressKey(connection.remoteAddr))
    if (slot == null) {
      refuseBusy(socket)
      return
    }
    open.add(socket)
    // One exchange per stream: once our write side has finished, nothing the peer still sends can be
    // answered, so the socket is done. Node's own responses end that way (destroySoon), but a socket
    // Node has detached for an upgrade is answered by whoever took it (a refused CONNECT, a failed
    // WebSocket relay) with a bare `end()`: with half-open allowed and nobody reading, its readable side
    // never ends, so it never closed and its slot was never released (issue 14). A graceful destroy
    // still delivers our last bytes.
    socket.once('finish', () => { socket.destroy() })
    socket.once('close', () => {
      open.delete(socket)
      slots.release(slot)
      if (open.size === 0) {
        for (const resolve of idleWaiters.splice(0)) resolve()
      }
    })
    server.emit('connection', socket)
  }
  const registered: string[] = []
  try {
    for (const protocol of protocols) {
      await registrar.handle(protocol, onStream, {
        // Above our own limit, so that an excess stream gets our 503 rather than libp2p's bare reset; past
        // this headroom libp2p resets it.
        maxInboundStreams: maxPerPeer + BUSY_HEADROOM,
        runOnLimitedConnection: options.runOnLimitedConnection ?? false
      })
      registered.push(protocol)
    }
  } catch (err) {
    for (const protocol of registered) await registrar.unhandle(protocol).catch(() => {})
    throw err
  }

  return {
    open,
    async idle () {
      if (open.size > 0) {
        await new Promise<void>(resolve => { idleWaiters.push(resolve) })
      }
    },
    async close () {
      if (closed) {
        return
      }
      closed = true
      for (const protocol of registered) await registrar.unhandle(protocol)
    }
  }
}
