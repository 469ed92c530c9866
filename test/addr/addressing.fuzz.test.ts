/**
 * The addressing parsers take text and bytes from peers (targets, redirects, binary multiaddrs). Fed
 * generated input they return or throw one of our typed errors, nothing else. The generator is seeded
 * (FUZZ_SEED to replay a run, FUZZ_RUNS for more inputs) so that a failure can be reproduced.
 */
import { multiaddr } from '@multiformats/multiaddr'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidTargetError, LibP2PHTTPError, httpEndpoint, multiaddrFromBytes, multiaddrToBytes, multiaddrToURL, urlToMultiaddr, withHTTPPath } from '../../src/index.js'
import { parseMultiaddrURI, peerFromHostname } from '../../src/addr/addressing.js'
import { requestTarget } from '../../src/addr/addressing.js'
import { absoluteLocation } from '../../src/client/redirect.js'
import { describeTarget, routeLocation } from '../../src/client/target.js'
import type { RouterContext } from '../../src/client/target.js'
import type { Multiaddr } from '@multiformats/multiaddr'

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed)
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000)

/** mulberry32: small, seeded, good enough to spread inputs. */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const PROTOCOLS = ['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr', 'tcp', 'udp', 'quic-v1', 'tls', 'sni', 'http', 'https', 'http-path', 'p2p', 'ws', 'wss', 'p2p-circuit', 'certhash', 'unix', 'nope']
const VALUES = ['127.0.0.1', '::1', '1.2.3', '300.1.1.1', 'example.com', 'localhost', '0', '443', '65536', '-1', PEER, PEER.slice(0, 20), 'k51qzi5uqu5dl', 'a%2Fb', '%', '%zz', '..%2F..', '%2F%2Fevil', '', ' ', '\u0000', 'é', '😀', '?x=1', '#f', 'a'.repeat(300)]
const SCHEMES = ['multiaddr:', 'MULTIADDR:', 'http://', 'https://', 'ftp://', 'ws://', '', 'multiaddr', 'http:', '//']

type Gen = () => number

function pick<T> (r: Gen, list: T[]): T {
  return list[Math.floor(r() * list.length)]
}

/** A multiaddr-shaped string: mostly plausible components, sometimes not. */
function addrText (r: Gen): string {
  let out = ''
  const n = Math.floor(r() * 6)
  for (let i = 0; i < n; i++) {
    out += `/${pick(r, PROTOCOLS)}`
    if (r() < 0.8) out += `/${pick(r, VALUES)}`
  }
  return mutate(r, out)
}

/** Insert, delete or replace a few characters, any code point. */
function mutate (r: Gen, text: string): string {
  let out = text
  const edits = r() < 0.5 ? 0 : Math.floor(r() * 4)
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(r() * (out.length + 1))
    const ch = String.fromCodePoint(r() < 0.7 ? 32 + Math.floor(r() * 95) : Math.floor(r() * 0xd7ff))
    const op = r()
    out = op < 0.4 ? out.slice(0, at) + ch + out.slice(at) : op < 0.7 ? out.slice(0, at) + out.slice(at + 1) : out.slice(0, at) + ch + out.slice(at + 1)
  }
  return out
}

function text (r: Gen): string {
  const scheme = pick(r, SCHEMES)
  const rest = scheme.startsWith('http') || scheme.startsWith('//') ? mutate(r, `${pick(r, VALUES)}${r() < 0.5 ? `:${pick(r, VALUES)}` : ''}/${pick(r, VALUES)}`) : addrText(r)
  return scheme + rest
}

function bytes (r: Gen): Uint8Array {
  const out = new Uint8Array(Math.floor(r() * 40))
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256)
  return out
}

/** Runs `fn`; a throw must be one of ours. Returns what it returned, or undefined. */
function ours<T> (what: string, input: unknown, fn: () => T): T | undefined {
  try {
    return fn()
  } catch (err) {
    if (!(err instanceof LibP2PHTTPError)) {
      throw new Error(`${what}(${JSON.stringify(input)}) threw ${String(err)} (seed ${SEED})`, { cause: err })
    }
    expect(typeof err.code).toBe('string')
    return undefined
  }
}

