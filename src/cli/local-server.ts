/**
 * The local HTTP servers of `proxy` and `gateway`: bound to loopback by default (they reach peers with
 * this machine's identity for whoever can connect), under the host's limits table (`limits.ts`) with no
 * limit on a request's total duration, a bound on open connections, closed gracefully.
 *
 * @module
 */
import { createServer } from 'node:http'
import { ListenError } from '../errors.js'
import { nodeServerOptions, refuseMalformed, resolveServerLimits } from '../server/limits.js'
import { integer, milliseconds } from './args.js'
import type { ServerLimits } from '../server/limits.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

/** The most connections a local port holds open at once, by default. */
export const DEFAULT_MAX_CONNECTIONS = 1024

/** The flags of the local ports, shared by `proxy` and `gateway`. */
export const LOCAL_OPTIONS = {
  'headers-timeout': { type: 'string' },
  'max-connections': { type: 'string' },
  'allow-origin': { type: 'string', multiple: true }
} as const

/** How the local port's refusals name the way to allow a `Host` or an `Origin`: by the flags. */
export const REFUSAL_NAMES = { allowHosts: '--allow-host', allowOrigins: '--allow-origin' }

/** The usage lines of {@link LOCAL_OPTIONS}. */
export const LOCAL_USAGE = `  --headers-timeout MS  how long a local client may take to send request headers (default 60000);
                        a request's body and the answer have no total limit (uploads, LLM streams)
  --max-connections N   connections the local port holds open at once; more are closed at once
                        (default ${DEFAULT_MAX_CONNECTIONS})
  --allow-origin ORIGIN accept requests from web pages of this origin (https://app.example), repeatable;
                        a request with any other Origin than the local port's own gets 403`

/** Options for {@link listenLocal}. */
export interface LocalServerOptions {
  hostname: string
  /** 0: any free port. */
  port: number
  /** Upgrade requests (WebSocket) go here; without it Node closes their connections. */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
  /** How long a client may take to send the request headers, in ms. @default 60000 */
  headersTimeout?: number
  /** The most connections open at once; more are closed as they arrive. @default 1024 */
  maxConnections?: number
  /** A forward proxy: absolute-form targets for other hosts are its requests, not refused. @default false */
  forwardProxy?: boolean
}

/** A listening local server and its base URL (`http://127.0.0.1:8000/`). */
export interface LocalServer {
  server: Server
  url: string
  /** Stop accepting; in-flight requests get `grace` ms, then their connections are closed. */
  close: (grace: number) => Promise<void>
}

/** The local port options from parsed flags (`--headers-timeout`, `--max-connections`). */
export function localLimits (values: { 'headers-timeout'?: string, 'max-connections'?: string }): Pick<LocalServerOptions, 'headersTimeout' | 'maxConnections'> {
  return {
    headersTimeout: milliseconds('headers-timeout', values['headers-timeout'], 60_000),
    maxConnections: integer('max-connections', values['max-connections'], DEFAULT_MAX_CONNECTIONS)
  }
}

/** Listen on `hostname:port`. */
export async function listenLocal (listener: (req: IncomingMessage, res: ServerResponse) => unknown, options: LocalServerOptions): Promise<LocalServer> {
  const { hostname, port } = options
  // The host's limits, but no request timeout: an upload or a streamed LLM answer may run for minutes.
  // The headers timeout must then be given: Node's default is min(60 s, requestTimeout), 0 here, which
  // would leave half-sent requests open for ever (slowloris).
  const limits = resolveServerLimits({ requestTimeout: 0, headersTimeout: options.headersTimeout ?? 60_000 } satisfies ServerLimits)
  const server = createServer(nodeServerOptions(limits), (req, res) => {
    if (!refuseMalformed(req, res, { forwardProxy: options.forwardProxy })) void listener(req, res)
  })
  // a connection on which nothing moves either way for this long is closed, as on the host's
  server.timeout = limits.idleTimeout
  // past it, Node closes new connections as they are accepted (its 'drop' event)
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS
  if (options.upgrade != null) server.on('upgrade', options.upgrade)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => { reject(new ListenError(`${hostname}:${port}`, localListenMessage(err, hostname, port), { cause: err })) })
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

/** Why the local port could not be opened, naming the flag that chose it and the fix. */
function localListenMessage (err: Error & { code?: string }, hostname: string, port: number): string {
  const where = `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`
  switch (err.code) {
    case 'EADDRINUSE': return `--port ${port}: ${where} is already in use by another program; choose another --port (0 picks a free one)`
    case 'EACCES': return `--port ${port}: this user may not listen on ${where} (ports below 1024 need privileges); choose --port 1024 or above`
    case 'EADDRNOTAVAIL': return `--bind ${hostname}: not an address of this machine; choose one of its addresses (default 127.0.0.1)`
    case 'ENOTFOUND': case 'EAI_AGAIN': return `--bind ${hostname}: the name does not resolve; give an address of this machine (default 127.0.0.1)`
    default: return `cannot listen on ${where} (--bind, --port): ${err.message}`
  }
}
