/**
 * The local HTTP servers of `proxy` and `gateway`: bound to loopback by default (they reach peers with
 * this machine's identity for whoever can connect), closed gracefully.
 *
 * @module
 */
import { createServer } from 'node:http'
import { ListenError } from '../errors.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

/** A listening local server and its base URL (`http://127.0.0.1:8000/`). */
export interface LocalServer {
  server: Server
  url: string
  /** Stop accepting; in-flight requests get `grace` ms, then their connections are closed. */
  close: (grace: number) => Promise<void>
}

/** Listen on `hostname:port` (port 0: any free port). */
export async function listenLocal (listener: (req: IncomingMessage, res: ServerResponse) => unknown, hostname: string, port: number, upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): Promise<LocalServer> {
  // no request timeout: a streamed LLM answer may run for minutes; idle keep-alive sockets still time out
  const server = createServer({ requestTimeout: 0 }, (req, res) => { void listener(req, res) })
  // upgrade requests (WebSocket) go to `upgrade`; without it Node closes their connections
  if (upgrade != null) server.on('upgrade', upgrade)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => { reject(new ListenError(`${hostname}:${port}`, err.message, { cause: err })) })
    server.listen(port, hostname, resolve)
  })
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    server,
    url: `http://${shown}:${address.port}/`,
    close: async (grace) => {
      const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
      server.closeIdleConnections()
      const timer = setTimeout(() => { server.closeAllConnections() }, grace)
      await closed
      clearTimeout(timer)
    }
  }
}
