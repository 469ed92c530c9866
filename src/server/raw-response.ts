/**
 * Responses written as bytes, for sockets Node's HTTP machinery does not write to: a socket it has
 * detached for an `upgrade` (or `CONNECT`) listener, one it gave up on in `clientError`, a stream
 * refused before it reached the parser. Every such answer closes the connection (`Connection: close`)
 * and states its length, so the client needs no close to find the end of it (RFC 9112 §6.3).
 *
 * @module
 */
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'

/**
 * The bytes of a whole response: the status line (Node's reason phrase), `headers` in order, then
 * `Connection: close` and `Content-Length`, then `body`. CR and LF in a header value become spaces, so
 * no value (a configured pseudonym, an error's message) can end the header section early.
 */
export function rawResponse (status: number, headers: Record<string, string> = {}, body = ''): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${fieldValue(value)}\r\n`).join('')
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines}Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

/** A header value with CR and LF replaced by spaces (RFC 9110 §5.5: a field value holds neither). */
export function fieldValue (value: string): string {
  return value.replace(/[\r\n]/g, ' ')
}

/** Answer on a detached socket and finish it: the connection is destroyed once the answer is flushed. */
export function answerDetached (socket: Duplex, status: number, body: string, headers: Record<string, string> = {}): void {
  socket.end(rawResponse(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }, body), () => { socket.destroy() })
}
