/**
 * Fetch targets re-pointed at another path on the same server, and the name a target's server goes by.
 * Both work from {@link describeTarget}, so a re-pointed target routes exactly as the original does
 * (same peer, same addresses, same transport choice); only the request target differs.
 *
 * @module
 */
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { MULTIADDR_URI_SCHEME, requestTarget, withHTTPPath } from '../addr/addressing.js'
import { InvalidTargetError } from '../errors.js'
import { describeTarget } from './target.js'
import type { FetchTarget } from './target.js'

/**
 * Where a protocol's resource is: `path` (origin-form, query allowed; normalised so that `..` cannot
 * climb out) under the protocol's `prefix`, whose trailing `/` is dropped first (go's
 * `namespacedRoundTripper`). Without `path`, the prefix itself, as the peer listed it: that is the
 * protocol's URL (spec H-13), also when it has no trailing `/` (@libp2p/http lists `/echo`).
 */
export function protocolPath (prefix: string, path: string | undefined): string {
  if (path == null) {
    return requestTarget(prefix)
  }
  return requestTarget(`${prefix.replace(/\/$/, '')}${requestTarget(path)}`)
}

/**
 * `target` pointed at `path` (origin-form, leading `/`) on the same server, replacing any path it had:
 * a URL keeps its origin, multiaddrs keep their addresses with `/http-path` replaced (a bare `/p2p/<id>`
 * stays in the list when no address carries the peer), a peer without addresses becomes `{ peer, path }`.
 *
 * @throws {InvalidTargetError} for targets of no known shape
 */
export function withPath (target: FetchTarget, path: string): FetchTarget {
  const { url, peer, addrs } = describeTarget(target)
  if (url != null) {
    // Concatenated onto the origin: a path starting with '//' must not name another host.
    return `${url.origin}${path}`
  }
  if (addrs.length === 0) {
    if (peer == null) {
      throw new InvalidTargetError('the target names neither a peer nor an address')
    }
    return { peer, path }
  }
  const repointed = addrs.map(ma => withHTTPPath(ma, path))
  const named = addrs.some(ma => ma.getComponents().some(c => c.code === CODE_P2P))
  return peer != null && !named ? [...repointed, withHTTPPath(multiaddr(`/p2p/${peer.toString()}`), path)] : repointed
}

/**
 * The name of the server `target` reaches, without dialling: the peer id string when the target names a
 * peer (a `PeerId`, `{ peer }`, a multiaddr with `/p2p`, a URL whose host is a peer); otherwise the URL's
 * origin, or `multiaddr:` and the first address for multiaddrs without `/p2p`.
 *
 * @throws {InvalidTargetError} for targets of no known shape
 */
export function targetKey (target: FetchTarget): string {
  const { url, peer, addrs } = describeTarget(target)
  return peer?.toString() ?? url?.origin ?? `${MULTIADDR_URI_SCHEME}${addrs[0].toString()}`
}
