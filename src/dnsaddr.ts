/**
 * `/dnsaddr` resolution. A `/dnsaddr/<name>` multiaddr names the TXT records at `_dnsaddr.<name>`,
 * each `dnsaddr=<multiaddr>`; those may be `/dnsaddr` again. It never names a host, so it is resolved
 * before a transport is chosen (an HTTP transport address may hide behind it).
 *
 * @module
 */
import { CODE_DNSADDR, CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { InvalidTargetError } from './errors.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Looks up the TXT records of a name, as `node:dns/promises` `resolveTxt` does (chunks per record). */
export type TxtResolver = (name: string) => Promise<string[][]>

/** Limits for {@link resolveDnsaddr}. */
export interface DnsaddrOptions {
  /** How many `/dnsaddr` levels to follow. @default 4 */
  maxDepth?: number
  /** How many multiaddrs to return at most. @default 64 */
  maxAddresses?: number
}

/**
 * Expand every `/dnsaddr` in `addrs` into the multiaddrs it names; other addresses pass unchanged, in
 * order. When a `/dnsaddr` address carries `/p2p/<id>`, only records for that peer are kept (the
 * dnsaddr convention), and a trailing `/http-path` is carried over to each result.
 *
 * @throws {InvalidTargetError} when a `/dnsaddr` resolves to nothing usable
 */
export async function resolveDnsaddr (addrs: Multiaddr[], resolveTxt: TxtResolver, options: DnsaddrOptions = {}): Promise<Multiaddr[]> {
  const maxAddresses = options.maxAddresses ?? 64
  const out: Multiaddr[] = []
  for (const addr of addrs) {
    if (!addr.getComponents().some(c => c.code === CODE_DNSADDR)) {
      out.push(addr)
      continue
    }
    const resolved = await expand(addr, resolveTxt, options.maxDepth ?? 4, maxAddresses - out.length)
    if (resolved.length === 0) {
      throw new InvalidTargetError(`${addr.toString()} resolved to no addresses`)
    }
    out.push(...resolved)
    if (out.length >= maxAddresses) {
      break
    }
  }
  return out.slice(0, maxAddresses)
}

async function expand (addr: Multiaddr, resolveTxt: TxtResolver, depth: number, budget: number): Promise<Multiaddr[]> {
  const components = addr.getComponents()
  const index = components.findIndex(c => c.code === CODE_DNSADDR)
  if (index === -1) {
    return [addr]
  }
  if (index !== 0) {
    throw new InvalidTargetError(`/dnsaddr must start the multiaddr: ${addr.toString()}`)
  }
  if (depth <= 0) {
    throw new InvalidTargetError(`too many nested /dnsaddr records resolving ${addr.toString()}`)
  }
  const name = components[0].value ?? ''
  // what follows the dnsaddr component (`/p2p/<id>`, `/http-path/…`) applies to every result
  const suffix = components.slice(1)
  const peer = suffix.find(c => c.code === CODE_P2P)?.value
  let records: string[][]
  try {
    records = await resolveTxt(`_dnsaddr.${name}`)
  } catch (err) {
    throw new InvalidTargetError(`cannot resolve /dnsaddr/${name}: ${(err as Error).message}`, { cause: err })
  }
  const out: Multiaddr[] = []
  for (const record of records) {
    const text = record.join('')
    if (!text.startsWith('dnsaddr=')) {
      continue
    }
    let found: Multiaddr
    try {
      found = multiaddr(text.slice('dnsaddr='.length))
    } catch {
      continue // a malformed record is skipped, as libp2p's resolver does
    }
    const foundPeer = found.getComponents().findLast(c => c.code === CODE_P2P)?.value
    if (peer != null && foundPeer != null && foundPeer !== peer) {
      continue
    }
    const extra = suffix.filter(c => !(c.code === CODE_P2P && foundPeer != null))
    const full = multiaddr([...found.getComponents(), ...extra])
    out.push(...await expand(full, resolveTxt, depth - 1, budget - out.length))
    if (out.length >= budget) {
      break
    }
  }
  return out.slice(0, Math.max(budget, 0))
}
