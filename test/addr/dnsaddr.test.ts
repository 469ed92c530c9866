import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { resolveDnsaddr } from '../../src/addr/dnsaddr.js'
import { InvalidTargetError } from '../../src/index.js'

const A = '12D3KooWGC6TvWhfapngX6wvJHMYvKpDMXPb3ZnCZ6dMoaMtimQ5'
const B = '12D3KooWRzCVDwHUkgdK7eRgnoXbjDAELhxPErjHzbRLguSV1aRt'

// A fake DNS: the unit under test is the expansion, not the resolver.
const records: Record<string, string[][]> = {
  '_dnsaddr.example.com': [
    [`dnsaddr=/ip4/10.0.0.1/tcp/4001/p2p/${A}`],
    ['dnsaddr=/ip4/10.0.0.1/tcp/8443/tls/http'],
    [`dnsaddr=/dnsaddr/nested.example.com/p2p/${B}`],
    ['v=spf1 -all'],
    ['dnsaddr=/not a multiaddr']
  ],
  '_dnsaddr.nested.example.com': [[`dnsaddr=/ip4/10.0.0.2/tcp/4001/p2p/${B}`]],
  '_dnsaddr.loop.example.com': [['dnsaddr=/dnsaddr/loop.example.com']],
  '_dnsaddr.empty.example.com': []
}
const resolveTxt = async (name: string): Promise<string[][]> => {
  const found = records[name]
  if (found == null) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
  return found
}

describe('resolveDnsaddr', () => {
  it('expands records, recursively, skipping what is not a dnsaddr multiaddr', async () => {
    const out = await resolveDnsaddr([multiaddr('/dnsaddr/example.com')], resolveTxt)
    expect(out.map(String)).toEqual([
      `/ip4/10.0.0.1/tcp/4001/p2p/${A}`,
      '/ip4/10.0.0.1/tcp/8443/tls/http',
      `/ip4/10.0.0.2/tcp/4001/p2p/${B}`
    ])
  })

  it('keeps only the named peer, and carries /p2p and /http-path over', async () => {
    const out = await resolveDnsaddr([multiaddr(`/dnsaddr/example.com/p2p/${A}/http-path/x`)], resolveTxt)
    expect(out.map(String)).toEqual([
      `/ip4/10.0.0.1/tcp/4001/p2p/${A}/http-path/x`,
      `/ip4/10.0.0.1/tcp/8443/tls/http/p2p/${A}/http-path/x`
    ])
  })

  it('passes other addresses through, in order', async () => {
    const other = multiaddr('/ip4/1.1.1.1/tcp/1')
    expect((await resolveDnsaddr([other], resolveTxt)).map(String)).toEqual(['/ip4/1.1.1.1/tcp/1'])
  })

  it('fails clearly: loops, empty answers, DNS errors', async () => {
    await expect(resolveDnsaddr([multiaddr('/dnsaddr/loop.example.com')], resolveTxt)).rejects.toThrow(/resolved to no addresses \(too many nested/)
    await expect(resolveDnsaddr([multiaddr('/dnsaddr/empty.example.com')], resolveTxt)).rejects.toThrow(/resolved to no addresses/)
    await expect(resolveDnsaddr([multiaddr('/dnsaddr/missing.example.com')], resolveTxt)).rejects.toThrow(InvalidTargetError)
  })

  it('bounds the number of addresses', async () => {
    const out = await resolveDnsaddr([multiaddr('/dnsaddr/example.com')], resolveTxt, { maxAddresses: 2 })
    expect(out).toHaveLength(2)
  })
})

describe('resolveDnsaddr against a hostile zone', () => {
  // every name has 10 records pointing at 10 more names: 1,111 lookups for 3 levels without a budget
  let lookups = 0
  const fanOut = async (name: string): Promise<string[][]> => {
    lookups++
    if (name.startsWith('_dnsaddr.leaf')) return [['dnsaddr=/ip4/10.0.0.9/tcp/1']]
    return Array.from({ length: 10 }, (_, i) => [`dnsaddr=/dnsaddr/n${i}.${name.slice('_dnsaddr.'.length)}`])
  }

  it('stops after the lookup budget', async () => {
    lookups = 0
    await expect(resolveDnsaddr([multiaddr('/dnsaddr/root.example')], fanOut, { maxLookups: 32 })).rejects.toThrow(/resolved to no addresses/)
    expect(lookups).toBe(32)
  })

  it('a looping branch does not discard its good siblings', async () => {
    const zone: Record<string, string[][]> = {
      '_dnsaddr.mixed.example': [['dnsaddr=/dnsaddr/loop.example.com'], ['dnsaddr=/ip4/10.0.0.3/tcp/1']],
      '_dnsaddr.loop.example.com': [['dnsaddr=/dnsaddr/loop.example.com']]
    }
    const out = await resolveDnsaddr([multiaddr('/dnsaddr/mixed.example')], async (name) => zone[name] ?? [])
    expect(out.map(String)).toEqual(['/ip4/10.0.0.3/tcp/1'])
  })

  it('bounds each lookup, and stops when the signal fires', async () => {
    const never = async (): Promise<string[][]> => await new Promise(() => {})
    await expect(resolveDnsaddr([multiaddr('/dnsaddr/slow.example')], never, { lookupTimeout: 50 })).rejects.toThrow(/no answer within 50 ms/)
    const controller = new AbortController()
    const pending = resolveDnsaddr([multiaddr('/dnsaddr/slow.example')], never, { signal: controller.signal })
    controller.abort(new Error('caller gave up'))
    await expect(pending).rejects.toThrow('caller gave up')
  })
})
