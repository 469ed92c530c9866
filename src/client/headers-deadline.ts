/**
 * `client.headersTimeout` bounds the wait for the *final* response's headers, however many interim
 * (1xx) responses come first. undici restarts its headers timer on every 1xx (`client-h1.js`
 * `onHeadersComplete`), so a server sending `103 Early Hints` once a second could hold a request for ever.
 * RFC 9110 §15.2 lets a server send any number of 1xx before the final response; nothing lets it
 * extend the client's patience that way.
 *
 * Without a 1xx nothing changes: undici's own timer (which also waits while a long request body is
 * still being written) decides. From the first 1xx on, a timer of our own ends the request when the
 * deadline counted from the request's start has passed.
 *
 * @module
 */
import { ResponseTimeoutError } from '../errors.js'
import { ForwardingHandler } from './forwarding-handler.js'
import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'

type Controller = Dispatcher.DispatchController

class DeadlineHandler extends ForwardingHandler {
  readonly #timeout: number
  /** When the request started (`performance.now()`), once it has. */
  #started: number | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #done = false

  constructor (inner: Dispatcher.DispatchHandler, timeout: number) {
    super(inner)
    this.#timeout = timeout
  }

  override onRequestStart (controller: Controller, context: unknown): void {
    this.#started = performance.now()
    super.onRequestStart(controller, context)
  }

  override onRequestUpgrade (controller: Controller, statusCode: number, headers: Record<string, string | string[]>, socket: Duplex): void {
    this.#finish()
    super.onRequestUpgrade(controller, statusCode, headers, socket)
  }

  override onResponseStart (controller: Controller, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    if (statusCode >= 200) {
      this.#finish()
    } else if (!this.#done && this.#timer == null && this.#started != null) {
      const left = this.#started + this.#timeout - performance.now()
      if (left <= 0) {
        this.#expire(controller)
        return
      }
      this.#timer = setTimeout(() => { this.#expire(controller) }, left)
      // as undici's own timer: the socket, not this timer, keeps the process alive
      this.#timer.unref()
    }
    super.onResponseStart(controller, statusCode, headers, statusMessage)
  }

  override onResponseError (controller: Controller, err: Error): void {
    this.#finish()
    super.onResponseError(controller, err)
  }

  #expire (controller: Controller): void {
    this.#finish()
    controller.abort(new ResponseTimeoutError('headers', `the final response headers did not arrive within the client headers timeout (${this.#timeout} ms); interim 1xx responses do not extend it`))
  }

  #finish (): void {
    this.#done = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

/**
 * An undici interceptor that holds the final response's headers to `timeout` ms from the start of the
 * request, 1xx responses or not (a request's own `headersTimeout` option wins; `0` turns it off).
 */
export function headersDeadline (timeout: number): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const ms = options.headersTimeout ?? timeout
    return dispatch(options, ms > 0 ? new DeadlineHandler(handler, ms) : handler)
  }
}
