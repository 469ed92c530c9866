/**
 * `/dnsaddr` resolution. A `/dnsaddr/<name>` multiaddr names the TXT records at `_dnsaddr.<name>`,
 * each `dnsaddr=<multiaddr>`; those may be `/dnsaddr` again. It never names a host, so it is resolved
 * before a transport is chosen (an HTTP transport address may hide behind it).
 *
 * @module
 */
import { CODE_DNSADDR, CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { InvalidTargetError } from '../errors.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Looks up the TXT records of a name, as `node:dns/promises` `resolveTxt` does (chunks per record). */
export type TxtResolver = (name: string) => Promise<string[][]>

/** Limits for {@link resolveDnsaddr}: a hostile zone must not be able to stall or flood a fetch. */
export interface DnsaddrOptions {
  /** How many `/dnsaddr` levels to follow; deeper records are skipped. @default 4 */
  maxDepth?: number
  /** How many multiaddrs to return at most. @default 64 */
  maxAddresses?: number
  /** How many TXT lookups one resolution may make in all. @default 32 */
  maxLookups?: number
  /** Bound on each lookup, in ms. @default 5000 */
  lookupTimeout?: number
  signal?: AbortSignal
}

interface Budget {
  lookups: number
  addresses: number
  timeout: number
  signal?: AbortSignal
}

/**
 * Expand every `/dnsaddr` in `addrs` into the multiaddrs it names; other addresses pass unchanged, in
 * order. When a `/dnsaddr` address carries `/p2p/<id>`, only records for that peer are kept (the
 * dnsaddr convention), and a trailing `/http-path` is carried over to each result. Branches beyond the
 * depth or lookup budget, and records that are not multiaddrs, are skipped.
 *
 * @throws {InvalidTargetError} when a `/dnsaddr` resolves to nothing usable
 */
export async function resolveDnsaddr (addrs: Multiaddr[], resolveTxt: TxtResolver, options: DnsaddrOptions = {}): Promise<Multiaddr[]> {
  const budget: Budget = {
    lookups: options.maxLookups ?? 32,
    addresses: options.maxAddresses ?? 64,
    timeout: options.lookupTimeout ?? 5000,
    signal: options.signal
  }
  const out: Multiaddr[] = []
  for (const addr of addrs) {
    if (budget.addresses <= 0) {
      break
    }
    if (!addr.getComponents().some(c => c.code === CODE_DNSADDR)) {
      out.push(addr)
      budget.addresses--
      continue
    }
    const failures: string[] = []
    const resolved = await expand(addr, resolveTxt, options.maxDepth ?? 4, budget, failures)
    if (resolved.length === 0) {
      throw new InvalidTargetError(`${addr.toString()} resolved to no addresses${failures.length === 0 ? '' : ` (${failures.slice(0, 3).join('; ')})`}`)
    }
    out.push(...resolved)
  }
  return out
}

async function lookup (name: string, resolveTxt: TxtResolver, budget: Budget): Promise<string[][]> {
  budget.signal?.throwIfAborted()
  budget.lookups--
  let timer: ReturnType<typeof setTimeout> | undefined
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([
      resolveTxt(name),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`no answer within ${budget.timeout} ms`)) }, budget.timeout)
        onAbort = () => { reject(budget.signal?.reason) }
        budget.signal?.addEventListener('abort', onAbort, { once: true })
      })
    ])
  } finally {
    clearTimeout(timer)
    if (onAbort != null) budget.signal?.removeEventListener('abort', onAbort)
  }
}

async function expand (addr: Multiaddr, resolveTxt: TxtResolver, depth: number, budget: Budget, failures: string[]): Promise<Multiaddr[]> {
  const components = addr.getComponents()
  const index = components.findIndex(c => c.code === CODE_DNSADDR)
  if (index === -1) {
    if (budget.addresses <= 0) return []
    budget.addresses--
    return [addr]
  }
  if (index !== 0) {
    throw new InvalidTargetError(`/dnsaddr must start the multiaddr: ${addr.toString()}`)
  }
  const name = components[0].value ?? ''
  if (depth <= 0 || budget.lookups <= 0) {
    failures.push(`${depth <= 0 ? 'too many nested /dnsaddr records' : 'too many /dnsaddr lookups'} at ${name}`)
    return []
  }
  // what follows the dnsaddr component (`/p2p/<id>`, `/http-path/…`) applies to every result
  const suffix = components.slice(1)
  const peer = suffix.find(c => c.code === CODE_P2P)?.value
  let records: string[][]
  try {
    records = await lookup(`_dnsaddr.${name}`, resolveTxt, budget)
  } catch (err) {
    if (budget.signal?.aborted === true) {
      throw err
    }
    failures.push(`cannot resolve /dnsaddr/${name}: ${(err as Error).message}`)
    return []
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
    out.push(...await expand(multiaddr([...found.getComponents(), ...extra]), resolveTxt, depth - 1, budget, failures))
    if (budget.addresses <= 0) {
      break
    }
  }
  return out
}
