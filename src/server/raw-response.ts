/**
 * Responses written as bytes, for sockets Node's HTTP machinery no longer writes to: a socket it has
 * detached for an `upgrade` (or `CONNECT`) listener, or one it gave up on in `clientError`.
 *
 * @module
 */
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'

/** Answer an upgrade request on its socket, which Node has detached from its HTTP machinery, and finish it. */
export function answerDetached (socket: Duplex, status: number, body: string): void {
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => { socket.destroy() })
}
