import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../../src/errors.js'
import { createExit } from '../../src/proxy/exit.js'
import { egressPolicy, isSpecial, parseEgressRule } from '../../src/proxy/egress.js'

describe('egressPolicy', () => {
  const open = egressPolicy([])

  it.each([
    ['127.0.0.1'], ['10.1.2.3'], ['172.16.0.1'], ['192.168.1.1'], ['169.254.169.254'], ['100.64.0.1'], ['0.0.0.0'],
    ['::1'], ['fe80::1'], ['fd00::1'], ['::ffff:127.0.0.1'], ['224.0.0.1']
  ])('refuses %s by default', (address) => {
    expect(open.refusal(address, address, 80, false)).toMatch(/special address/)
  })

  it.each([
    // IPv4-mapped / -compatible / NAT64 / 6to4 spellings of loopback and metadata, judged by their bytes
    ['0:0:0:0:0:ffff:7f00:1'], ['0::ffff:127.0.0.1'], ['::0:ffff:a9fe:a9fe'], ['::FFFF:7F00:1'], ['::127.0.0.1'],
    ['64:ff9b::7f00:1'], ['64:ff9b::a9fe:a9fe'], ['64:ff9b:1::808:808'], ['2002:7f00:1::'],
    ['::'], ['0:0:0:0:0:0:0:0'], ['0.0.0.0'], ['100.64.0.1'], ['100.127.255.254'], ['224.0.0.1'], ['239.255.255.250'], ['ff02::1'],
    ['169.254.169.254'], ['fd00:ec2::254'], ['fe80::1%eth0']
  ])('refuses %s by its bytes', (address) => {
    expect(isSpecial(address)).toBe(true)
    expect(open.refusal(address, address, 80, false)).toMatch(/special address/)
  })

  it.each([['8.8.8.8'], ['::ffff:8.8.8.8'], ['64:ff9b::808:808'], ['2606:2800:21f:cb07:6820:80da:af6b:8b2c']])('allows public %s', (address) => {
    expect(isSpecial(address)).toBe(false)
  })

  it.each([['2130706433'], ['0x7f.1'], ['017700000001'], ['0x7f000001'], ['localhost.'], ['0.0.0.0'], ['[::]'], ['[0:0:0:0:0:ffff:7f00:1]'], ['[fd00:ec2::254]']])('resolve refuses %s (resolved, then checked)', async (hostname) => {
    // refused as special, or (a trailing-dot name) not resolved at all: never an address to connect to
    await expect(open.resolve(hostname, 80, false)).rejects.toHaveProperty('code', expect.stringMatching(/^(ERR_EGRESS_DENIED|ENOTFOUND|EAI_AGAIN)$/))
  })

  // issue 14: the IANA special-purpose registries (RFC 6890, with RFC 5737, 2544, 3849, 4380, 9637 …)
  it.each([
    ['::ffff:0:a9fe:a9fe', 'IPv4-translated metadata (RFC 2765 ::ffff:0:0:0/96)'], ['::ffff:0:7f00:1', 'IPv4-translated loopback'],
    ['192.0.2.1', 'TEST-NET-1 (RFC 5737)'], ['198.51.100.7', 'TEST-NET-2'], ['203.0.113.200', 'TEST-NET-3'],
    ['198.19.255.1', 'benchmarking (RFC 2544)'], ['192.88.99.1', '6to4 relay anycast (RFC 7526)'], ['255.255.255.255', 'limited broadcast'],
    ['2001::1', 'Teredo (RFC 4380)'], ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'], ['2001:2::1', 'IPv6 benchmarking (RFC 5180)'],
    ['2001:10::1', 'ORCHID (RFC 4843)'], ['2001:20::1', 'ORCHIDv2 (RFC 7343)'], ['2001:db8::1', 'documentation (RFC 3849)'],
    ['3fff::1', 'documentation (RFC 9637)'], ['5f00::1', 'SRv6 SIDs (RFC 9602)'], ['100::1', 'discard-only (RFC 6666)']
  ])('refuses %s: %s (issue 14)', (address) => {
    expect(isSpecial(address)).toBe(true)
    expect(open.refusal(address, address, 80, false)).toMatch(/special address/)
  })

  it('refuses the machine\'s own addresses, whatever their range, unless a rule names them (issue 14)', () => {
    const own = egressPolicy([], { ownAddresses: () => ['8.8.4.4', '2606:4700::6810:84e5'] })
    for (const address of ['8.8.4.4', '::ffff:8.8.4.4', '::ffff:808:404', '2606:4700::6810:84e5', '2606:4700:0:0:0:0:6810:84e5']) {
      expect(own.refusal(address, address, 80, false)).toMatch(/this machine's own address/)
    }
    expect(own.refusal('8.8.8.8', '8.8.8.8', 80, false)).toBeUndefined()
    expect(egressPolicy(['8.8.4.4'], { ownAddresses: () => ['8.8.4.4'] }).refusal('8.8.4.4', '8.8.4.4', 80, false)).toBeUndefined()
  })

  it('by default the machine\'s own addresses are its interfaces\' (os.networkInterfaces)', async () => {
    const { networkInterfaces } = await import('node:os')
    for (const a of Object.values(networkInterfaces()).flat()) {
      if (a != null) expect(open.refusal(a.address, a.address, 80, false)).toBeDefined()
    }
  })

  it('allows public addresses; CONNECT only to 443', () => {
    expect(open.refusal('example.com', '93.184.215.14', 80, false)).toBeUndefined()
    expect(open.refusal('example.com', '2606:2800:21f:cb07:6820:80da:af6b:8b2c', 8080, false)).toBeUndefined()
    expect(open.refusal('example.com', '93.184.215.14', 443, true)).toBeUndefined()
    expect(open.refusal('example.com', '93.184.215.14', 22, true)).toMatch(/CONNECT to port 22/)
  })

  it('rules: a CIDR or host without a port allows any port but CONNECT still 443; with a port, that port only (CONNECT too)', () => {
    const policy = egressPolicy(['10.0.0.0/8', 'localhost:8080', '[::1]:9000', '192.168.1.5:22'])
    expect(policy.refusal('10.2.3.4', '10.2.3.4', 5432, false)).toBeUndefined()
    expect(policy.refusal('10.2.3.4', '10.2.3.4', 5432, true)).toMatch(/CONNECT/)
    expect(policy.refusal('localhost', '127.0.0.1', 8080, true)).toBeUndefined()
    expect(policy.refusal('localhost', '127.0.0.1', 8081, false)).toMatch(/special/)
    expect(policy.refusal('127.0.0.1', '127.0.0.1', 8080, false)).toMatch(/special/) // the rule named the host, not the IP
    expect(policy.refusal('::1', '::1', 9000, false)).toBeUndefined()
    expect(policy.refusal('192.168.1.5', '192.168.1.5', 22, true)).toBeUndefined()
  })

  it('checks the resolved address, not the name (a public name pointing at loopback is refused)', async () => {
    await expect(open.resolve('localhost', 80, false)).rejects.toMatchObject({ code: 'ERR_EGRESS_DENIED' })
    await expect(open.resolve('127.0.0.1', 80, false)).rejects.toMatchObject({ code: 'ERR_EGRESS_DENIED' })
    expect(await egressPolicy(['127.0.0.1']).resolve('127.0.0.1', 80, false)).toBe('127.0.0.1')
  })

  it('refuses rules it cannot read with InvalidOptionError naming the rule (createExit: allowEgress[i])', () => {
    expect(() => parseEgressRule('10.0.0.0/33')).toThrow(InvalidOptionError)
    expect(() => parseEgressRule('host:99999')).toThrow(InvalidOptionError)
    expect(() => parseEgressRule('bad host')).toThrow(InvalidOptionError)
    expect(() => createExit({ allow: [], allowEgress: ['example.com', 'bad host'] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'allowEgress[1]' }))
  })
})
