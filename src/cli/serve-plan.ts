/**
 * What `libp2phttp serve` is to do, from its flags or from a `--config` JSON file: the listen addresses, the
 * services (upstream, protocol, allow-list) and the exit. Both paths validate with the same checks, and
 * every mistake is a `UsageError` naming the flag or the file's key path (`services[1].allow`).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { UnsafeFileError, UsageError } from '../errors.js'
import { parseEgressRule } from '../proxy/egress.js'
import { fileRefusal } from './file-check.js'
import type { StreamAlias } from '../stream/alias.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Who may use a service or the exit: peer ids, or any peer. */
export type Allow = PeerId[] | 'any'

/** One upstream served under a protocol (or at the root). */
export interface ServiceSpec {
  upstream: string
  protocol?: string
  allow: Allow
  /** How the allow-list was given (`--allow-any`, `services[0].allowAny`), for the warning about `any`. */
  allowFrom: string
  /** Compress the upstream's uncompressed answers for the peer hop (`--compress`, `services[0].compress`). */
  compress?: boolean
}

/** The exit for `proxy --forward`. */
export interface ExitSpec {
  allow: Allow
  allowFrom: string
  allowEgress: string[]
}

/** Everything `serve` mounts and listens on. */
export interface ServePlan {
  listen: Multiaddr[]
  /** Paths of the PEM key and certificate for `/tls/http` listeners. */
  tls?: { key: string, cert: string }
  /** The identity key file named by the config file (`--key` and the environment come later). */
  key?: string
  services: ServiceSpec[]
  exit?: ExitSpec
}

/** `serve`'s flags, as parsed. */
export interface ServeFlags {
  upstream?: string
  protocol?: string
  listen?: string[]
  'tls-key'?: string
  'tls-cert'?: string
  allow?: string[]
  'allow-any'?: boolean
  exit?: boolean
  'allow-egress'?: string[]
  compress?: boolean
}

/** The flags `--config` replaces. */
export const CONFIG_EXCLUDES = ['upstream', 'protocol', 'listen', 'tls-key', 'tls-cert', 'allow', 'allow-any', 'exit', 'allow-egress', 'compress'] as const

/** The plan the flags describe. */
export function planFromFlags (flags: ServeFlags): ServePlan {
  const exit = flags.exit === true
  if (flags.upstream == null && !exit) throw new UsageError('serve needs --upstream URL or --exit')
  if (flags['allow-egress'] != null && !exit) throw new UsageError('--allow-egress is for --exit')
  if (flags.compress === true && flags.upstream == null) throw new UsageError('--compress is for --upstream (the exit passes answers as they are)')
  const allow = allowList(flags.allow, flags['allow-any'] === true, { list: '--allow', any: '--allow-any' },
    'serve needs --allow PEER (repeatable) or --allow-any')
  const allowFrom = '--allow-any'
  const services = flags.upstream == null ? [] : [{ ...service(flags.upstream, flags.protocol, allow, allowFrom, { upstream: '--upstream', protocol: '--protocol' }), compress: flags.compress === true }]
  return {
    listen: listenAddrs(flags.listen, '--listen'),
    tls: tlsFiles(flags['tls-key'], flags['tls-cert'], '--tls-key and --tls-cert'),
    services,
    exit: exit ? { allow, allowFrom, allowEgress: egressRules(flags['allow-egress'], '--allow-egress') } : undefined
  }
}

/** The plan in a JSON config file; relative paths in it are relative to the file. */
export async function planFromFile (path: string): Promise<ServePlan> {
  // it says whom the services are for: someone else's edit would open them (ssh's rule: see file-check.ts)
  const unsafe = await fileRefusal(path, 'the config file')
  if (unsafe != null) throw new UnsafeFileError(path, unsafe)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new UsageError(`--config: cannot read ${path}: ${(err as Error).message}`, { cause: err })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`--config: ${path} is not JSON (YAML is not supported): ${(err as Error).message}`, { cause: err })
  }
  const base = dirname(resolve(path))
  const file = (p: string): string => p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : resolve(base, p)
  const top = object(json, '', ['listen', 'key', 'tlsKey', 'tlsCert', 'services', 'exit'])
  const services = top.services === undefined ? [] : array(top.services, 'services').map((s, i) => {
    const at = `services[${i}]`
    const o = object(s, at, ['upstream', 'protocol', 'allow', 'allowAny', 'compress'])
    if (o.upstream === undefined) throw new UsageError(`--config: ${at}.upstream is missing`)
    const allow = allowList(strings(o.allow, `${at}.allow`), boolean(o.allowAny, `${at}.allowAny`),
      { list: `${at}.allow`, any: `${at}.allowAny` }, `--config: ${at} needs allow (peer ids) or allowAny: true`)
    return { ...service(string(o.upstream, `${at}.upstream`), optional(o.protocol, `${at}.protocol`), allow, `${at}.allowAny`,
      { upstream: `${at}.upstream`, protocol: `${at}.protocol` }), compress: boolean(o.compress, `${at}.compress`) === true }
  })
  let exit: ExitSpec | undefined
  if (top.exit !== undefined) {
    const o = object(top.exit, 'exit', ['allow', 'allowAny', 'allowEgress'])
    const allow = allowList(strings(o.allow, 'exit.allow'), boolean(o.allowAny, 'exit.allowAny'),
      { list: 'exit.allow', any: 'exit.allowAny' }, '--config: exit needs allow (peer ids) or allowAny: true')
    exit = { allow, allowFrom: 'exit.allowAny', allowEgress: egressRules(strings(o.allowEgress, 'exit.allowEgress'), 'exit.allowEgress') }
  }
  if (services.length === 0 && exit == null) throw new UsageError('--config: the file needs services or exit')
  const roots = services.filter(s => s.protocol == null)
  if (roots.length > 1) throw new UsageError('--config: at most one service may leave out protocol (it is served at /)')
  const seen = new Set<string>()
  for (const s of services) {
    if (s.protocol == null) continue
    if (seen.has(s.protocol)) throw new UsageError(`--config: two services have the protocol ${s.protocol}`)
    seen.add(s.protocol)
  }
  const key = optional(top.key, 'key')
  const tlsKey = optional(top.tlsKey, 'tlsKey')
  const tlsCert = optional(top.tlsCert, 'tlsCert')
  return {
    listen: listenAddrs(strings(top.listen, 'listen'), 'listen'),
    tls: tlsFiles(tlsKey == null ? undefined : file(tlsKey), tlsCert == null ? undefined : file(tlsCert), 'tlsKey and tlsCert'),
    key: key == null ? undefined : file(key),
    services,
    exit
  }
}

