/**
 * DNS rebinding defence for local servers that act with this machine's peer identity (the consumer of
 * `proxy --to`, the gateway): a web page whose name was re-pointed at 127.0.0.1 can reach them, but its
 * requests carry its own name in `Host`. Only the names of this machine's loopback (and the address
 * the server is bound to) are let through, with the server's port or none.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'

/** Options for {@link hostRefusal}. */
export interface HostCheckOptions {
  /** More names (`name` or `name:port`, lowercase; IPv6 in brackets) accepted in `Host`. */
  allowHosts?: readonly string[]
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]']

/** Split a `Host` value into its name and port (`''` when none); IPv6 literals keep their brackets. */
function splitHost (value: string): { name: string, port: string } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d*))?$/i.exec(value.trim())
  if (match == null) return undefined
  return { name: match[1].toLowerCase().replace(/\.$/, ''), port: match[2] ?? '' }
}

/** Why `req`'s `Host` is refused, or `undefined` when it names this machine (see the module notes). */
export function hostRefusal (options: HostCheckOptions = {}): (req: IncomingMessage) => string | undefined {
  const extra = new Set((options.allowHosts ?? []).map(h => h.toLowerCase()))
  return (req) => {
    const host = req.headers.host
    if (host == null || host === '') return 'no Host header'
    const parsed = splitHost(host)
    if (parsed == null) return `Host ${JSON.stringify(host)} is not a host name`
    if (extra.has(host.toLowerCase()) || extra.has(parsed.name)) return undefined
    const local = req.socket.localAddress
    const names = local == null ? LOOPBACK : [...LOOPBACK, local.includes(':') ? `[${local.replace(/^::ffff:/, '')}]` : local, local.replace(/^::ffff:/, '')]
    if (!names.includes(parsed.name)) return `Host ${JSON.stringify(host)} is not this machine's (allow it with allowHosts)`
    if (parsed.port !== '' && Number(parsed.port) !== req.socket.localPort) return `Host ${JSON.stringify(host)} names another port`
    return undefined
  }
}

/** Whether a bind address is this machine's loopback (`127.x.x.x`, `::1`, `localhost`). */
export function isLoopback (address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '')
  return a === 'localhost' || a === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(a)
}
