/**
 * undici's response failures seen as ours. A peer we do not control may send anything; what reaches
 * the caller is a {@link ResponseError} with a stable `code`, whichever undici error (or llhttp code) it
 * started as. The undici error stays as `cause`.
 *
 * @module
 */
import { BadResponseError, LibP2PHTTPError, ResponseHeadersTooLargeError, ResponseTimeoutError } from '../errors.js'
import { ForwardingHandler } from './forwarding-handler.js'
import type { Dispatcher } from 'undici'

/**
 * Our error for `err`, or `err` itself when it is not a response failure (an abort, a dial error, one of
 * ours). Our own errors anywhere in the cause chain win: a reset stream stays a `StreamResetError`.
 */
export function toResponseError (err: Error): Error {
  for (let current: unknown = err, depth = 0; current != null && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof LibP2PHTTPError) {
      return current
    }
  }
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string') {
    // undici's HTTPParserError often has no code (only a message naming what llhttp disliked)
    return err.name === 'HTTPParserError' ? new BadResponseError(`malformed response: ${err.message}`, 'HPE', { cause: err }) : err
  }
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new ResponseTimeoutError('headers', 'the response headers did not arrive within the client headers timeout', code, { cause: err })
    case 'UND_ERR_BODY_TIMEOUT':
      return new ResponseTimeoutError('body', 'the response body stalled for longer than the client body timeout', code, { cause: err })
    case 'UND_ERR_HEADERS_OVERFLOW':
    case 'HPE_HEADER_OVERFLOW':
      return new ResponseHeadersTooLargeError(`the response headers are larger than the client accepts: ${err.message}`, code, { cause: err })
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return new BadResponseError(`the response body does not match its Content-Length: ${err.message}`, code, { cause: err })
    case 'UND_ERR_SOCKET':
      // the server closed the stream before the response was complete, or sent a 1xx undici did not
      // ask for ('bad response')
      return new BadResponseError(`the response ended early or was malformed: ${err.message}`, code, { cause: err })
    default:
      if (code.startsWith('HPE_')) {
        return new BadResponseError(`malformed response: ${err.message}`, code, { cause: err })
      }
      return err
  }
}

/** Passes response errors on as {@link toResponseError} maps them; forwards everything else. */
class ResponseErrorHandler extends ForwardingHandler {
  override onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    // RFC 9110 §15: a status is three digits, 100 to 599; llhttp takes any three digits
    if (statusCode < 100 || statusCode > 599) {
      controller.abort(new BadResponseError(`invalid response status ${statusCode}`, 'INVALID_STATUS'))
      return
    }
    super.onResponseStart(controller, statusCode, headers, statusMessage)
  }

  override onResponseError (controller: Dispatcher.DispatchController, err: Error): void {
    super.onResponseError(controller, toResponseError(err))
  }
}

/** An undici interceptor that gives response failures our typed errors (see {@link toResponseError}). */
export function typedResponseErrors (): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => dispatch(options, new ResponseErrorHandler(handler))
}
