/**
 * The `Response` `host.fetch` returns: undici's `Response` class (what undici's `fetch` returns, so
 * `instanceof`, the body mixin and `Response.prototype` behave the same), built with the public
 * constructor and given what only a fetch sets: `url` (the last hop, without its fragment),
 * `redirected`, `type` (`'basic'`, or `'cors'` after a redirect to another origin), headers that refuse changes (fetch's "immutable" guard), and a
 * `clone()` that keeps all of them. Like a fetched response, one collected with its body unread cancels
 * that body, which ends its exchange.
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

/**
 * Cancels the body of a `FetchResponse` collected unread, as undici's fetch does for its own responses
 * (`lib/web/fetch/body.js`, `streamRegistry`), so that its exchange ends and frees its stream or socket.
 * Each response is registered with its own body stream, held weakly (a held value is held strongly, and
 * the stream must not outlive its response because of it); a body that was taken (locked) is left to
 * its reader. Undici registers only responses its `fetch` made (its `clone` of a constructed one
 * registers nothing), so this class registers itself, and again with its new branch after `clone()`.
 */
const unread = new FinalizationRegistry<WeakRef<ReadableStream<Uint8Array>>>((ref) => {
  const stream = ref.deref()
  if (stream != null && !stream.locked) {
    stream.cancel(new Error('Response object has been garbage collected')).catch(() => {})
  }
})

/** Registers `response`'s current body with {@link unread}, replacing an earlier registration. */
function watchUnread (response: UndiciResponse): void {
  unread.unregister(response)
  const body = response.body as ReadableStream<Uint8Array> | null
  if (body != null) unread.register(response, new WeakRef(body), response)
}

/** A `Response` as a fetch returns it (see the module's comment). */
export class FetchResponse extends UndiciResponse {
  readonly #from: FetchedFrom

  constructor (body: ReadableStream<Uint8Array> | null, init: { status: number, statusText: string, headers: UndiciHeaders | Headers | Record<string, string | string[]> | Array<[string, string]> }, from: FetchedFrom) {
    super(body as never, init as never)
    this.#from = from
    Object.setPrototypeOf(this.headers, ImmutableHeaders.prototype)
    watchUnread(this)
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
    // this response's body is now a branch of the tee, which locks the stream registered before
    watchUnread(this)
    return new FetchResponse(twin.body as ReadableStream<Uint8Array> | null, { status: this.status, statusText: this.statusText, headers: this.headers }, this.#from)
  }
}
