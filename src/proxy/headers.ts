/**
 * Header hygiene for proxies (RFC 9110 §7.6): hop-by-hop headers are the business of one connection
 * and never forwarded; `Via` records the hop; the caller's peer id is passed on only as this proxy
 * established it.
 *
 * @module
 */
import { fieldValue } from '../server/raw-response.js'

/** The header that carries the authenticated caller's peer id to an upstream. */
export const PEER_ID_HEADER = 'x-libp2p-peer-id'

/** Whether `name` reads as {@link PEER_ID_HEADER} once `_` is taken for `-` (as CGI-style servers do). */
export function isPeerIdHeader (name: string): boolean {
  return name.toLowerCase().replaceAll('_', '-') === PEER_ID_HEADER
}

/**
 * Whether `name` is one by which a client claims where a request came from: `Forwarded` (RFC 7239),
 * `X-Real-IP` and the whole de-facto `X-Forwarded-*` family (`-For`, `-Host`, `-Proto`, `-Port`,
 * `-Prefix`, …), `_` read as `-` as CGI-style servers read it. Upstreams often trust them for rate
 * limits, access or the URLs they build; a peer's own copies are never passed on (the proven peer id
 * goes in {@link PEER_ID_HEADER}).
 */
export function isForwardingHeader (name: string): boolean {
  const n = name.toLowerCase().replaceAll('_', '-')
  return n === 'forwarded' || n === 'x-real-ip' || n.startsWith('x-forwarded-')
}

/** Hop-by-hop headers RFC 9110 §7.6.1 names, plus `Proxy-Connection` (deployed, never standard). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

/**
 * `rawHeaders` (Node's flat `[name, value, …]`, case and order kept) without hop-by-hop headers, without
 * the headers that `Connection` names, and without any named in `drop` (lowercase).
 */
export function endToEnd (rawHeaders: readonly string[], drop: ReadonlySet<string> = new Set()): string[] {
  const named = new Set<string>()
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === 'connection') {
      for (const token of rawHeaders[i + 1].split(',')) {
        const name = token.trim().toLowerCase()
        if (name !== '') named.add(name)
      }
    }
  }
  const out: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase()
    if (!HOP_BY_HOP.has(name) && !named.has(name) && !drop.has(name)) {
      out.push(rawHeaders[i], rawHeaders[i + 1])
    }
  }
  return out
}

/** The value of the first `name` header in a flat list (case-insensitive), all values joined with `, `. */
export function headerValue (rawHeaders: readonly string[], name: string): string | undefined {
  const values: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === name) values.push(rawHeaders[i + 1])
  }
  return values.length === 0 ? undefined : values.join(', ')
}

/** `Via` with this hop appended (`1.1 <pseudonym>`). */
export function appendVia (existing: string | undefined, pseudonym: string): string {
  return existing == null || existing.trim() === '' ? `1.1 ${pseudonym}` : `${existing}, 1.1 ${pseudonym}`
}

/** Whether `via` already lists `pseudonym`: the request came round to this proxy again (a loop). */
export function isLoop (via: string | undefined, pseudonym: string): boolean {
  return via?.split(',').some(hop => hop.trim().split(/\s+/)[1] === pseudonym) ?? false
}

/** The parameters of one `Proxy-Status` entry (RFC 9209 §2.1). */
export interface ProxyStatusParams {
  /** The error type (RFC 9209 §2.3), e.g. `destination_ip_prohibited`. */
  error?: string
  /** Free text for a person; sent as a quoted string. */
  details?: string
  /** The status this proxy received from the next hop. */
  receivedStatus?: number
}

/**
 * The `Proxy-Status` value this proxy adds: `<pseudonym>; error=…; details="…"; received-status=…`,
 * after the entries of the hops behind it (`before`, as received). CR and LF become spaces: the
 * pseudonym is configured and the details come from error messages, and on a raw socket either could
 * otherwise end the header section.
 */
export function proxyStatus (pseudonym: string, params: ProxyStatusParams, before?: string): string {
  const entry = `${pseudonym}${params.error == null ? '' : `; error=${params.error}`}${params.details == null ? '' : `; details=${JSON.stringify(params.details)}`}${params.receivedStatus == null ? '' : `; received-status=${params.receivedStatus}`}`
  return fieldValue(before == null ? entry : `${before}, ${entry}`)
}
