/**
 * A libp2p node that serves HTTP over `/http/1.1` streams with nothing of HTTPHost but the stream
 * adapter: no well-known resource, no mounts. It stands for other implementations (an old go-libp2p
 * that only knows `/.well-known/libp2p`, a server sending odd maps) and logs every request it gets.
 * It listens on streams only: a transport row that cannot reach it that way must give it a listener.
 */
import { createServer } from 'node:http'
import { afterAll, beforeAll } from 'vitest'
import { listenOnStreams } from '../../src/stream/server.js'
import { StreamSocket } from '../../src/stream/socket.js'
import { createNode } from './nodes.js'
import type { Libp2p } from '@libp2p/interface'
import type { IncomingMessage, ServerResponse } from 'node:http'

export type Respond = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface RawServer {
  node: Libp2p
  /** `METHOD /path` of every request received, in order. */
  readonly requests: string[]
  /** What answers requests; replace it per test. */
  respond: Respond
  stop: () => Promise<void>
}

export async function createRawServer (respond: Respond = (_req, res) => { res.statusCode = 404; res.end() }): Promise<RawServer> {
  const node = await createNode()
  const requests: string[] = []
  const raw: RawServer = {
    node,
    requests,
    respond,
    stop: async () => {
      await listener.close()
      server.closeAllConnections()
      await node.stop()
    }
  }
  const server = createServer((req, res) => {
    if (req.socket instanceof StreamSocket) {
      res.shouldKeepAlive = false
    }
    requests.push(`${req.method} ${req.url}`)
    void Promise.resolve(raw.respond(req, res)).catch((err: unknown) => { res.destroy(err as Error) })
  })
  const listener = await listenOnStreams(node, server)
  return raw
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

/** A raw server for the tests of a file: created before them, stopped after. */
export function useRawServer (receive: (raw: RawServer) => void): void {
  let raw: RawServer | undefined
  beforeAll(async () => {
    raw = await createRawServer()
    receive(raw)
  })
  afterAll(async () => { await raw?.stop() })
}
