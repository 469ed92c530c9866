/**
 * Protocol mounts: which handler serves which URL path prefix. Pure (strings in, decisions out), so every
 * rule is unit-tested without a server.
 *
 * The rules, in the order {@link MountTable.match} applies them (go-libp2p's semantics; libp2p+HTTP spec
 * §Namespace, H-5):
 * 1. Request paths are matched as WHATWG URL parsing resolves them (dot segments removed), with escapes
 *    of unreserved characters decoded (`%61` is `a`, RFC 3986 §6.2.2) so an escape cannot slip past a
 *    more specific prefix: `/kv/1.0.0/../admin` is `/kv/admin`. `%2F` stays an escape (one segment, as in
 *    Go). A path with empty segments (`/api//admin`) is redirected to its clean form, as go's `ServeMux` does.
 * 2. A request for a mount path without its trailing slash (`/kv/1.0.0`, query kept) is redirected to the
 *    slash form, as go's `ServeMux` does, so that relative links inside the protocol resolve under it.
 * 3. Mount paths are prefixes stored with a trailing `/`; the longest matching prefix wins.
 * 4. The handler sees the target with the prefix (minus its trailing `/`) stripped, so it starts with `/`
 *    (go: `http.StripPrefix(strings.TrimSuffix(path, "/"), h)`): the raw bytes after the prefix when the
 *    raw path starts with it, the matched path otherwise, and the raw query either way. The root mount
 *    (`/`) sees the target exactly as it arrived.
 *
 * @module
 */
import { InvalidMountError, MountConflictError } from '../errors.js'
import { hasDotSegment } from './request-target.js'

/** Options for `host.handle`. */
export interface MountOptions {
  /**
   * The URL path prefix the protocol is served under: absolute and in the form a URL parser gives it
   * (percent-encoded, no `.`/`..` segments, no query). A trailing `/` is added when missing.
   *
   * @default the protocol id followed by `/` (e.g. `/kv/1.0.0/`)
   */
  path?: string
}

/** One mounted handler. `protocol` is `undefined` for the root handler of `serve`, which has no protocol id. */
export interface Mount<T> {
  readonly protocol: string | undefined
  /** The prefix, always ending in `/`. */
  readonly path: string
  readonly value: T
}

/** The outcome of matching a request target against the mounts. */
export type MountMatch<T> =
  | {
    kind: 'mount'
    mount: Mount<T>
    /** The target the handler is given, or `undefined` when it stays as it arrived (root mount). */
    url: string | undefined
  }
  | { kind: 'redirect', location: string }
  | { kind: 'none' }

/** A request target split into its resolved path and its query (with `?`, or empty). */
export interface ParsedTarget {
  pathname: string
  search: string
  /** The target as it arrived, when it was origin-form: handlers are given its bytes. */
  raw?: string
}

const UNRESERVED = /[A-Za-z0-9\-._~]/

/** Decode escapes of unreserved characters and uppercase the others: one spelling per path. */
function canonicalPath (pathname: string): string {
  return pathname.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16))
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
  })
}

/**
 * An origin-form target that the WHATWG URL parser returns unchanged: unreserved characters, sub-delims,
 * `:` `@` `/` in the path, the same and `?` in the query (not `'`, which the parser escapes in the query of
 * `http:` URLs), no `%` (escapes are made canonical) and no dot segment (checked apart: `.` is
 * unreserved). Anything else goes through the parser.
 */
const PLAIN_TARGET = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@/?]*)?$/

/**
 * Resolve a request target (origin-form `/a/b?c`, or absolute-form `http://h/a/b?c` as sent to proxies)
 * into its path and query. `undefined` for targets without a path (`*` of `OPTIONS *`) or that do not parse.
 */
export function parseRequestTarget (target: string): ParsedTarget | undefined {
  // Most targets are already in the form the URL parser gives (issue 21: `new URL` was a tenth of the
  // server's own work on a small request): returned as they are, which `test/server/mount.test.ts` holds
  // to the parser's answer for every character class
  if (PLAIN_TARGET.test(target)) {
    const queryAt = target.indexOf('?')
    const pathname = queryAt === -1 ? target : target.slice(0, queryAt)
    if (!hasDotSegment(pathname)) {
      // an empty query (`/a?`) has no `search`, as the parser has it
      return { pathname, search: queryAt === -1 || queryAt === target.length - 1 ? '' : target.slice(queryAt), raw: target }
    }
  }
  try {
    // Concatenate rather than resolve: '//other/x' is a path here, never another origin.
    const url = target.startsWith('/') ? new URL(`http://h${target}`) : new URL(target)
    return { pathname: canonicalPath(url.pathname), search: url.search, ...(target.startsWith('/') ? { raw: target } : {}) }
  } catch {
    return undefined
  }
}

/**
 * The mount path for `protocol`: `path` (or the protocol id) with a trailing `/`.
 *
 * @throws {InvalidMountError} for an empty protocol id, or a path that is not absolute and normalised
 */
