/**
 * Peer ID Authentication in front of a request listener. Every request ends in exactly one of: the
 * listener runs (once) with `remotePeer(req)` set to the authenticated client, 401 with a fresh
 * challenge, or 400. The client's identity comes only from a verified signature or a token this server
 * sealed, never from a header the client could write.
 *
 * @module
 */
import { X509Certificate, randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { InvalidAuthOptionsError } from '../errors.js'
import { setAuthentication, setRemotePeer } from '../identity.js'
import { StreamSocket } from '../stream/socket.js'
import { isWellKnownPath } from '../protocols/well-known.js'
import { ServerHandshake } from './handshake.js'
import { isPeerIdAuth } from './params.js'
import { parseDuration } from './tokens.js'
import { rawResponse } from '../server/raw-response.js'
import type { HandshakeEnv } from './handshake.js'
import type { PrivateKey } from '@libp2p/interface'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'

/** Options of the server side of Peer ID Authentication (`auth.server` of `createHTTPHost`). */
export interface PeerIdAuthServerOptions {
  /**
   * How long a bearer token is accepted: ms, or a duration such as `'30m'`, `'1h'`. An expired token
   * gets 401 with a new challenge, and the client authenticates again.
   *
   * @default '1h'
   */
  tokenTTL?: number | string
  /**
   * HMAC-SHA256 keys that seal `opaque` and bearer tokens (stateless: nothing is stored per client). The
   * first seals, every one opens: to rotate, put the new key first and drop the old one after
   * `tokenTTL`. Share the keys between servers behind one name so that each accepts the others' tokens.
   *
   * @default 32 random bytes per host (tokens do not survive a restart)
   */
  hmacKey?: Uint8Array | Uint8Array[]
  /**
   * Host names (without port) clients may authenticate for. Signatures and tokens are bound to the
   * request's `Host`; over TLS the `Host` name must also be the TLS server name (SNI) when the client
   * sent one. Required for requests that do not arrive over TLS. Set it in production: without it the
   * server signs for whatever name a client (or a relay in the middle) sends as SNI.
   *
   * @default in `createHTTPHost`, the names the listeners' certificate (`tls.cert`) covers; without a
   * certificate (and in `createAuthGuards`), over TLS the TLS server name, or without SNI the IP address
   * the connection arrived on
   */
  hostnames?: string[]
  /**
   * Send the advisory `expires` parameter with new tokens.
   *
   * @default true
   */
  expires?: boolean
  /**
   * Origins (`https://app.example`, scheme, host and port as a browser sends them in `Origin`) whose web
   * pages may authenticate from their own origin: a page's `fetch` with an `Authorization` header is
   * preceded by a CORS preflight, and it reads `WWW-Authenticate` and `Authentication-Info` only when
   * they are exposed to its origin. For these origins the guard answers preflights itself (`204`, the
   * requested method and headers allowed, before authentication: a preflight carries no credentials)
   * and adds `Access-Control-Allow-Origin` (and `Vary: Origin`) to every answer, its own `401`s and the
   * handler's responses alike. Other origins get none of it, and a browser refuses them the responses.
   * No wildcard: each origin is named.
   *
   * @default [] (no page of another origin can authenticate)
   */
  allowOrigins?: string[]
}

/** Options of {@link withPeerIdAuth}: the server options and the key the server proves itself with. */
export interface WithPeerIdAuthOptions extends PeerIdAuthServerOptions {
  /** The server's identity key: clients verify its signature, and learn its peer id. */
  privateKey: PrivateKey
}

/** The full server configuration: {@link WithPeerIdAuthOptions} and, for tests, the clock and randomness. */
export interface AuthServerOptions extends WithPeerIdAuthOptions, Partial<HandshakeEnv> {}

/** Answers one request: `next` runs only for an authenticated client. */
export type AuthGuard = (req: IncomingMessage, res: ServerResponse, next: () => void) => void

const EXPOSED = 'WWW-Authenticate, Authentication-Info'

function hmacKeysOf (key: Uint8Array | Uint8Array[] | undefined): Uint8Array[] {
  const keys = key == null ? [new Uint8Array(randomBytes(32))] : Array.isArray(key) ? key : [key]
  if (keys.length === 0 || keys.some(k => !(k instanceof Uint8Array) || k.byteLength < 16)) {
    throw new InvalidAuthOptionsError('auth.server.hmacKey', 'auth.server.hmacKey: give one or more keys of at least 16 bytes (32 recommended)')
  }
  return keys
}

/** The name part of a `Host` value (`[::1]:8443` → `::1`), lowercased. */
export function hostName (host: string): string {
  const lower = host.toLowerCase()
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']')
    return end < 0 ? lower : lower.slice(1, end)
  }
  const colon = lower.lastIndexOf(':')
  return colon < 0 ? lower : lower.slice(0, colon)
}

