/**
 * The client side: one undici `Agent` whose `connect` opens `/http/1.1` streams for peer origins and
 * TCP/TLS sockets (the native HTTP transport) for everything else.
 *
 * @module
 */
import { Agent, Pool, buildConnector } from 'undici'
import { peerFromHostname } from './addressing.js'
import { createStreamConnector } from './stream/connect.js'
import type { StreamOpener } from './stream/connect.js'
import type { ConnectionOptions } from 'node:tls'

/** TLS settings for native HTTPS requests, e.g. `{ ca }` to trust a self-signed server explicitly. */
export type ClientTLSOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'checkServerIdentity' | 'minVersion' | 'ciphers'>

/** Options for {@link createDispatcher}. */
export interface DispatcherOptions {
  /**
   * Requests in flight to one peer over `/http/1.1` streams; more wait in a queue. Each request is one
   * stream, and libp2p peers accept 32 inbound streams per protocol by default.
   *
   * @default 32
   */
  maxStreamsPerPeer?: number
  /**
   * Upper bound on dialling a peer and negotiating `/http/1.1`, in milliseconds.
   *
   * @default 30000
   */
  connectTimeout?: number
  /**
   * TLS settings for the native HTTP transport. Node's default trust store applies; a self-signed
   * server is trusted only when its certificate (or CA) is given here as `ca`.
   */
  clientTLS?: ClientTLSOptions
}

/**
 * Where to open the TCP connection for an origin whose hostname is only a TLS server name
 * (`/ip4/1.2.3.4/tcp/443/tls/sni/example.com/http` is `https://example.com` reached at 1.2.3.4).
 */
export interface OriginPins {
  get: (origin: string) => string | undefined
}

/** Build the dispatcher: undici's HTTP/1.1 client on libp2p streams for peer origins, undici's own sockets otherwise. */
export function createDispatcher (opener: StreamOpener, options: DispatcherOptions = {}, pins?: OriginPins): Agent {
  const tlsConnect = buildConnector({ ...options.clientTLS, timeout: options.connectTimeout ?? 30_000 })
  const socketConnect: buildConnector.connector = (opts, callback) => {
    const pinned = pins?.get(`${opts.protocol}//${opts.host}`)
    // The URL hostname stays the TLS server name and Host; only the TCP destination changes.
    tlsConnect(pinned == null ? opts : { ...opts, hostname: pinned, servername: opts.servername ?? bare(opts.hostname) }, callback)
  }
  const streamConnect = createStreamConnector(opener, socketConnect, options.connectTimeout)
  return new Agent({
    factory: (origin, poolOptions) => {
      const { hostname } = new URL(origin)
      if (peerFromHostname(hostname) != null) {
        // One request per stream (libp2p+HTTP spec): keep-alive off, which also makes undici send
        // `Connection: close`.
        return new Pool(origin, {
          ...poolOptions,
          connect: streamConnect,
          pipelining: 0,
          connections: options.maxStreamsPerPeer ?? 32
        })
      }
      return new Pool(origin, { ...poolOptions, connect: socketConnect })
    }
  })
}


function bare (hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
}