export function mountPath (protocol: string, path?: string): string {
  if (typeof protocol !== 'string' || protocol === '' || /[\u0000-\u0020\u007f]/.test(protocol)) {
    throw new InvalidMountError(String(protocol), `invalid protocol id ${JSON.stringify(protocol)}: a non-empty string without spaces or control characters is required`)
  }
  const raw = path ?? protocol
  const withSlash = raw.endsWith('/') ? raw : `${raw}/`
  if (!withSlash.startsWith('/')) {
    throw new InvalidMountError(protocol, `mount path ${JSON.stringify(raw)} of ${protocol} is not absolute (it must start with "/")${path == null ? '; pass { path } for protocol ids that do not start with "/"' : ''}`)
  }
  const normalised = parseRequestTarget(withSlash)
  if (normalised == null || normalised.search !== '' || normalised.pathname !== withSlash || withSlash.includes('//')) {
    const hint = normalised == null || normalised.search !== '' || normalised.pathname === withSlash ? '' : ` (did you mean ${JSON.stringify(normalised.pathname)}?)`
    throw new InvalidMountError(protocol, `mount path ${JSON.stringify(raw)} of ${protocol} is not a normalised URL path: no query, fragment, empty, "." or ".." segments, and non-ASCII or special characters percent-encoded${hint}`)
  }
  return withSlash
}

/**
 * The target a mounted handler is given: the raw bytes after the prefix when the raw path starts with
 * it literally (query as sent: quotes, braces, an empty `?`), else the matched path and the raw query.
 */
function strip (prefix: string, pathname: string, search: string, raw: string | undefined): string {
  if (raw == null) {
    return `${pathname.slice(prefix.length - 1)}${search}`
  }
  const queryAt = raw.indexOf('?')
  const rawPath = queryAt === -1 ? raw : raw.slice(0, queryAt)
  const rawQuery = queryAt === -1 ? '' : raw.slice(queryAt)
  // raw bytes with a dot segment would climb out of the prefix once a server behind resolves them (the
  // host refuses such targets before matching; this keeps the table safe on its own)
  if (rawPath.startsWith(prefix) && !hasDotSegment(rawPath)) {
    return raw.slice(prefix.length - 1)
  }
  return `${pathname.slice(prefix.length - 1)}${rawQuery}`
}

/** The mounted handlers of one host, and the protocol map they make. */
export class MountTable<T> {
  readonly #byPath = new Map<string, Mount<T>>()
  readonly #byProtocol = new Map<string, Mount<T>>()
  /** Longest path first: the first prefix that matches is the most specific. */
  #ordered: Array<Mount<T>> = []

  /**
   * Mount `value` for `protocol` at `path` (see {@link mountPath}).
   *
   * @throws {InvalidMountError} see {@link mountPath}
   * @throws {MountConflictError} when the protocol is already mounted or the path is taken
   */
  add (protocol: string, path: string | undefined, value: T): Mount<T> {
    const prefix = mountPath(protocol, path)
    if (this.#byProtocol.has(protocol)) {
      throw new MountConflictError(protocol, prefix, `protocol ${protocol} is already handled at ${this.#byProtocol.get(protocol)?.path}; unhandle it first`)
    }
    this.#assertFree(protocol, prefix)
    const mount: Mount<T> = { protocol, path: prefix, value }
    this.#byProtocol.set(protocol, mount)
    this.#insert(mount)
    return mount
  }

  /**
   * Set the root handler (`serve`), replacing the previous one. It has no protocol id.
   *
   * @throws {MountConflictError} when a protocol is mounted at `/`
   */
  setRoot (value: T): void {
    const current = this.#byPath.get('/')
    if (current != null && current.protocol != null) {
      throw new MountConflictError(undefined, '/', `protocol ${current.protocol} is mounted at "/"; unhandle it before serving a root handler`)
    }
    if (current != null) {
      this.#remove(current)
    }
    this.#insert({ protocol: undefined, path: '/', value })
  }

  /** Remove the mount of `protocol`. Returns whether there was one. */
  remove (protocol: string): boolean {
    const mount = this.#byProtocol.get(protocol)
    if (mount == null) {
      return false
    }
    this.#byProtocol.delete(protocol)
    this.#remove(mount)
    return true
  }

  /** The well-known protocol map of the named mounts: `{ "<protocol id>": { "path": "<prefix>" } }`. */
  protocolMap (): Record<string, { path: string }> {
    // fromEntries defines own properties, so a protocol id such as "__proto__" stays a plain key.
    return Object.fromEntries([...this.#byProtocol].map(([protocol, mount]) => [protocol, { path: mount.path }]))
  }

  /** Decide what serves a request for `target` (see the module comment for the rules). */
  match (target: ParsedTarget): MountMatch<T> {
    const { pathname, search, raw } = target
    if (pathname.includes('//')) {
      return { kind: 'redirect', location: `${pathname.replace(/\/{2,}/g, '/')}${search}` }
    }
    if (!pathname.endsWith('/') && this.#byPath.has(`${pathname}/`)) {
      return { kind: 'redirect', location: `${pathname}/${search}` }
    }
    for (const mount of this.#ordered) {
      if (pathname.startsWith(mount.path)) {
        return { kind: 'mount', mount, url: mount.path === '/' ? undefined : strip(mount.path, pathname, search, raw) }
      }
    }
    return { kind: 'none' }
  }

  #assertFree (protocol: string, prefix: string): void {
    const holder = this.#byPath.get(prefix)
    if (holder != null) {
      const who = holder.protocol == null ? 'the root handler (serve)' : `protocol ${holder.protocol}`
      throw new MountConflictError(protocol, prefix, `cannot mount ${protocol} at ${prefix}: ${who} is mounted there`)
    }
  }

  #insert (mount: Mount<T>): void {
    this.#byPath.set(mount.path, mount)
    this.#ordered = [...this.#byPath.values()].sort((a, b) => b.path.length - a.path.length)
  }

  #remove (mount: Mount<T>): void {
    this.#byPath.delete(mount.path)
    this.#ordered = this.#ordered.filter(m => m !== mount)
  }
}