describe(`addressing, fuzzed (seed ${SEED}, ${RUNS} runs)`, () => {
  it('parseMultiaddrURI, describeTarget, urlToMultiaddr, peerFromHostname take any text', () => {
    const r = rng(SEED)
    for (let i = 0; i < RUNS; i++) {
      const input = text(r)
      ours('parseMultiaddrURI', input, () => parseMultiaddrURI(input))
      ours('describeTarget', input, () => describeTarget(input))
      ours('urlToMultiaddr', input, () => urlToMultiaddr(input))
      expect(() => peerFromHostname(input)).not.toThrow()
    }
  })

  it('describeTarget takes multiaddrs, lists and { peer, path } of any shape', () => {
    const r = rng(SEED + 1)
    for (let i = 0; i < RUNS; i++) {
      const input = addrText(r)
      let ma: Multiaddr
      try {
        ma = multiaddr(input)
      } catch {
        continue
      }
      ours('describeTarget', input, () => describeTarget(ma))
      ours('describeTarget', [input], () => describeTarget([ma, ma]))
      ours('describeTarget', { peer: input }, () => describeTarget({ peer: ma, path: mutate(r, pick(r, VALUES)) }))
      ours('httpEndpoint', input, () => httpEndpoint(ma))
      ours('multiaddrToURL', input, () => multiaddrToURL(ma))
      ours('withHTTPPath', input, () => withHTTPPath(ma, mutate(r, pick(r, VALUES))))
      ours('multiaddrToBytes', input, () => multiaddrToBytes(ma))
    }
  })

  it('describeTarget refuses values of the wrong type with its own error', () => {
    for (const input of [null, undefined, 0, true, {}, [], { peer: null }, { peer: 'x' }, { peer: 42 }, Symbol('x'), () => {}]) {
      ours('describeTarget', String(input), () => describeTarget(input as never))
    }
  })

  it('requestTarget and multiaddrFromBytes take any input', () => {
    const r = rng(SEED + 2)
    for (let i = 0; i < RUNS; i++) {
      const path = mutate(r, `${pick(r, VALUES)}/${pick(r, VALUES)}`)
      ours('requestTarget', path, () => requestTarget(path))
      const raw = bytes(r)
      ours('multiaddrFromBytes', [...raw], () => multiaddrFromBytes(raw))
    }
  })
})

/**
 * Plausible addresses built from parts (host × port × security × tail), so that the parsers' success
 * paths are reached too, then damaged at the byte level.
 */
function structured (r: Gen): string {
  const host = pick(r, ['/ip4/127.0.0.1', '/ip4/10.1.2.3', '/ip6/::1', '/ip6/fe80::1', '/dns/example.com', '/dns4/localhost', '/dns6/x.test', '/dnsaddr/boot.example'])
  const port = r() < 0.85 ? `/tcp/${pick(r, ['443', '8443', '80', '0', '65535'])}` : (r() < 0.5 ? '/udp/443/quic-v1' : '')
  const security = pick(r, ['/tls/http', '/https', '/http', '/tls/sni/example.test/http', '', `/p2p/${PEER}`])
  const tail = `${r() < 0.3 ? `/p2p/${PEER}` : ''}${r() < 0.5 ? `/http-path/${encodeURIComponent(pick(r, ['a/b?x=1', 'é', '..', '', 'a%2Fb', ' ', '#f']) || 'x')}` : ''}`
  return `${host}${port}${security}${tail}`
}

/** A routing context that never dials or resolves: routing itself is under test. */
function fuzzContext (selection: RouterContext['selection']): RouterContext {
  return {
    selection,
    hasLibp2p: true,
    canAuthenticateServer: true,
    isConnected: () => false,
    identify: async (): Promise<never> => { throw new Error('not in a fuzz test') },
    resolveTxt: async () => [],
    rememberAddresses: () => {},
    allowPlainOrigin: () => {},
    sniHostname: () => 'pinned.sni.invalid'
  }
}

function damage (r: Gen, input: Uint8Array): Uint8Array {
  const out = new Uint8Array(input)
  const op = r()
  if (op < 0.3) return out.subarray(0, Math.floor(r() * out.length))
  if (op < 0.7) {
    for (let i = 0; i < 1 + Math.floor(r() * 3); i++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256)
  }
  return out
}

