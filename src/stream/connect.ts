/**
 * Outbound `/http/1.1` for undici: a `connect` function that, for an origin naming a peer
 * (`http://<base36 peer id>`), opens one `/http/1.1` stream (`opener.ts`) and returns it as a socket.
 * undici's HTTP/1.1 client then writes the request and parses the response on it.
 *
 * @module
 */
import { peerOfURL } from '../addr/addressing.js'
import { optimisticPreamble } from './optimistic.js'
import { DirectUpgrade } from './direct.js'
import { StreamOpener } from './opener.js'
import { HTTP_STREAM_PROTOCOL } from './protocol.js'
import { relayLimitCheck } from './relay-limit.js'
import { StreamSocket } from './socket.js'
import type { StreamDialer, StreamOpenerOptions } from './opener.js'
import type { Socket } from 'node:net'
import type { buildConnector } from 'undici'

export type { StreamDialer, StreamOpenerOptions } from './opener.js'

/** A stream opener whose streams come as sockets for undici. */
export type SocketOpener = StreamOpener<StreamSocket>

/**
 * undici ends an exchange by destroying the socket with an "error" even when all went well:
 * `InformationalError('reset')` once a `Connection: close` response is complete, `'socket idle timeout'`
 * for an unused socket, and `SocketError('other side closed')` when the server ended its side. Those
 * are closes, not failures, so the stream is closed gracefully. Anything else, `'aborted'` included
 * (the caller's `AbortSignal`), resets the stream so the server stops working on the request.
 * (undici 7 `lib/dispatcher/client-h1.js`.)
 */
function isUndiciGracefulClose (err: Error, socket: StreamSocket): boolean {
  const code = (err as { code?: string }).code
  if (code === 'UND_ERR_INFO') {
    return err.message === 'reset' || err.message === 'socket idle timeout'
  }
  return code === 'UND_ERR_SOCKET' && socket.readableEnded
}

/**
 * The Node client's opener: each stream wrapped as a {@link StreamSocket} for undici, and a relayed
 * connection upgraded to a direct one in the background when the node has a peer store.
 */
export function createSocketOpener (dialer: StreamDialer, options: StreamOpenerOptions = {}): SocketOpener {
  const protocol = options.streamProtocol ?? HTTP_STREAM_PROTOCOL
  const { peerStore, addEventListener, removeEventListener } = dialer
  const events = addEventListener == null || removeEventListener == null ? undefined : { addEventListener: addEventListener.bind(dialer), removeEventListener: removeEventListener.bind(dialer) }
  const direct = peerStore == null ? undefined : new DirectUpgrade({ dial: async (target, options) => await dialer.dial(target, options), peerStore, events })
  return new StreamOpener(dialer, options, (connection, stream, confirmWithin, onSettled) => {
    // with `confirmWithin`, the protocol was proposed optimistically; `onSettled` hears of the answer
    return new StreamSocket(stream, {
      remotePeer: connection.remotePeer,
      remoteAddr: connection.remoteAddr,
      isGracefulClose: isUndiciGracefulClose,
      resetIfUnused: true,
      separateRequestHead: true,
      resetReason: relayLimitCheck(connection),
      preamble: confirmWithin == null ? undefined : optimisticPreamble(protocol, connection.remotePeer.toString(), confirmWithin, onSettled)
    })
  }, direct)
}

/**
 * An undici `connect` function: origins whose hostname names a peer get a `/http/1.1` stream, dialled
 * and negotiated within `connectTimeout` ms; every other origin goes to `fallback` (undici's own TCP/TLS
 * connector, which has its own timeout).
 */
export function createStreamConnector (opener: SocketOpener, fallback: buildConnector.connector, connectTimeout = 10_000): buildConnector.connector {
  return (options, callback) => {
    const peer = peerOfURL(options)
    if (peer == null) {
      fallback(options, callback)
      return
    }
    opener.open(peer, connectTimeout).then(
      (socket) => { callback(null, socket as unknown as Socket) },
      (err: Error) => { callback(err, null) }
    )
  }
}
