/**
 * Inbound `/http/1.1`: every stream the libp2p node accepts on the protocol becomes a {@link StreamSocket}
 * handed to a Node `http.Server`, whose own parser does all the HTTP/1.1 work.
 *
 * @module
 */
import { StreamSocket } from './socket.js'
import type { Connection, Stream, StreamHandlerOptions } from '@libp2p/interface'
import type { StreamSocketInit } from './socket.js'
import type { Server } from 'node:http'

/** The protocol id of HTTP/1.1 over libp2p streams (libp2p+HTTP spec, "Using HTTP semantics over stream transports"). */
export const HTTP_STREAM_PROTOCOL = '/http/1.1'

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
   * How many `/http/1.1` streams all connections together may have open towards us at once.
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
  /** See {@link StreamSocketInit.lingerMs}. */
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

/** Streams a connection may open beyond `maxInboundStreams` that still get a `503` instead of a reset. */
const BUSY_HEADROOM = 64

const BUSY_BODY = 'too many concurrent streams\n'
const BUSY_RESPONSE = `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${BUSY_BODY.length}\r\n\r\n${BUSY_BODY}`

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
  /** Unregister the protocol and reset the streams still open. Idempotent. */
  close: () => Promise<void>
  /** Streams accepted and not yet closed. */
  readonly open: ReadonlySet<StreamSocket>
}

/**
 * Register `/http/1.1` (or `options.protocols`) on `registrar` and feed each inbound stream to `server` as a connection.
 * `server.httpAllowHalfOpen` is turned on: a client's half-close right after its request (what go-libp2p
 * does) must not abort that request.
 */
export async function listenOnStreams (registrar: StreamRegistrar, server: Server, options: StreamServerOptions = {}): Promise<StreamListener> {
  // Not in @types/node, but read by Node's http server since v0.x (lib/_http_server.js socketOnEnd).
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true
  const open = new Set<StreamSocket>()
  const perPeer = new Map<string, number>()
  const maxPerPeer = options.maxInboundStreams ?? 256
  const maxTotal = options.maxInboundStreamsTotal ?? 4096
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
      isGracefulClose: isNodeServerGracefulClose
    })
    // Node's HTTP server removes its own 'error' listener when it hands a socket to an 'upgrade'
    // listener; a remote reset must never become an uncaught exception.
    socket.on('error', () => {})
    const peer = connection.remotePeer.toString()
    const count = perPeer.get(peer) ?? 0
    if (count >= maxPerPeer || open.size >= maxTotal) {
      refuseBusy(socket)
      return
    }
    perPeer.set(peer, count + 1)
    open.add(socket)
    socket.once('close', () => {
      open.delete(socket)
      const left = (perPeer.get(peer) ?? 1) - 1
      if (left === 0) perPeer.delete(peer)
      else perPeer.set(peer, left)
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
    async close () {
      if (closed) {
        return
      }
      closed = true
      for (const protocol of registered) await registrar.unhandle(protocol)
    }
  }
}
