/**
 * Every error libp2phttp raises. Match on `code`, which is stable across releases; messages are for people.
 *
 * @module
 */

/**
 * The brand every libp2phttp error carries, in the global symbol registry so that two copies of the
 * package (an ESM and a CJS build, two versions in one `node_modules`) recognise each other's errors:
 * undici marks its errors the same way (`Symbol.for('undici.error.UND_ERR')`).
 */
const BRAND = Symbol.for('libp2phttp.error')

/**
 * Base class: every libp2phttp error has a stable string `code`.
 *
 * `instanceof` works across copies of the package: `err instanceof DialError` holds for a `DialError`
 * thrown by another copy, decided by the brand and the class names along the error's prototype chain
 * (which are also its `name`s). {@link isLibP2PHTTPError} asks only for the brand.
 */
export class LibP2PHTTPError extends Error {
  /** Stable, machine-readable identifier of the failure. */
  readonly code: string

  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }

  static {
    // on the prototype, not on each error: not enumerable, not copied by `{ ...err }`, not in JSON
    Object.defineProperty(this.prototype, BRAND, { value: true })
  }

  /** `instanceof` for errors of this copy, and for branded errors of another copy with this class's name in their class chain. */
  static override [Symbol.hasInstance] (value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) {
      return true
    }
    if (!isLibP2PHTTPError(value)) {
      return false
    }
    for (let proto: object | null = Object.getPrototypeOf(value); proto != null; proto = Object.getPrototypeOf(proto)) {
      if (Object.hasOwn(proto, 'constructor') && (proto as { constructor: { name?: unknown } }).constructor.name === this.name) {
        return true
      }
      if (Object.hasOwn(proto, BRAND)) {
        return false // the base class's prototype: nothing above it is ours
      }
    }
    return false
  }
}

/**
 * Whether `err` is an error raised by libp2phttp, by any copy of the package (see {@link LibP2PHTTPError}).
 * Match on its `code` then.
 *
 * @example
 * ```ts
 * try { await host.fetch(target) } catch (err) {
 *   if (isLibP2PHTTPError(err) && err.code === 'ERR_DIAL_FAILED') { … }
 * }
 * ```
 */
export function isLibP2PHTTPError (err: unknown): err is LibP2PHTTPError {
  return typeof err === 'object' && err !== null && (err as { [BRAND]?: unknown })[BRAND] === true
}

/** The fetch target could not be understood (bad `multiaddr:` URI, unknown target type, bad `/http-path`). */
export class InvalidTargetError extends LibP2PHTTPError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_TARGET', message, options)
  }
}

/** The request needs the libp2p stream transport but the host was created without a `libp2p` node. */
export class NoLibp2pError extends LibP2PHTTPError {
  constructor (message = 'this HTTPHost has no libp2p node: pass `libp2p` to createHTTPHost to reach peers over streams') {
    super('ERR_NO_LIBP2P', message)
  }
}

/**
 * The server could not be reached: the peer could not be dialled (nor an address dialled to learn its
 * peer id), a stream to it could not be opened or was not confirmed (optimistic negotiation), or a
 * TCP/TLS connection to a native address failed. A peer that answers that it does not speak the
 * protocol is a {@link ProtocolNotSupportedError} instead.
 */
export class DialError extends LibP2PHTTPError {
  /** The peer id (string form) or multiaddr that was dialled. */
  readonly target: string

  constructor (target: string, message: string, options?: { cause?: unknown }) {
    super('ERR_DIAL_FAILED', message, options)
    this.target = target
  }
}

/** The peer does not speak the `/http/1.1` protocol. */
export class ProtocolNotSupportedError extends LibP2PHTTPError {
  readonly target: string

  constructor (target: string, protocol: string, options?: { cause?: unknown }) {
    super('ERR_PROTOCOL_NOT_SUPPORTED', `peer ${target} does not support ${protocol}`, options)
    this.target = target
  }
}

/** The libp2p stream carrying an HTTP exchange was reset by the remote or aborted locally. */
export class StreamResetError extends LibP2PHTTPError {
  constructor (message = 'the libp2p stream was reset', options?: { cause?: unknown }) {
    super('ERR_STREAM_RESET', message, options)
  }
}

