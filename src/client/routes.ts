/**
 * What the client remembers about where things are: addresses that came with targets (dialled before
 * the peer store), `/tls/sni/<name>/http` routes, and the plain `http:` origins the caller asked for.
 * Routing a target writes them ({@link RouterContext}); the stream opener, the dispatcher and Peer ID
 * Authentication read them. One owner, each map bounded, so no peer can grow memory without bound.
 *
 * @module
 */
import { SNIRoutes } from './dispatcher.js'
import { LRUMap } from '../util/lru.js'
import type { RouterContext } from './target.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The route caches of one host's client. */
export class RouteMemory {
  /** Addresses that came with targets, dialled before the peer store; bounded (1024 peers). */
  readonly #addressHints = new LRUMap<string, Multiaddr[]>(1024)
  /** Plain `http:` origins the caller asked for itself (bounded); redirects elsewhere stay on TLS. */
  readonly #plainOrigins = new LRUMap<string, true>(1024)
  readonly sni = new SNIRoutes()

  /** The addresses a target gave for `peer`, if any. */
  addressesOf (peer: PeerId): Multiaddr[] | undefined {
    return this.#addressHints.get(peer.toString())
  }

  /** Whether the caller itself asked for this plain `http:` origin. */
  isPlainOrigin (origin: string): boolean {
    return this.#plainOrigins.has(origin)
  }

  /** The `Host` a native request to `origin` is signed for: the SNI name for an SNI route. */
  hostOf (origin: URL): string {
    const sni = this.sni.lookup(origin.hostname)
    return sni == null ? origin.host : origin.port === '' ? sni.servername : `${sni.servername}:${origin.port}`
  }

  /** The writing half of {@link RouterContext}: what routing a target records here. */
  get writers (): Pick<RouterContext, 'rememberAddresses' | 'allowPlainOrigin' | 'sniHostname'> {
    return {
      rememberAddresses: (peer, addrs, { replace }) => {
        if (replace || !this.#addressHints.has(peer.toString())) {
          this.#addressHints.set(peer.toString(), addrs)
        }
      },
      allowPlainOrigin: (origin) => { this.#plainOrigins.set(origin, true) },
      sniHostname: (connectHost, servername) => this.sni.hostnameFor({ connectHost, servername })
    }
  }
}