/**
 * The stream protocols Kubo's p2p HTTP proxy opens towards the services (`Experimental.P2pHttpProxy`):
 * `/http` for `/p2p/<peer>/http/<path>` (the service at /), `/x/<name>/http` for
 * `/p2p/<peer>/x/<name>/http/<path>` (the service of protocol `/x/<name>`). Services of other protocols
 * cannot be named in Kubo's URLs and get none.
 */
export function kuboStreamAliases (services: ServiceSpec[]): StreamAlias[] {
  return services.flatMap((s): StreamAlias[] => {
    if (s.protocol == null) return [{ streamProtocol: '/http' }]
    return s.protocol.startsWith('/x/') && s.protocol.length > 3 ? [{ streamProtocol: `${s.protocol}/http`, protocol: s.protocol }] : []
  })
}

function service (upstream: string, protocol: string | undefined, allow: Allow, allowFrom: string, names: { upstream: string, protocol: string }): ServiceSpec {
  if (!/^https?:\/\//.test(upstream)) throw new UsageError(`${names.upstream} must be an http(s) URL, not ${upstream}`)
  if (protocol != null && !protocol.startsWith('/')) throw new UsageError(`${names.protocol} must start with /, not ${protocol}`)
  return { upstream, protocol, allow, allowFrom }
}

/** Deny by default: a service nobody may use is a mistake worth stopping for. */
export function allowList (list: string[] | undefined, any: boolean, names: { list: string, any: string }, missing: string): Allow {
  const peers = list ?? []
  if (any && peers.length > 0) throw new UsageError(`${names.list} and ${names.any} exclude each other`)
  if (any) return 'any'
  if (peers.length === 0) throw new UsageError(missing)
  return peers.map((p) => {
    try { return peerIdFromString(p) } catch { throw new UsageError(`${names.list}: not a peer id: ${p}`) }
  })
}

function listenAddrs (addrs: string[] | undefined, name: string): Multiaddr[] {
  return (addrs ?? ['/ip4/0.0.0.0/tcp/0']).map((a) => {
    try { return multiaddr(a) } catch (err) { throw new UsageError(`${name}: not a multiaddr: ${a}`, { cause: err }) }
  })
}

function tlsFiles (key: string | undefined, cert: string | undefined, names: string): ServePlan['tls'] {
  if (key == null && cert == null) return undefined
  if (key == null || cert == null) throw new UsageError(`${names} go together`)
  return { key, cert }
}

function egressRules (rules: string[] | undefined, name: string): string[] {
  for (const rule of rules ?? []) {
    try { parseEgressRule(rule) } catch (err) { throw new UsageError(`${name}: ${(err as Error).message}`) }
  }
  return rules ?? []
}

// strict JSON shape checks, each naming the key path

function object (v: unknown, at: string, keys: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v == null || Array.isArray(v)) throw new UsageError(`--config: ${at === '' ? 'the file' : at} must be an object`)
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw new UsageError(`--config: unknown key ${at === '' ? k : `${at}.${k}`} (known: ${keys.join(', ')})`)
  }
  return v as Record<string, unknown>
}

function array (v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new UsageError(`--config: ${at} must be an array`)
  return v
}

function string (v: unknown, at: string): string {
  if (typeof v !== 'string') throw new UsageError(`--config: ${at} must be a string`)
  return v
}

function optional (v: unknown, at: string): string | undefined {
  return v === undefined ? undefined : string(v, at)
}

function strings (v: unknown, at: string): string[] | undefined {
  return v === undefined ? undefined : array(v, at).map((s, i) => string(s, `${at}[${i}]`))
}

function boolean (v: unknown, at: string): boolean {
  if (v === undefined) return false
  if (typeof v !== 'boolean') throw new UsageError(`--config: ${at} must be true or false`)
  return v
}