/**
 * The `hostname` a request's signatures and tokens are bound to: its `Host` value, port included when
 * there is one (what go-libp2p and @libp2p/http clients sign), or a reason to refuse it.
 */
function hostnameOf (req: IncomingMessage, allowed: Set<string> | undefined): { hostname: string } | { refused: string } {
  const host = req.headers.host
  if (host == null || host === '') {
    return { refused: 'no Host header' }
  }
  const name = hostName(host)
  const socket = req.socket as Partial<TLSSocket>
  if (socket.encrypted === true) {
    const servername = typeof socket.servername === 'string' && socket.servername !== '' ? socket.servername.toLowerCase() : undefined
    if (servername != null && servername !== name) {
      return { refused: `Host ${host} is not the TLS server name ${servername}` }
    }
    // Without SNI (a client dialling an IP) only the address the connection arrived on can be named:
    // a relay must not get this server to sign for a name it picked.
    if (servername == null && allowed == null && (isIP(name) === 0 || name !== localAddressOf(req))) {
      return { refused: `Host ${host} is not the address this connection arrived on, and no TLS server name was sent` }
    }
  } else if (allowed == null) {
    return { refused: 'authentication without TLS needs an allow-list of host names (auth.server.hostnames)' }
  }
  if (allowed != null && !isAllowed(allowed, name)) {
    return { refused: `${name} is not a host name of this server` }
  }
  return { hostname: host.toLowerCase() }
}

/** `name` is in the allow-list, itself or under a `*.` wildcard entry (left-most label only, RFC 6125). */
function isAllowed (allowed: Set<string>, name: string): boolean {
  if (allowed.has(name)) return true
  const dot = name.indexOf('.')
  return dot > 0 && isIP(name) === 0 && allowed.has(`*${name.slice(dot)}`)
}

/**
 * The names a certificate is valid for (its subject alternative names: DNS names, wildcards kept, and
 * IP addresses in their canonical form): the default allow-list of a TLS server, so that it signs only
 * for names its certificate proves anyway. `undefined` when there is no certificate to read.
 */
export function certificateNames (cert: unknown): string[] | undefined {
  const first = Array.isArray(cert) ? cert[0] : cert
  if (typeof first !== 'string' && !Buffer.isBuffer(first)) return undefined
  let san: string | undefined
  try {
    san = new X509Certificate(first).subjectAltName
  } catch {
    return undefined
  }
  const names = (san ?? '').split(/,\s*/).flatMap((entry) => {
    if (entry.startsWith('DNS:')) return [entry.slice(4).toLowerCase()]
    if (entry.startsWith('IP Address:')) {
      const ip = entry.slice(11)
      // Node prints IPv6 uncompressed (0:0:…:1); Host headers carry the compressed form
      return [isIP(ip) === 6 ? new URL(`http://[${ip}]`).hostname.slice(1, -1) : ip]
    }
    return []
  })
  return names.length === 0 ? undefined : names
}

function localAddressOf (req: IncomingMessage): string | undefined {
  const address = req.socket.localAddress?.toLowerCase()
  return address?.startsWith('::ffff:') === true && isIP(address.slice(7)) === 4 ? address.slice(7) : address
}

function answer (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'access-control-expose-headers': EXPOSED, 'content-type': 'text/plain; charset=utf-8' })
  res.end(`${text}\n`)
}

