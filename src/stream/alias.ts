/**
 * Stream aliases: libp2p protocol ids other than `/http/1.1` whose streams also carry plain HTTP/1.1,
 * each for one mounted protocol (or the whole host). Kubo's p2p HTTP proxy (`Experimental.P2pHttpProxy`)
 * opens `/http` for `/p2p/<peer>/http/<path>` and `/x/<name>/http` for `/p2p/<peer>/x/<name>/http/<path>`,
 * and sends `<path>` as the request target; an alias maps that target into the mount.
 *
 * @module
 */
import { parseRequestTarget } from '../server/mount.js'

/** A stream protocol id answered with HTTP/1.1 for one mount (see {@link HTTPHostOptions.streamAliases}). */
export interface StreamAlias {
  /** The libp2p protocol id, e.g. `/x/echo/http`. */
  streamProtocol: string
  /**
   * The mounted protocol its requests go to: a request for `/a` reaches that mount's handler as `/a`.
   * Left out: the host as a whole, as on `/http/1.1` (its root handler, its mounts at their paths).
   */
  protocol?: string
}

/**
 * The host's request target for `url` received on an alias for the mount at `mountPath` (which ends in
 * `/`): the mount's path prefix put before it. `undefined` when the result would leave the mount: a
 * target not in origin form (RFC 9112 §3.2.1: absolute-form, asterisk-form), or dot segments that climb
 * out of it once resolved (`/../other`, as the router resolves them, RFC 3986 §5.2.4). An alias names
 * one mount; it must not reach the rest of the host, the well-known map included.
 */
export function aliasedTarget (url: string, mountPath: string): string | undefined {
  if (!url.startsWith('/')) return undefined
  const target = `${mountPath.slice(0, -1)}${url}`
  const parsed = parseRequestTarget(target)
  return parsed != null && parsed.pathname.startsWith(mountPath) ? target : undefined
}
