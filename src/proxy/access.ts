/**
 * Who may use an exposed service. Deny by default: a request is let through only when the libp2p
 * connection (or Peer ID Authentication) proved a peer id on the allow-list, or when the operator chose
 * `'any'` explicitly. Headers never count: `x-libp2p-peer-id` from a client is not an identity.
 *
 * @module
 */
import { remotePeer } from '../identity.js'
import { proxyStatus } from './headers.js'
import type { PeerId } from '@libp2p/interface'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Options for {@link allowPeers}. */
export interface AccessOptions {
  /** The peers let through (peer ids or their string forms), or `'any'`: every authenticated or unauthenticated caller. */
  allow: ReadonlyArray<PeerId | string> | 'any'
  /** The name of this proxy in `Proxy-Status`. @default 'libp2phttp' */
  pseudonym?: string
}

/**
 * `listener` behind an allow-list: other callers get `403` with `Proxy-Status: <pseudonym>;
 * error=http_request_denied` (RFC 9209 §2.3.15) and never reach it. An empty list lets nobody through.
 *
 * @example
 * ```ts
 * host.handle('/x/llm/1', allowPeers(proxyTo('http://127.0.0.1:11434'), { allow: [friend] }))
 * ```
 */
export function allowPeers<L extends (req: IncomingMessage, res: ServerResponse) => unknown> (
  listener: L,
  options: AccessOptions
): (req: IncomingMessage, res: ServerResponse) => unknown {
  const refusal = accessRefusal(options.allow)
  const pseudonym = options.pseudonym ?? 'libp2phttp'
  return (req, res) => {
    const why = refusal(req)
    if (why == null) return listener(req, res)
    // the request body is not read: the connection (one stream) closes after the answer
    res.statusCode = 403
    res.setHeader('proxy-status', proxyStatus(pseudonym, { error: 'http_request_denied', details: why }))
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.end(`Forbidden: ${why}\n`)
    return undefined
  }
}

/** Why `req` is refused under `allow`, or `undefined` when it may pass (for upgrades, which bypass listeners). */
export function accessRefusal (allow: AccessOptions['allow']): (req: IncomingMessage) => string | undefined {
  const allowed = allow === 'any' ? 'any' : new Set(allow.map(p => p.toString()))
  return (req) => {
    if (allowed === 'any') return undefined
    const peer = remotePeer(req)?.toString()
    if (peer != null && allowed.has(peer)) return undefined
    return peer == null ? 'no authenticated peer id' : `peer ${peer} is not on the allow-list`
  }
}