/**
 * A circuit relay cut the relayed connection that carried the exchange because its limit ran out: the
 * bytes it relays per connection (`data`) or the time it keeps one open (`duration`). What was sent
 * before the cut is not a complete message; retry once the connection is direct (DCUtR) or through a
 * relay with larger limits.
 */
export class RelayLimitError extends LibP2PHTTPError {
  /** Which of the relay's limits ran out. */
  readonly limit: 'data' | 'duration'

  constructor (limit: 'data' | 'duration', message: string, options?: { cause?: unknown }) {
    super('ERR_RELAY_LIMIT', message, options)
    this.limit = limit
  }
}

/** The host was closed; no new requests are accepted. */
export class HostClosedError extends LibP2PHTTPError {
  constructor (message = 'the HTTPHost is closed') {
    super('ERR_HOST_CLOSED', message)
  }
}

/** A handler of an unsupported shape was passed to `serve`. */
export class InvalidHandlerError extends LibP2PHTTPError {
  constructor (message: string) {
    super('ERR_INVALID_HANDLER', message)
  }
}

/** A listen address is malformed or cannot be served (names the offending component). */
export class InvalidListenAddressError extends LibP2PHTTPError {
  /** The listen address as given. */
  readonly address: string

  constructor (address: string, message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_LISTEN_ADDRESS', message, options)
    this.address = address
  }
}

/**
 * Plain (unencrypted) HTTP was asked for without `insecureAllowHTTP: true`. The libp2p+HTTP spec
 * forbids plaintext on the HTTP transport; it is allowed only as an explicit, local opt-in.
 */
export class InsecureHTTPError extends LibP2PHTTPError {
  constructor (address: string) {
    super('ERR_INSECURE_HTTP', `${address} is plain HTTP, which the libp2p+HTTP transport forbids: use /tls/http, or set insecureAllowHTTP: true on the host to allow it (tests, loopback)`)
  }
}

/** How a request was routed: see `selectTransport` in `select.ts` for the rules. */
export interface TransportChoice {
  /** `native`: HTTP(S) over TCP/TLS; `stream`: HTTP/1.1 on a libp2p `/http/1.1` stream. */
  transport: 'native' | 'stream'
  /** Which rule decided, in words. */
  reason: string
}

/** No transport can carry the request (e.g. only plain `/http` addresses and no libp2p node). */
export class NoTransportError extends LibP2PHTTPError {
  /** Why each transport was ruled out. */
  readonly reason: string

  constructor (reason: string) {
    super('ERR_NO_TRANSPORT', `no transport can reach the target: ${reason}`)
    this.reason = reason
  }
}

/**
 * The target names a peer (`/p2p/<id>`) at an HTTP transport address. Only Peer ID Authentication can
 * prove that the HTTPS server is that peer, and this host cannot run it, so the request is refused
 * rather than sent to an unverified server.
 */
export class PeerAuthRequiredError extends LibP2PHTTPError {
  readonly target: string

  constructor (target: string) {
    super('ERR_PEER_AUTH_REQUIRED', `${target} names a peer at an HTTP transport address: proving the server is that peer needs Peer ID Authentication, which this host cannot run. Drop the /p2p component to fetch without verifying the peer, or use the peer's libp2p (stream) address`)
    this.target = target
  }
}

/** A listener could not be opened (address in use, no permission, name does not resolve). */
export class ListenError extends LibP2PHTTPError {
  /** The listen address as given. */
  readonly address: string

  constructor (address: string, message: string, options?: { cause?: unknown }) {
    super('ERR_LISTEN_FAILED', message, options)
    this.address = address
  }
}

/** `host.handle` was given a protocol id or a mount path it cannot use (empty id, a path that is not an absolute, normalised URL path). */
export class InvalidMountError extends LibP2PHTTPError {
  /** The protocol id that was being mounted. */
  readonly protocol: string

  constructor (protocol: string, message: string) {
    super('ERR_INVALID_MOUNT', message)
    this.protocol = protocol
  }
}

