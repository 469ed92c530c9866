/**
 * Where an exit node may connect on its peers' behalf. Public addresses are allowed; loopback, private,
 * link-local (cloud metadata at 169.254.169.254 among them), CGNAT, unique-local, multicast,
 * unspecified, documentation and benchmarking ones (the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries, RFC 6890 and the RFCs each entry cites), and this machine's own interface addresses, are
 * refused unless an `--allow-egress` rule names them; CONNECT goes to port 443
 * only, unless a rule names the port. Names are resolved first and the resolved address is checked and
 * is the one connected to, so a name cannot point somewhere else after the check (DNS rebinding).
 *
 * @module
 */
import { lookup as dnsLookup } from 'node:dns'
import { BlockList, isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { EgressDeniedError, InvalidOptionError } from '../errors.js'
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns'

/**
 * Ranges an exit refuses by default: the IANA IPv4 Special-Purpose Address Registry (RFC 6890), each
 * entry with the RFC that made it, plus multicast (RFC 5771). The few entries there that are globally
 * reachable anycast services (AS112, AMT, PCP) are of no use to an exit's peers and stay refused with
 * their neighbours.
 */
const SPECIAL4 = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network" (RFC 791)
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // shared address space, CGNAT (RFC 6598)
  ['127.0.0.0', 8], // loopback (RFC 1122)
  ['169.254.0.0', 16], // link-local, cloud metadata (RFC 3927)
  ['172.16.0.0', 12], // private (RFC 1918)
  ['192.0.0.0', 24], // IETF protocol assignments (RFC 6890)
  ['192.0.2.0', 24], // TEST-NET-1, documentation (RFC 5737)
  ['192.88.99.0', 24], // 6to4 relay anycast, deprecated (RFC 7526)
  ['192.168.0.0', 16], // private (RFC 1918)
  ['198.18.0.0', 15], // benchmarking (RFC 2544)
  ['198.51.100.0', 24], // TEST-NET-2, documentation (RFC 5737)
  ['203.0.113.0', 24], // TEST-NET-3, documentation (RFC 5737)
  ['224.0.0.0', 4], // multicast (RFC 5771)
  ['240.0.0.0', 4] // reserved (RFC 1112), 255.255.255.255 broadcast (RFC 919) among them
] as const) {
  SPECIAL4.addSubnet(net, bits, 'ipv4')
}
// separate lists: Node's BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules
const SPECIAL6 = new BlockList()
// The IANA IPv6 Special-Purpose Address Registry (RFC 6890); the IPv4-carrying ranges (::ffff:0:0/96,
// ::ffff:0:0:0/96, ::/96, 64:ff9b::/96, 2002::/16) are judged by the IPv4 they carry: see embeddedIPv4.
for (const [net, bits] of [
  ['64:ff9b:1::', 48], // local-use IPv4/IPv6 translation (RFC 8215)
  ['100::', 64], // discard-only (RFC 6666)
  ['2001::', 32], // Teredo (RFC 4380): its IPv4 is obfuscated, not judged
  ['2001:2::', 48], // benchmarking (RFC 5180)
  ['2001:10::', 28], // ORCHID, deprecated (RFC 4843)
  ['2001:20::', 28], // ORCHIDv2 (RFC 7343)
  ['2001:db8::', 32], // documentation (RFC 3849)
  ['3fff::', 20], // documentation (RFC 9637)
  ['5f00::', 16], // SRv6 SIDs (RFC 9602)
  ['fc00::', 7], // unique-local (RFC 4193)
  ['fe80::', 10], // link-local (RFC 4291)
  ['fec0::', 10], // site-local, deprecated (RFC 3879)
  ['ff00::', 8] // multicast (RFC 4291)
] as const) {
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
 * (`::ffff:0:0/96`), IPv4-translated (`::ffff:0:0:0/96`, RFC 2765 §2.1), IPv4-compatible (`::/96`, `::`
 * and `::1` among them), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`).
 */
function embeddedIPv4 (bytes: number[]): string | undefined {
  const zero = (from: number, to: number): boolean => bytes.slice(from, to).every(b => b === 0)
  let at: number | undefined
  if (zero(0, 10) && ((bytes[10] === 0xff && bytes[11] === 0xff) || (bytes[10] === 0 && bytes[11] === 0))) at = 12
  else if (zero(0, 8) && bytes[8] === 0xff && bytes[9] === 0xff && zero(10, 12)) at = 12
  else if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zero(4, 12)) at = 12
  else if (bytes[0] === 0x20 && bytes[1] === 0x02) at = 2
  return at == null ? undefined : bytes.slice(at, at + 4).join('.')
}

/** `address` as it is judged: the IPv4 address an IPv6 one carries, else itself (without a zone id); `undefined` for no IP. */
function judged (address: string): { address: string, type: 'ipv4' | 'ipv6' } | undefined {
  const family = isIP(address)
  if (family === 4) return { address, type: 'ipv4' }
  if (family !== 6) return undefined
  const v4 = embeddedIPv4(ipv6Bytes(address))
  return v4 != null ? { address: v4, type: 'ipv4' } : { address: address.replace(/%.*$/, ''), type: 'ipv6' }
}

/** Whether `address` (an IP) is special; an IPv6 address carrying an IPv4 one is judged as that IPv4. */
export function isSpecial (address: string): boolean {
  const ip = judged(address)
  if (ip == null) return true
  return (ip.type === 'ipv4' ? SPECIAL4 : SPECIAL6).check(ip.address, ip.type)
}

/** This machine's interface addresses (read at each check: interfaces come and go). */
function interfaceAddresses (): string[] {
  return Object.values(networkInterfaces()).flatMap(list => (list ?? []).map(a => a.address))
}

/** Whether `address` is one of `own`, judged as {@link isSpecial} judges (an IPv4-mapped spelling of an own IPv4 is one). */
function isOwn (address: string, own: readonly string[]): boolean {
  const ip = judged(address)
  if (ip == null) return false
  const list = new BlockList()
  for (const a of own) {
    const o = judged(a)
    if (o != null) list.addAddress(o.address, o.type)
  }
  return list.check(ip.address, ip.type)
}

/** Options for {@link egressPolicy}. */
export interface EgressPolicyOptions {
  /**
   * This machine's own addresses, refused as special ones are (a public address of the exit host would
   * otherwise reach its services bound to every interface).
   *
   * @default the addresses of `os.networkInterfaces()`, read at each check
   */
  ownAddresses?: () => readonly string[]
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
  /** Resolve and check: the address to connect to. */
  resolve: (hostname: string, port: number, connect: boolean) => Promise<string>
}

/**
 * Parse `HOST[:PORT]`, `[IPv6][:PORT]` or `CIDR[:PORT]` rules.
 *
 * @throws {InvalidOptionError} naming `option` (the rule's place in the options) for a rule it cannot read
 */
export function parseEgressRule (rule: string, option = 'allowEgress'): EgressRule {
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
  if (portNumber != null && (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535)) throw new InvalidOptionError(option, `bad port in egress rule ${rule}`)
  const [addr, bits] = host.split('/')
  const family = isIP(addr)
  if (family === 0) {
    if (bits != null || !/^[a-z0-9.-]+$/i.test(host)) throw new InvalidOptionError(option, `not a host, IP or CIDR: ${rule}`)
    return { host: host.toLowerCase(), port: portNumber }
  }
  const range = new BlockList()
  const type = family === 4 ? 'ipv4' : 'ipv6'
  const prefix = bits == null ? (family === 4 ? 32 : 128) : Number(bits)
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new InvalidOptionError(option, `bad prefix length in ${rule}`)
  range.addSubnet(addr, prefix, type)
  return { range, port: portNumber }
}

/** A policy allowing public addresses plus what `rules` (`--allow-egress` values) name. */
export function egressPolicy (rules: readonly string[], options: EgressPolicyOptions = {}): EgressPolicy {
  const parsed = rules.map((rule, i) => parseEgressRule(rule, `allowEgress[${i}]`))
  const ownAddresses = options.ownAddresses ?? interfaceAddresses
  const refusal = (hostname: string, address: string, port: number, connect: boolean): string | undefined => {
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    const name = hostname.toLowerCase().replace(/^\[|\]$/g, '')
    const matching = parsed.filter(r => (r.host != null ? r.host === name : r.range?.check(address, type) === true))
    if (matching.some(r => r.port === port)) return undefined
    const portless = matching.some(r => r.port == null)
    if (connect && port !== 443) return `CONNECT to port ${port} is not allowed (only 443, or a port an --allow-egress rule names)`
    if (portless) return undefined
    if (isSpecial(address)) return `${address} is a loopback, private, link-local or otherwise special address (allow it with --allow-egress)`
    if (isOwn(address, ownAddresses())) return `${address} is this machine's own address (allow it with --allow-egress)`
    return undefined
  }
  // a `dns.lookup` that fails with `EgressDeniedError` unless an allowed address comes out
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
  return { refusal, resolve }
}
