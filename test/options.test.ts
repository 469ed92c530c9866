/**
 * The host's options checked in one place when the host is made (src/options.ts): a value that cannot
 * work fails createHTTPHost with an InvalidOptionError naming it, before anything listens, instead of
 * on first use (discovery's timeout was a RangeError on the first host.protocols()).
 */
import { describe, expect, it } from 'vitest'
import { checkHostOptions } from '../src/options.js'
import { InvalidAuthOptionsError, InvalidLimitError, InvalidOptionError, createHTTPHost, isLibP2PHTTPError } from '../src/index.js'
import type { HTTPHostOptions } from '../src/index.js'

describe('checkHostOptions', () => {
  it.each<[string, HTTPHostOptions]>([
    ['maxInboundStreams', { maxInboundStreams: 0 }],
    ['maxInboundStreams', { maxInboundStreams: 1.5 }],
    ['maxInboundStreamsTotal', { maxInboundStreamsTotal: Number.NaN }],
    ['lingerTimeout', { lingerTimeout: -1 }],
    ['connectTimeout', { connectTimeout: 0 }],
    ['connectTimeout', { connectTimeout: Infinity }],
    ['maxStreamsPerPeer', { maxStreamsPerPeer: 0 }],
    ['client.headersTimeout', { client: { headersTimeout: -5 } }],
    ['client.bodyTimeout', { client: { bodyTimeout: '10' as never } }],
    ['client.maxHeaderSize', { client: { maxHeaderSize: 0 } }],
    ['client.maxBodySize', { client: { maxBodySize: -1 } }],
    ['discovery.timeout', { discovery: { timeout: -1 } }],
    ['discovery.cacheTTL', { discovery: { cacheTTL: Number.NaN } }],
    ['discovery.cacheSize', { discovery: { cacheSize: -1 } }],
    ['discovery.maxBytes', { discovery: { maxBytes: Infinity } }],
    ['server.idleTimeout', { server: { idleTimeout: -1 } }]
  ])('%s: %j is an InvalidLimitError naming it', (option, options) => {
    let thrown: unknown
    try { checkHostOptions(options) } catch (err) { thrown = err }
    expect(thrown).toBeInstanceOf(InvalidLimitError)
    expect(thrown).toBeInstanceOf(InvalidOptionError)
    expect(thrown).toMatchObject({ code: 'ERR_INVALID_LIMIT', option, message: expect.stringContaining(option) })
  })

  it('streamNegotiation outside its two values is ERR_INVALID_OPTION', () => {
    expect(() => checkHostOptions({ streamNegotiation: 'fast' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'streamNegotiation' }))
  })

  it('accepts the defaults, the documented "off" values and Infinity where it means no limit', () => {
    expect(() => checkHostOptions({})).not.toThrow()
    expect(() => checkHostOptions({
      lingerTimeout: 0,
      connectTimeout: 1,
      client: { headersTimeout: 0, bodyTimeout: 0, maxBodySize: Infinity },
      discovery: { timeout: Infinity, cacheTTL: 0, cacheSize: 0, maxBytes: 0 },
      server: { idleTimeout: 0, maxRequestBodySize: Infinity },
      streamNegotiation: 'full'
    })).not.toThrow()
  })
})

describe('createHTTPHost checks its options before it starts', () => {
  it('a bad discovery.timeout fails createHTTPHost (it used to be a RangeError on the first host.protocols())', async () => {
    const made = createHTTPHost({ discovery: { timeout: -1 } })
    await expect(made).rejects.toBeInstanceOf(InvalidLimitError)
    await expect(made).rejects.toMatchObject({ code: 'ERR_INVALID_LIMIT', option: 'discovery.timeout' })
  })

  it('a bad stream-listener option fails createHTTPHost (it was passed on unchecked)', async () => {
    const listen = ['/ip4/127.0.0.1/tcp/0/http']
    await expect(createHTTPHost({ listen, insecureAllowHTTP: true, maxInboundStreams: -1 })).rejects.toMatchObject({ option: 'maxInboundStreams' })
  })

  it('auth errors are InvalidOptionErrors too, with their own code kept', async () => {
    const err = await createHTTPHost({ auth: { server: {} } }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidAuthOptionsError)
    expect(err).toBeInstanceOf(InvalidOptionError)
    expect(isLibP2PHTTPError(err)).toBe(true)
    expect(err).toMatchObject({ code: 'ERR_INVALID_AUTH_OPTIONS', option: 'auth.privateKey' })
  })
})
