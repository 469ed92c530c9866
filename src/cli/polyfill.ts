/**
 * `Promise.withResolvers` for Node 20: libp2p 3 calls it. Programs (the CLI, examples, tests) import this
 * before creating a libp2p node; the libp2phttp library itself never patches globals.
 */
/** Install `Promise.withResolvers` when the runtime lacks it (Node 20); a no-op elsewhere. */
export function polyfillWithResolvers (): void {
  if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
    Object.defineProperty(Promise, 'withResolvers', {
      configurable: true,
      writable: true,
      value: function withResolvers<T> () {
        let resolve!: (value: T | PromiseLike<T>) => void
        let reject!: (reason?: unknown) => void
        const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
        return { promise, resolve, reject }
      }
    })
  }
}

// importing the module is enough for programs that import it for its effect (examples, tests)
polyfillWithResolvers()