/** A mount would collide with an existing one: the protocol id is already handled, or its path is taken. */
export class MountConflictError extends LibP2PHTTPError {
  /** The protocol id that was being mounted (`undefined` for the root handler of `serve`). */
  readonly protocol: string | undefined
  /** The mount path in question, with its trailing `/`. */
  readonly path: string

  constructor (protocol: string | undefined, path: string, message: string) {
    super('ERR_MOUNT_CONFLICT', message)
    this.protocol = protocol
    this.path = path
  }
}

/** Base of the failures to learn a peer's protocol map, and of a protocol missing from it. */
export class WellKnownError extends LibP2PHTTPError {
  /** The server asked: its peer id, or the origin of a target that names no peer. */
  readonly target: string

  constructor (code: string, target: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.target = target
  }
}

/** A peer's well-known protocol map answered with a status other than 200 (on the legacy path too, where that was tried). */
export class WellKnownStatusError extends WellKnownError {
  /** The HTTP status of the last answer. */
  readonly status: number

  constructor (target: string, status: number) {
    super('ERR_WELL_KNOWN_STATUS', target, `${target} answered ${status} for its well-known protocol map`)
    this.status = status
  }
}

/** A peer's well-known protocol map is larger than the client reads. The body was not read past the limit. */
export class WellKnownTooLargeError extends WellKnownError {
  /** The limit in bytes. */
  readonly limit: number

  constructor (target: string, limit: number) {
    super('ERR_WELL_KNOWN_TOO_LARGE', target, `the well-known protocol map of ${target} is larger than ${limit} bytes`)
    this.limit = limit
  }
}

/** Fetching a peer's well-known protocol map took longer than the discovery timeout. */
export class WellKnownTimeoutError extends WellKnownError {
  /** The timeout in ms. */
  readonly timeout: number

  constructor (target: string, timeout: number) {
    super('ERR_WELL_KNOWN_TIMEOUT', target, `no well-known protocol map from ${target} within ${timeout} ms`)
    this.timeout = timeout
  }
}

/** A protocol map (from a peer or given to `setProtocols`) is not JSON of the expected shape, or names a path that is not absolute. */
export class InvalidProtocolMapError extends WellKnownError {
  constructor (target: string, message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_PROTOCOL_MAP', target, `invalid protocol map from ${target}: ${message}`, options)
  }
}

/** The peer's well-known protocol map does not list the protocol asked for. */
export class ProtocolNotFoundError extends WellKnownError {
  /** The protocol id asked for. */
  readonly protocol: string

  constructor (protocol: string, target: string) {
    super('ERR_PROTOCOL_NOT_FOUND', target, `${target} does not list protocol ${protocol} in its well-known protocol map`)
    this.protocol = protocol
  }
}

/** `host.ping` got an answer other than a 200 echo of the 32 bytes it sent. */
export class PingError extends LibP2PHTTPError {
  /** The HTTP status of the answer. */
  readonly status: number

  constructor (status: number, message: string) {
    super('ERR_PING_FAILED', message)
    this.status = status
  }
}

/**
 * A redirect was not followed because following it would be unsafe: a 307/308 replaying an unsafe
 * method (`POST`, `PUT`, `DELETE`, …) and its body to another origin, that is another peer or another
 * web server, where the request would arrive with this host's identity (its authenticated peer id over
 * a stream). Use `redirect: 'manual'` to decide yourself.
 */
export class RedirectRefusedError extends LibP2PHTTPError {
  constructor (message: string) {
    super('ERR_REDIRECT_REFUSED', message)
  }
}

/**
 * Base of the failures of a response the server sent (or failed to send): it arrived malformed, too
 * large, or too late. It rejects `host.fetch` when it happens before the headers; afterwards the body
 * stream errors with undici's `TypeError('terminated')` whose `cause` is this error.
 */
export class ResponseError extends LibP2PHTTPError {
  /**
   * The code of the failure underneath, when there was one: undici's (`UND_ERR_BODY_TIMEOUT`,
   * `UND_ERR_SOCKET`) or its parser's (`HPE_INVALID_STATUS`), else one of ours: `HPE` for a parser
   * error undici gave no code, `INVALID_STATUS` for a status outside 100–599 (llhttp takes any three
   * digits). `undefined` when this library detected the failure itself (`client.headersTimeout` running
   * out past interim responses, `maxBodySize`).
   */
  readonly reason: string | undefined

