/**
 * The routes the Web server (`serveStream`) answers in the interop suites: `/echo` (what it saw, the body
 * hashed), `/bytes/N` (N pattern bytes), else 404.
 */
import { remotePeer } from '../../src/index.js'
import { serveStream } from '../../src/web/http1/server.js'
import { pattern, sha256 } from './child-peer.js'
import type { Libp2p } from '@libp2p/interface'

/** What `/echo` answers. */
export interface WebEcho { method: string, bodyLen: number, bodySha256: string, peer?: string, host: string | null, te: string | null }

/** Serve the routes on `node`'s `/http/1.1` with the Web server. */
export async function serveWebRoutes (node: Libp2p): Promise<void> {
  await node.handle('/http/1.1', (stream, connection) => {
    void serveStream(stream, connection, async (request) => {
      const url = new URL(request.url)
      if (url.pathname === '/echo') {
        const body = new Uint8Array(await request.arrayBuffer())
        const echo: WebEcho = { method: request.method, bodyLen: body.byteLength, bodySha256: sha256(body), peer: remotePeer(request)?.toString(), host: request.headers.get('host'), te: request.headers.get('transfer-encoding') }
        return Response.json(echo)
      }
      const size = /^\/bytes\/(\d+)$/.exec(url.pathname)
      if (size != null) return new Response(pattern(Number(size[1])) as Uint8Array<ArrayBuffer>)
      return new Response(`not found: ${url.pathname}`, { status: 404 })
    })
  })
}
