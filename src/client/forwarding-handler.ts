/**
 * The base of our undici interceptors' handlers.
 *
 * @module
 */
import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'

type Handler = Dispatcher.DispatchHandler
type Controller = Dispatcher.DispatchController

/** An undici dispatch handler that passes every callback to `inner`; subclasses override what they change. */
export class ForwardingHandler implements Handler {
  protected readonly inner: Handler

  constructor (inner: Handler) {
    this.inner = inner
  }

  onRequestStart (controller: Controller, context: unknown): void {
    this.inner.onRequestStart?.(controller, context)
  }

  onRequestUpgrade (controller: Controller, statusCode: number, headers: Record<string, string | string[]>, socket: Duplex): void {
    this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket)
  }

  onResponseStart (controller: Controller, statusCode: number, headers: Record<string, string | string[]>, statusMessage?: string): void {
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage)
  }

  onResponseData (controller: Controller, chunk: Buffer): void {
    this.inner.onResponseData?.(controller, chunk)
  }

  onResponseEnd (controller: Controller, trailers: Record<string, string | string[]>): void {
    this.inner.onResponseEnd?.(controller, trailers)
  }

  onResponseError (controller: Controller, err: Error): void {
    this.inner.onResponseError?.(controller, err)
  }
}