/** Answers one upgrade request (WebSocket): `next` runs only for an authenticated client. */
export type UpgradeGuard = (req: IncomingMessage, socket: Duplex, next: () => void) => void

/** The guards of one configuration: for requests, and for upgrades. */
export interface AuthGuards {
  request: AuthGuard
  upgrade: UpgradeGuard
}

function answerOnSocket (socket: Duplex, status: number, headers: Record<string, string> = {}): void {
  socket.end(rawResponse(status, { ...headers, 'access-control-expose-headers': EXPOSED }), () => { socket.destroy() })
}

/**
 * Build the guard that runs Peer ID Authentication before `next`.
 *
 * @throws {InvalidAuthOptionsError} for a bad `tokenTTL` or `hmacKey`
 */
export function createAuthGuards (init: AuthServerOptions): AuthGuards {
  let tokenTTL: number
  try {
    tokenTTL = parseDuration(init.tokenTTL ?? '1h')
  } catch (err) {
    throw new InvalidAuthOptionsError('auth.server.tokenTTL', `auth.server.tokenTTL: ${(err as Error).message}`, { cause: err })
  }
  const handshake = new ServerHandshake({
    privateKey: init.privateKey,
    hmacKeys: hmacKeysOf(init.hmacKey),
    tokenTTL,
    expires: init.expires,
    now: init.now ?? Date.now,
    randomBytes: init.randomBytes ?? ((n) => new Uint8Array(randomBytes(n)))
  })
  const allowed = init.hostnames == null ? undefined : new Set(init.hostnames.map(h => h.toLowerCase()))
  const origins = allowedOrigins(init.allowOrigins)
  const request: AuthGuard = (req, res, next) => {
    if (origins.size > 0 && crossOrigin(req, res, origins)) {
      return
    }
    const bound = hostnameOf(req, allowed)
    if ('refused' in bound) {
      answer(res, 400, bound.refused)
      return
    }
    const authorization = req.headers.authorization
    handshake.respond(authorization, bound.hostname).then((outcome) => {
      if (outcome.type === 'invalid') {
        answer(res, 400, outcome.reason)
        return
      }
      if (outcome.type === 'challenge') {
        answer(res, 401, 'Peer ID Authentication required', { 'www-authenticate': outcome.wwwAuthenticate })
        return
      }
      setRemotePeer(req, outcome.peer)
      setAuthentication(req, outcome.authenticationInfo != null ? 'peer-id-auth' : 'peer-id-auth-token')
      consumeAuthorization(req)
      if (outcome.authenticationInfo != null) {
        res.setHeader('authentication-info', outcome.authenticationInfo)
        res.setHeader('access-control-expose-headers', EXPOSED)
      }
      next()
    }, (err: unknown) => {
      // signing failed (a broken key): nothing the client can fix
      if (!res.headersSent) {
        answer(res, 500, 'Peer ID Authentication failed on the server')
      }
      res.destroy(err instanceof Error ? err : undefined)
    })
  }
  // An upgrade has no response object until a WebSocket server writes its 101, so a handshake step
  // cannot hand back Authentication-Info: upgrades authenticate with a token from an earlier request
  // (or complete a handshake and lose the token). Refusals are written on the socket.
  const upgrade: UpgradeGuard = (req, socket, next) => {
    const bound = hostnameOf(req, allowed)
    if ('refused' in bound) {
      answerOnSocket(socket, 400)
      return
    }
    handshake.respond(req.headers.authorization, bound.hostname).then((outcome) => {
      if (outcome.type === 'authenticated') {
        setRemotePeer(req, outcome.peer)
        setAuthentication(req, 'peer-id-auth-token')
        consumeAuthorization(req)
        next()
      } else if (outcome.type === 'challenge') {
        answerOnSocket(socket, 401, { 'www-authenticate': outcome.wwwAuthenticate })
      } else {
        answerOnSocket(socket, 400)
      }
    }, () => { socket.destroy() })
  }
  return { request, upgrade }
}

