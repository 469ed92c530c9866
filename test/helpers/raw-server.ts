/**
 * A libp2p node that serves HTTP with nothing of HTTPHost but the stream adapter: no well-known
 * resource, no mounts. It stands for other implementations (an old go-libp2p that only knows
 * `/.well-known/libp2p`, a server sending odd maps) and logs every request it gets. It listens on
 * `/http/1.1` streams, and with `tls` on HTTPS at 127.0.0.1 too.
 */
import { createServer } from 'node:http'
import { createServer as createHTTPSServer } from 'node:https'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll } from 'vitest'
import { listenOnStreams } from '../../src/stream/server.js'
import { StreamSocket } from '../../src/stream/socket.js'
import { createNode } from './nodes.js'
import type { TestCertificate } from './tls.js'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Respond = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface RawServer {
  node: Libp2p
  /** The stream addresses, then the HTTPS one when there is one. */
  addrs: () => Multiaddr[]
  /** `METHOD /path` of every request received, in order. */
  readonly requests: string[]
  /** What answers requests; replace it per test. */
  respond: Respond
  stop: () => Promise<void>
}

export async function createRawServer (options: { tls?: TestCertificate } = {}): Promise<RawServer> {
  const node = await createNode()
  const requests: string[] = []
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.socket instanceof StreamSocket) {
      res.shouldKeepAlive = false
    }
    requests.push(`${req.method} ${req.url}`)
    void Promise.resolve(raw.respond(req, res)).catch((err: unknown) => { res.destroy(err as Error) })
  }
  const server = createServer(listener)
  const streams = await listenOnStreams(node, server)
  const https = options.tls == null ? undefined : createHTTPSServer(options.tls, listener)
  await new Promise<void>(resolve => { https == null ? resolve() : https.listen(0, '127.0.0.1', resolve) })
  const native = https == null ? [] : [multiaddr(`/ip4/127.0.0.1/tcp/${(https.address() as AddressInfo).port}/tls/http/p2p/${node.peerId.toString()}`)]
  const raw: RawServer = {
    node,
    addrs: () => [...node.getMultiaddrs(), ...native],
    requests,
    respond: (_req, res) => { res.statusCode = 404; res.end() },
    stop: async () => {
      await streams.close()
      server.closeAllConnections()
      https?.closeAllConnections()
      https?.close()
      await node.stop()
    }
  }
  return raw
}

/** A raw server for the tests of a block: created before them (with `tls` from `options()`), stopped after. */
export function useRawServer (options: () => Promise<{ tls?: TestCertificate }>, receive: (raw: RawServer) => void): void {
  let raw: RawServer | undefined
  beforeAll(async () => {
    raw = await createRawServer(await options())
    receive(raw)
  })
  afterAll(async () => { await raw?.stop() })
}

/** A `respond` that sends `body` as JSON with status 200 at `path` and 404 elsewhere. */
export function jsonAt (path: string, body: string): Respond {
  return (req, res) => {
    if (req.url !== path) {
      res.statusCode = 404
      res.end()
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(body)
  }
}
