/**
 * Defences for local servers that act with this machine's peer identity (the consumer of `proxy --to`,
 * the gateway) against web pages in a browser on the same machine:
 *
 * - DNS rebinding: a web page whose name was re-pointed at 127.0.0.1 can reach them, but its requests
 *   carry its own name in `Host`. Only the names of this machine's loopback (and the address the server
 *   is bound to) are let through, with the server's port or none.
 * - Cross-site requests: a page may `POST` to `http://127.0.0.1:8000/` (a "simple" request needs no CORS
 *   preflight, and its effect happens whether or not the page can read the answer). Browsers name the
 *   page's origin in `Origin` (RFC 6454 §7, Fetch §3.1); a request whose `Origin` is not the local
 *   server's own (`http://<loopback name or bound address>:<port>`, or a name in `allowHosts`) is
 *   refused unless `allowOrigins` lists it. Requests without `Origin` (curl, SDKs) are not from a page.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'

/** Which `Host` (and `Origin`) values a local listener accepts (DNS rebinding). */
export interface HostCheckOptions {
  /** More names (`name` or `name:port`, lowercase; IPv6 in brackets) accepted in `Host` (and `Origin`). */
  allowHosts?: readonly string[]
  /**
   * Origins (`https://app.example`) whose web pages may use the server, besides its own. Only checked
   * by the origin check.
   */
  allowOrigins?: readonly string[]
  /**
   * What a refusal tells the operator to use to allow a name or an origin: the option's name in a
   * program, the flag's in a command (`--allow-host`, `--allow-origin`).
   *
   * @default { allowHosts: 'allowHosts', allowOrigins: 'allowOrigins' }
   */
  names?: RefusalNames
}

/** The names of the settings that allow a `Host` or an `Origin`, as a refusal gives them. */
export interface RefusalNames {
  allowHosts: string
  allowOrigins: string
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]']

/** Split a `Host` value into its name and port (`''` when none); IPv6 literals keep their brackets. */
function splitHost (value: string): { name: string, port: string } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d*))?$/i.exec(value.trim())
  if (match == null) return undefined
  return { name: match[1].toLowerCase().replace(/\.$/, ''), port: match[2] ?? '' }
}

/** The names of this machine the server answers to: its loopback names and the address `req` came in on. */
function localNames (req: IncomingMessage): string[] {
  const local = req.socket.localAddress
  return local == null ? LOOPBACK : [...LOOPBACK, local.includes(':') ? `[${local.replace(/^::ffff:/, '')}]` : local, local.replace(/^::ffff:/, '')]
}

/** Whether `host` (a `Host` value or a URL's `host`) is one of `extra` by itself or by its name. */
function allowedName (extra: ReadonlySet<string>, host: string, name: string): boolean {
  return extra.has(host.toLowerCase()) || extra.has(name)
}

/** Why `req`'s `Host` is refused, or `undefined` when it names this machine (see the module notes). */
export function hostRefusal (options: HostCheckOptions = {}): (req: IncomingMessage) => string | undefined {
  const extra = new Set((options.allowHosts ?? []).map(h => h.toLowerCase()))
  return (req) => {
    const host = req.headers.host
    if (host == null || host === '') return 'no Host header'
    const parsed = splitHost(host)
    if (parsed == null) return `Host ${JSON.stringify(host)} is not a host name`
    if (allowedName(extra, host, parsed.name)) return undefined
    if (!localNames(req).includes(parsed.name)) return `Host ${JSON.stringify(host)} is not this machine's (allow it with ${options.names?.allowHosts ?? 'allowHosts'})`
    if (parsed.port !== '' && Number(parsed.port) !== req.socket.localPort) return `Host ${JSON.stringify(host)} names another port`
    return undefined
  }
}

/** Why `req`'s `Origin` is refused, or `undefined` when it has none or it is allowed (see the module notes). */
export function originRefusal (options: HostCheckOptions = {}): (req: IncomingMessage) => string | undefined {
  const extra = new Set((options.allowHosts ?? []).map(h => h.toLowerCase()))
  const origins = new Set((options.allowOrigins ?? []).map(serialise))
  return (req) => {
    const origin = req.headers.origin
    if (origin == null) return undefined
    let url: URL | undefined
    try { url = new URL(origin) } catch {}
    // `null` (a sandboxed page, a file:) and anything unparsable are no origin that can be allowed
    const why = `Origin ${JSON.stringify(origin)} is not this server's (allow it with ${options.names?.allowOrigins ?? 'allowOrigins'})`
    if (url == null || url.origin === 'null') return why
    if (origins.has(url.origin)) return undefined
    if (allowedName(extra, url.host, url.hostname)) return undefined
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
    if (url.protocol === 'http:' && localNames(req).includes(url.hostname) && port === req.socket.localPort) return undefined
    return why
  }
}

/** An origin as browsers serialise it (lowercase scheme and host, default port dropped); as given when it is not a URL. */
function serialise (origin: string): string {
  try { return new URL(origin).origin } catch { return origin }
}

/** Whether a bind address is this machine's loopback (`127.x.x.x`, `::1`, `localhost`). */
export function isLoopback (address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '')
  return a === 'localhost' || a === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(a)
}
