/**
 * Where an exit node may connect on its peers' behalf. Public addresses are allowed; loopback, private,
 * link-local (cloud metadata at 169.254.169.254 among them), CGNAT, unique-local, multicast and
 * unspecified ones are refused unless an `--allow-egress` rule names them; CONNECT goes to port 443
 * only, unless a rule names the port. Names are resolved first and the resolved address is checked and
 * is the one connected to, so a name cannot point somewhere else after the check (DNS rebinding).
 *
 * @module
 */
import { lookup as dnsLookup } from 'node:dns'
import { BlockList, isIP } from 'node:net'
import { EgressDeniedError } from '../errors.js'
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns'

/** Ranges an exit refuses by default (IANA special-purpose registries, RFC 6890). */
const SPECIAL4 = new BlockList()
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  SPECIAL4.addSubnet(net, bits, 'ipv4')
}
// separate lists: Node's BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules
const SPECIAL6 = new BlockList()
// (the IPv4-carrying ranges are judged by the IPv4 they carry: see embeddedIPv4)
for (const [net, bits] of [['64:ff9b:1::', 48], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8]] as const) {
  SPECIAL6.addSubnet(net, bits, 'ipv6')
}

/** The 16 bytes of an IPv6 address (`isIP(address) === 6`; a zone id is dropped). */
function ipv6Bytes (address: string): number[] {
  let text = address.replace(/%.*$/, '')
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted != null) {
    const [a, b, c, d] = dotted.slice(1).map(Number)
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const groups = (part: string | undefined): number[] => part == null || part === '' ? [] : part.split(':').map(g => parseInt(g, 16))
  const left = groups(head)
  const right = groups(tail)
  const words = tail == null ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  return words.flatMap(w => [w >> 8, w & 0xff])
}

/**
 * The IPv4 address an IPv6 address carries, judged by its bytes whatever its spelling: IPv4-mapped
 * (`::ffff:0:0/96`), IPv4-compatible (`::/96`, `::` and `::1` among them), NAT64 (`64:ff9b::/96`) and
 * 6to4 (`2002::/16`).
 */
function embeddedIPv4 (bytes: number[]): string | undefined {
  const zero = (from: number, to: number): boolean => bytes.slice(from, to).every(b => b === 0)
  let at: number | undefined
  if (zero(0, 10) && ((bytes[10] === 0xff && bytes[11] === 0xff) || (bytes[10] === 0 && bytes[11] === 0))) at = 12
  else if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zero(4, 12)) at = 12
  else if (bytes[0] === 0x20 && bytes[1] === 0x02) at = 2
  return at == null ? undefined : bytes.slice(at, at + 4).join('.')
}

/** Whether `address` (an IP) is special; an IPv6 address carrying an IPv4 one is judged as that IPv4. */
export function isSpecial (address: string): boolean {
  const family = isIP(address)
  if (family === 4) return SPECIAL4.check(address, 'ipv4')
  if (family !== 6) return true
  const v4 = embeddedIPv4(ipv6Bytes(address))
  if (v4 != null) return SPECIAL4.check(v4, 'ipv4')
  return SPECIAL6.check(address.replace(/%.*$/, ''), 'ipv6')
}

/** One `--allow-egress` rule: a host name, an IP or a CIDR range, optionally with a port. */
export interface EgressRule {
  /** A host name (lowercase), matched against the name asked for. */
  host?: string
  /** An IP or CIDR range, matched against the resolved address. */
  range?: BlockList
  /** The one port the rule allows (any when absent; CONNECT then still only 443). */
  port?: number
}

/** An egress policy (see the module comment). */
export interface EgressPolicy {
  /** Why `address` (an IP) reached as `hostname:port` is refused, or `undefined` when it is allowed. */
  refusal: (hostname: string, address: string, port: number, connect: boolean) => string | undefined
  /**
   * A `dns.lookup`-compatible function that resolves `hostname` and fails with `EgressDeniedError`
   * unless an allowed address comes out: give it to `net.connect` / undici's `connect` options.
   */
  lookup: (port: number, connect: boolean) => typeof dnsLookup
  /** Resolve and check: the address to connect to. */
  resolve: (hostname: string, port: number, connect: boolean) => Promise<string>
}

/** Parse `HOST[:PORT]`, `[IPv6][:PORT]` or `CIDR[:PORT]` rules. */
export function parseEgressRule (rule: string): EgressRule {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(rule)
  let host: string
  let port: string | undefined
  if (bracket != null) {
    host = bracket[1]; port = bracket[2]
  } else if (rule.split(':').length === 2 || (isIP(rule.split('/')[0]) !== 6 && /:\d+$/.test(rule))) {
    [host, port] = [rule.slice(0, rule.lastIndexOf(':')), rule.slice(rule.lastIndexOf(':') + 1)]
  } else {
    host = rule
  }
  const portNumber = port == null ? undefined : Number(port)
  if (portNumber != null && (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535)) throw new TypeError(`bad port in egress rule ${rule}`)
  const [addr, bits] = host.split('/')
  const family = isIP(addr)
  if (family === 0) {
    if (bits != null || !/^[a-z0-9.-]+$/i.test(host)) throw new TypeError(`not a host, IP or CIDR: ${rule}`)
    return { host: host.toLowerCase(), port: portNumber }
  }
  const range = new BlockList()
  const type = family === 4 ? 'ipv4' : 'ipv6'
  const prefix = bits == null ? (family === 4 ? 32 : 128) : Number(bits)
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new TypeError(`bad prefix length in ${rule}`)
  range.addSubnet(addr, prefix, type)
  return { range, port: portNumber }
}

/** A policy allowing public addresses plus what `rules` (`--allow-egress` values) name. */
export function egressPolicy (rules: readonly string[]): EgressPolicy {
  const parsed = rules.map(parseEgressRule)
  const refusal = (hostname: string, address: string, port: number, connect: boolean): string | undefined => {
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    const name = hostname.toLowerCase().replace(/^\[|\]$/g, '')
    const matching = parsed.filter(r => (r.host != null ? r.host === name : r.range?.check(address, type) === true))
    if (matching.some(r => r.port === port)) return undefined
    const portless = matching.some(r => r.port == null)
    if (connect && port !== 443) return `CONNECT to port ${port} is not allowed (only 443, or a port an --allow-egress rule names)`
    if (portless || !isSpecial(address)) return undefined
    return `${address} is a loopback, private, link-local or otherwise special address (allow it with --allow-egress)`
  }
  const lookup = (port: number, connect: boolean): typeof dnsLookup => ((hostname: string, options: LookupOneOptions | LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err != null) { callback(err, ''); return }
      const allowed = addresses.filter(a => refusal(hostname, a.address, port, connect) == null)
      if (allowed.length === 0) {
        callback(new EgressDeniedError(hostname, refusal(hostname, addresses[0]?.address ?? '', port, connect) ?? 'no address'), '')
        return
      }
      if ((options as LookupAllOptions).all === true) callback(null, allowed)
      else callback(null, allowed[0].address, allowed[0].family)
    })
  }) as typeof dnsLookup
  const resolve = async (hostname: string, port: number, connect: boolean): Promise<string> => {
    const bare = hostname.replace(/^\[|\]$/g, '')
    if (isIP(bare) !== 0) {
      const why = refusal(bare, bare, port, connect)
      if (why != null) throw new EgressDeniedError(bare, why)
      return bare
    }
    return await new Promise((resolve, reject) => {
      lookup(port, connect)(bare, {}, (err, address) => { if (err != null) reject(err); else resolve(address) })
    })
  }
  return { refusal, lookup, resolve }
}