  constructor (code: string, message: string, reason?: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.reason = reason
  }
}

/**
 * The response is not valid HTTP/1.1 (status line, headers, chunk framing), or it ended before it was
 * complete (the stream closed before the headers, fewer bytes than `Content-Length`).
 */
export class BadResponseError extends ResponseError {
  constructor (message: string, reason?: string, options?: { cause?: unknown }) {
    super('ERR_BAD_RESPONSE', message, reason, options)
  }
}

/** The response headers are larger than the client's `client.maxHeaderSize`. */
export class ResponseHeadersTooLargeError extends ResponseError {
  constructor (message: string, reason?: string, options?: { cause?: unknown }) {
    super('ERR_RESPONSE_HEADERS_TOO_LARGE', message, reason, options)
  }
}

/**
 * The response body yielded more than `maxBodySize` bytes (counted after `Content-Encoding` is decoded,
 * when it is): reading the body fails with this error, and the request is aborted.
 */
export class ResponseBodyTooLargeError extends ResponseError {
  /** The bound, in bytes. */
  readonly limit: number

  constructor (limit: number) {
    super('ERR_RESPONSE_BODY_TOO_LARGE', `the response body is larger than maxBodySize (${limit} bytes)`)
    this.limit = limit
  }
}

/** The response headers, or the next chunk of its body, did not arrive within the client's timeouts. */
export class ResponseTimeoutError extends ResponseError {
  /** Which wait ran out: `headers` (`client.headersTimeout`) or `body` (`client.bodyTimeout`). */
  readonly phase: 'headers' | 'body'

  constructor (phase: 'headers' | 'body', message: string, reason?: string, options?: { cause?: unknown }) {
    super('ERR_RESPONSE_TIMEOUT', message, reason, options)
    this.phase = phase
  }
}

/**
 * A `libp2p-PeerID` header (`Authorization`, `WWW-Authenticate`, `Authentication-Info`) is malformed:
 * over 2048 bytes, bad `auth-param` syntax, bad base64url, a missing parameter, a challenge under 32
 * characters, an unreadable public key.
 */
export class PeerAuthHeaderError extends LibP2PHTTPError {
  constructor (message: string) {
    super('ERR_PEER_AUTH_HEADER', `malformed libp2p-PeerID header: ${message}`)
  }
}

/**
 * Peer ID Authentication of a server failed: its signature does not verify or is missing, it did not
 * run the handshake, or it refused ours.
 */
export class PeerAuthError extends LibP2PHTTPError {
  /** `code` is for subclasses: a failure with a code of its own. */
  constructor (message: string, options?: { cause?: unknown }, code = 'ERR_PEER_AUTH_FAILED') {
    super(code, message, options)
  }
}

/**
 * The HTTPS server answered without a `libp2p-PeerID` challenge: it does not run Peer ID
 * Authentication, which the spec makes optional, so it cannot prove the peer id the target names.
 * `host.fetch` falls back to the target's stream address when it offers one (`transportOf(res).reason`
 * says so); this error reaches the caller when it does not.
 */
export class PeerAuthUnsupportedError extends PeerAuthError {
  /** The URL that answered without a challenge. */
  readonly url: string
  /** The status it answered with. */
  readonly status: number

  constructor (url: string, status: number) {
    super(`${url} answered ${status} without a libp2p-PeerID challenge: the server does not run Peer ID Authentication`, undefined, 'ERR_PEER_AUTH_UNSUPPORTED')
    this.url = url
    this.status = status
  }
}

/** The server proved a peer id, but not the one the target named (`/http/p2p/<id>`). */
export class PeerMismatchError extends LibP2PHTTPError {
  /** The peer id the target named. */
  readonly expected: string
  /** The peer id the server proved. */
  readonly actual: string

  constructor (expected: string, actual: string) {
    super('ERR_PEER_MISMATCH', `the server authenticated as ${actual}, but the target names ${expected}`)
    this.expected = expected
    this.actual = actual
  }
}

/**
 * The server asked to authenticate again (401) after the request body had been sent, and the body
 * cannot be sent twice (a stream). Pass a string, bytes, `URLSearchParams` or a `Blob` to let the
 * client replay it.
 */
