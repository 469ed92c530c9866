/**
 * The server limits' values and their defaults, checked once: no Node APIs, so the browser host
 * (`src/web/`) checks and defaults its limits with the same rules. Enforcing them is `limits.ts`'s
 * (Node's server) and `web/http1/server.ts`'s.
 *
 * @module
 */
import { InvalidLimitError } from '../errors.js'

/** Limits of the HTTP/1.1 server, for streams and native listeners alike. */
export interface ServerLimits {
  /**
   * How long a peer may take to send the complete request headers, in ms (a slowloris that keeps a
   * stream open with partial headers gets a `408` and the stream is closed). `0` disables.
   *
   * @default 60000
   */
  headersTimeout?: number
  /**
   * How long a peer may take to send the whole request, body included, in ms (`408`). `0` disables.
   *
   * @default 300000
   */
  requestTimeout?: number
  /**
   * The most bytes the request line and headers may take; more gets `431`.
   *
   * @default 16384
   */
  maxHeaderSize?: number
  /**
   * A stream (or native connection) on which no byte moves either way for this long is closed, in ms
   * (a peer that stopped reading our response). `0` disables.
   *
   * @default 300000
   */
  idleTimeout?: number
  /**
   * The most bytes a request body may have. A larger `Content-Length` gets `413` before the handler
   * runs; a chunked body that grows past it gets `413` (or, when the handler has already answered, a
   * closed stream) and the rest is discarded.
   *
   * @default Infinity
   */
  maxRequestBodySize?: number
}

/** {@link ServerLimits} with every default filled in. */
export type ResolvedServerLimits = Required<ServerLimits>

function check (name: string, value: number | undefined, allowInfinity = false): void {
  if (value == null) return
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new InvalidLimitError(`server.${name}`, `server.${name} must be a number ≥ 0${allowInfinity ? ' (or Infinity)' : ''}, not ${String(value)}`)
  }
}

/**
 * The limits with their defaults.
 *
 * @throws {InvalidLimitError} for a negative or NaN value, or a `headersTimeout` longer than the
 * `requestTimeout` it is part of (Node refuses that); the default `headersTimeout` shrinks to fit a
 * shorter `requestTimeout`
 */
export function resolveServerLimits (limits: ServerLimits = {}): ResolvedServerLimits {
  check('headersTimeout', limits.headersTimeout)
  check('requestTimeout', limits.requestTimeout)
  check('maxHeaderSize', limits.maxHeaderSize)
  check('idleTimeout', limits.idleTimeout)
  check('maxRequestBodySize', limits.maxRequestBodySize, true)
  const requestTimeout = limits.requestTimeout ?? 300_000
  const headersTimeout = limits.headersTimeout ?? (requestTimeout > 0 ? Math.min(60_000, requestTimeout) : 60_000)
  if (requestTimeout > 0 && headersTimeout > requestTimeout) {
    throw new InvalidLimitError('server.headersTimeout', `server.headersTimeout (${headersTimeout}) cannot be longer than server.requestTimeout (${requestTimeout}): the headers are part of the request`)
  }
  return {
    headersTimeout,
    requestTimeout,
    maxHeaderSize: limits.maxHeaderSize ?? 16_384,
    idleTimeout: limits.idleTimeout ?? 300_000,
    maxRequestBodySize: limits.maxRequestBodySize ?? Infinity
  }
}