/** `auth.server.allowOrigins` checked and serialised as browsers send `Origin`. */
function allowedOrigins (list: string[] | undefined): Set<string> {
  const origins = new Set<string>()
  for (const [i, origin] of (list ?? []).entries()) {
    let serialised: string | undefined
    try {
      serialised = new URL(origin).origin
    } catch {}
    if (serialised == null || serialised === 'null' || serialised !== origin.toLowerCase().replace(/\/$/, '')) {
      throw new InvalidAuthOptionsError(`auth.server.allowOrigins[${i}]`, `auth.server.allowOrigins[${i}]: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path)`)
    }
    origins.add(serialised)
  }
  return origins
}

/** How long a browser may reuse a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = '600'

/**
 * CORS for the pages of `origins` (Fetch standard, "CORS protocol"): a preflight from one of them is
 * answered here (returns `true`: nothing else runs); any other request from one of them gets
 * `Access-Control-Allow-Origin` on whatever answers it. A request from another origin is left as it is.
 */
function crossOrigin (req: IncomingMessage, res: ServerResponse, origins: Set<string>): boolean {
  const origin = req.headers.origin
  if (origin == null || !origins.has(origin.toLowerCase())) {
    return false
  }
  res.setHeader('access-control-allow-origin', origin)
  res.setHeader('vary', 'Origin')
  const method = req.headers['access-control-request-method']
  if (req.method !== 'OPTIONS' || method == null) {
    res.setHeader('access-control-expose-headers', EXPOSED)
    return false
  }
  res.setHeader('access-control-allow-methods', method)
  const headers = req.headers['access-control-request-headers']
  if (headers != null) res.setHeader('access-control-allow-headers', headers)
  res.setHeader('access-control-max-age', PREFLIGHT_MAX_AGE)
  res.writeHead(204)
  res.end()
  return true
}

/**
 * Build the request guard that runs Peer ID Authentication before `next`.
 *
 * @throws {InvalidAuthOptionsError} for a bad `tokenTTL` or `hmacKey`
 */
export function createAuthGuard (init: AuthServerOptions): AuthGuard {
  return createAuthGuards(init).request
}

/**
 * Wrap a Node request listener in Peer ID Authentication: it runs only for authenticated clients, and
 * `remotePeer(req)` tells which. Works for a mount, the root handler, or any `http(s).Server`.
 * Requests on libp2p streams pass straight through (the connection authenticated the peer).
 *
 * @example
 * ```ts
 * https.createServer(tls, withPeerIdAuth((req, res) => res.end(`hi ${remotePeer(req)}`), { privateKey, hostnames: ['example.com'] }))
 * ```
 */
export function withPeerIdAuth (listener: (req: IncomingMessage, res: ServerResponse) => void, init: WithPeerIdAuthOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const guard = createAuthGuard(init)
  return (req, res) => {
    if (req.socket instanceof StreamSocket) {
      // a libp2p stream: the connection has authenticated the peer already
      listener(req, res)
      return
    }
    guard(req, res, () => { listener(req, res) })
  }
}

/**
 * Whether a request to a host with `auth.server` goes through the guard: native requests, except
 * those for the well-known protocol map that carry no `libp2p-PeerID` header (the map is public, so
 * that clients can discover; a client that wants the server proven there gets its handshake).
 */
export function needsPeerIdAuth (req: IncomingMessage): boolean {
  if (req.socket instanceof StreamSocket) {
    return false
  }
  return !isWellKnownPath((req.url ?? '/').split('?')[0]) || isPeerIdAuth(req.headers.authorization)
}

/**
 * The handshake is this host's business: the handler (and anything it forwards to, such as `proxyTo`'s
 * upstream) never sees the client's `libp2p-PeerID` credentials, which could be replayed against us.
 */
function consumeAuthorization (req: IncomingMessage): void {
  if (!isPeerIdAuth(req.headers.authorization)) return
  delete req.headers.authorization
  for (let i = req.rawHeaders.length - 2; i >= 0; i -= 2) {
    if (req.rawHeaders[i].toLowerCase() === 'authorization') req.rawHeaders.splice(i, 2)
  }
}