export class PeerAuthNotReplayableError extends LibP2PHTTPError {
  constructor (url: string) {
    super('ERR_PEER_AUTH_NOT_REPLAYABLE', `${url} asked to authenticate again after the request body was sent, and a streamed body cannot be sent twice: pass the body as a string, bytes or a Blob`)
  }
}

/**
 * An option cannot be used: of `createHTTPHost` (checked when the host is made, before anything
 * listens), of a call (`host.fetch`'s `maxBodySize`, `host.protocols`' `timeout`), or of a public
 * function (`proxyTo`'s upstream, `createExit`'s `allowEgress`). `option` names it as written
 * (`server.idleTimeout`, `allowEgress[1]`). Limits and `auth` options have subclasses with codes of
 * their own ({@link InvalidLimitError}, {@link InvalidAuthOptionsError}); catch this class for all.
 */
export class InvalidOptionError extends LibP2PHTTPError {
  /** The option, as a path from the options object given (`discovery.cacheSize`). */
  readonly option: string

  /** `code` is for subclasses. */
  constructor (option: string, message: string, options?: { cause?: unknown }, code = 'ERR_INVALID_OPTION') {
    super(code, message, options)
    this.option = option
  }
}

/** The `auth` options of `createHTTPHost` cannot be used (no private key, a key that is not the node's, a bad duration). */
export class InvalidAuthOptionsError extends InvalidOptionError {
  constructor (option: string, message: string, options?: { cause?: unknown }) {
    super(option, message, options, 'ERR_INVALID_AUTH_OPTIONS')
  }
}

/** A request body grew past `server.maxRequestBodySize`: the client got `413`; the handler's `req` errors with this. */
export class RequestBodyTooLargeError extends LibP2PHTTPError {
  /** The limit, in bytes. */
  readonly limit: number

  constructor (limit: number) {
    super('ERR_REQUEST_BODY_TOO_LARGE', `the request body is larger than ${limit} bytes`)
    this.limit = limit
  }
}

/** A limit or timeout option is not a usable value (negative, NaN, or inconsistent with another). */
export class InvalidLimitError extends InvalidOptionError {
  constructor (option: string, message: string) {
    super(option, message, undefined, 'ERR_INVALID_LIMIT')
  }
}

/** A `libp2phttp` command line that cannot be run as written (an unknown option, a missing value). */
export class UsageError extends LibP2PHTTPError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options)
  }
}

/** The identity key file cannot be read, written, or decoded (or it is readable by others). */
export class KeyFileError extends LibP2PHTTPError {
  /** The key file's path. */
  readonly path: string

  constructor (path: string, message: string, options?: { cause?: unknown }) {
    super('ERR_KEY_FILE', message, options)
    this.path = path
  }
}

/** An exit node refused to connect to a destination (a special address, or a CONNECT port not allowed). */
export class EgressDeniedError extends LibP2PHTTPError {
  /** The host asked for. */
  readonly destination: string

  constructor (destination: string, reason: string) {
    super('ERR_EGRESS_DENIED', `refused to connect to ${destination}: ${reason}`)
    this.destination = destination
  }
}

/**
 * A file that decides who this machine is or whom it serves (a key, a config file) could have been
 * written by someone else: writable by group or others, owned by another user, or in a directory others
 * can write. The message names the file and the fix.
 */
export class UnsafeFileError extends LibP2PHTTPError {
  /** The file's path. */
  readonly path: string

  constructor (path: string, message: string) {
    super('ERR_UNSAFE_FILE', message)
    this.path = path
  }
}

/**
 * A Node-only part of the package was used from its browser build (the `browser` export condition):
 * native listeners, Node `(req, res)` handlers and `http.Server`s, the proxy tools, the command. `feature`
 * names it.
 */
export class NotInBrowserError extends LibP2PHTTPError {
  /** The Node-only export or option used. */
  readonly feature: string

  constructor (feature: string, why: string) {
    super('ERR_NOT_IN_BROWSER', `${feature} is not in libp2phttp's browser build: ${why}`)
    this.feature = feature
  }
}
