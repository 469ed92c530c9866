/**
 * Every error libp2phttp raises. Match on `code`, which is stable across releases; messages are for people.
 *
 * @module
 */

/** Base class: every libp2phttp error has a stable string `code`. */
export class LibP2PHTTPError extends Error {
  /** Stable, machine-readable identifier of the failure. */
  readonly code: string

  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
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

/** The peer could not be dialled, or it refused the `/http/1.1` protocol. */
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

/** The host was closed; no new requests are accepted. */
export class HostClosedError extends LibP2PHTTPError {
  constructor () {
    super('ERR_HOST_CLOSED', 'the HTTPHost is closed')
  }
}

/** A handler of an unsupported shape was passed to `serve`. */
export class InvalidHandlerError extends LibP2PHTTPError {
  constructor (message: string) {
    super('ERR_INVALID_HANDLER', message)
  }
}