describe(`addressing, fuzzed from plausible parts (seed ${SEED}, ${RUNS} runs)`, () => {
  it('reaches the success paths, round-trips through bytes, and damage only ever gives our errors', () => {
    const r = rng(SEED + 3)
    let endpoints = 0
    let roundTrips = 0
    let routed = 0
    const context = fuzzContext({ insecureAllowHTTP: r() < 0.5 })
    for (let i = 0; i < RUNS; i++) {
      const input = structured(r)
      let ma: Multiaddr
      try {
        ma = multiaddr(input)
      } catch {
        continue
      }
      if (ours('httpEndpoint', input, () => httpEndpoint(ma)) != null) endpoints++
      ours('multiaddrToURL', input, () => multiaddrToURL(ma))
      if (ours('routeLocation', input, () => routeLocation(`multiaddr:${input}`, context)) != null) routed++
      ours('absoluteLocation', input, () => absoluteLocation(mutate(r, pick(r, ['/next', 'rel?x', '//evil/x', 'https://x/', '', '#f'])), 'http://h/a', ma))
      const encoded = ours('multiaddrToBytes', input, () => multiaddrToBytes(ma))
      if (encoded != null) {
        const back = ours('multiaddrFromBytes', input, () => multiaddrFromBytes(encoded))
        if (back != null) {
          expect(back.toString(), input).toBe(multiaddrFromBytes(ma.bytes).toString())
          roundTrips++
        }
        const damaged = damage(r, encoded)
        ours('multiaddrFromBytes', [...damaged], () => multiaddrFromBytes(damaged))
      }
    }
    // the generator must reach the parsers' success paths, or it tests only their refusals
    expect(endpoints).toBeGreaterThan(RUNS / 5)
    expect(roundTrips).toBeGreaterThan(RUNS / 2)
    expect(routed).toBeGreaterThan(RUNS / 5)
  })
})

describe(`addressing, property-based with fast-check (seed ${SEED})`, () => {
  const part = fc.oneof(
    fc.constantFrom(...PROTOCOLS.map(p => `/${p}`), ...VALUES.map(v => `/${v}`), 'multiaddr:', 'http://', 'https://', '%', '[', ']', ':', '?', '#'),
    fc.fullUnicodeString({ maxLength: 6 })
  )
  it('any text as a fetch target or a Location: described, routed or refused with our errors only', () => {
    const context = fuzzContext({})
    fc.assert(fc.property(fc.array(part, { maxLength: 12 }).map(parts => parts.join('')), (input) => {
      ours('describeTarget', input, () => describeTarget(input))
      ours('routeLocation', input, () => routeLocation(input, context))
      ours('parseMultiaddrURI', input, () => parseMultiaddrURI(input))
    }), { seed: SEED, numRuns: RUNS })
  })

  it('any bytes as a binary multiaddr: decoded or refused with our errors only', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      ours('multiaddrFromBytes', [...bytes], () => multiaddrFromBytes(bytes))
    }), { seed: SEED, numRuns: RUNS })
  })
})

describe('found by fuzzing', () => {
  it('multiaddrFromBytes with an unknown protocol code throws InvalidTargetError, not UnknownProtocolError', () => {
    expect(() => multiaddrFromBytes(new Uint8Array([5, 211, 1, 140, 38]))).toThrow(InvalidTargetError)
  })

  it('multiaddrToBytes of a multiaddr js-multiaddr accepted but cannot encode throws InvalidTargetError', () => {
    expect(() => multiaddrToBytes(multiaddr('/dns4/é/p2p/é'))).toThrow(InvalidTargetError)
  })

  it('a lone surrogate in a multiaddr value is refused with InvalidTargetError, not URIError', () => {
    expect(() => parseMultiaddrURI('multiaddr:/dns/x/http-path/\ud83dN')).toThrow(InvalidTargetError)
    expect(() => httpEndpoint(multiaddr('/unix/\ud83d'))).toThrow(InvalidTargetError)
    expect(() => describeTarget(multiaddr('/http-path/\ude00A/https'))).toThrow(InvalidTargetError)
  })
})
