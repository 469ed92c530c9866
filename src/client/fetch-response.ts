/**
 * The `Response` `host.fetch` returns: undici's `Response` class (what undici's `fetch` returns, so
 * `instanceof`, the body mixin and `Response.prototype` behave the same), built with the public
 * constructor and given what only a fetch sets: `url` (the last hop, without its fragment),
 * `redirected`, `type` (`'basic'`, or `'cors'` after a redirect to another origin), headers that refuse changes (fetch's "immutable" guard), and a
 * `clone()` that keeps all of them.
 *
 * @module
 */
import { Headers as UndiciHeaders, Response as UndiciResponse } from 'undici'

/** What a fetch knows of a response that its constructor cannot take. */
export interface FetchedFrom {
  /** The response's URL, without fragment. */
  url: string
  redirected: boolean
  /** `'basic'`, or `'cors'` once a redirect left the first URL's origin (undici's response tainting). */
  type: 'basic' | 'cors'
}

/**
 * Headers with fetch's "immutable" guard: undici's `Headers` throw `TypeError('immutable')` from
 * `append`, `set` and `delete` for a fetched response; a constructed response's headers are mutable,
 * so the instance is given this prototype (its private state stays undici's).
 */
class ImmutableHeaders extends UndiciHeaders {}
for (const name of ['append', 'set', 'delete']) {
  Object.defineProperty(ImmutableHeaders.prototype, name, { value: function immutable (): never { throw new TypeError('immutable') }, writable: true, configurable: true })
}

/** A `Response` as a fetch returns it (see the module's comment). */
export class FetchResponse extends UndiciResponse {
  readonly #from: FetchedFrom

  constructor (body: ReadableStream<Uint8Array> | null, init: { status: number, statusText: string, headers: UndiciHeaders | Headers | Record<string, string | string[]> | Array<[string, string]> }, from: FetchedFrom) {
    super(body as never, init as never)
    this.#from = from
    Object.setPrototypeOf(this.headers, ImmutableHeaders.prototype)
  }

  static {
    // accessors: undici's type declarations call these fields, so TypeScript cannot override them as getters
    Object.defineProperties(this.prototype, {
      url: { get (this: FetchResponse): string { return this.#from.url }, configurable: true },
      redirected: { get (this: FetchResponse): boolean { return this.#from.redirected }, configurable: true },
      type: { get (this: FetchResponse): 'basic' | 'cors' { return this.#from.type }, configurable: true }
    })
  }

  /** A copy whose body is a branch of this one's (as `Response#clone`), with the same `url` and `redirected`. */
  override clone (): FetchResponse {
    const twin = super.clone()
    return new FetchResponse(twin.body as ReadableStream<Uint8Array> | null, { status: this.status, statusText: this.statusText, headers: this.headers }, this.#from)
  }
}
