/**
 * The local servers' Host and Origin rules, as a table (pure: a request is its headers and socket addresses).
 */
import { describe, expect, it } from 'vitest'
import { hostRefusal, isLoopback, originRefusal } from '../../src/proxy/host-check.js'
import type { IncomingMessage } from 'node:http'

const PORT = 8000
const req = (headers: Record<string, string>, localAddress = '127.0.0.1'): IncomingMessage =>
  ({ headers, socket: { localAddress, localPort: PORT } }) as unknown as IncomingMessage

describe('originRefusal (issue 14: cross-site requests)', () => {
  const check = originRefusal({ allowHosts: ['box.lan'], allowOrigins: ['https://App.example:443'] })
  it.each([
    [undefined, true], // curl, SDKs: no Origin
    [`http://127.0.0.1:${PORT}`, true], [`http://localhost:${PORT}`, true], [`http://[::1]:${PORT}`, true],
    ['https://app.example', true], // --allow-origin, compared as browsers serialise origins
    ['http://box.lan:3000', true], // an --allow-host name
    ['https://evil.example', false], ['null', false], ['not a url', false],
    ['http://127.0.0.1:1', false], // another port is another origin
    [`https://127.0.0.1:${PORT}`, false], // the local server speaks http
    ['http://127.0.0.1', false] // port 80 is not this server's
  ])('Origin %s: allowed %s', (origin, allowed) => {
    const why = check(req(origin == null ? {} : { origin }))
    if (allowed) expect(why).toBeUndefined()
    else expect(why).toMatch(/is not this server's \(allow it with allowOrigins\)/)
  })

  it('the bound address is a local origin', () => {
    expect(originRefusal()(req({ origin: `http://192.0.2.5:${PORT}` }, '192.0.2.5'))).toBeUndefined()
  })
})

describe('hostRefusal', () => {
  it('loopback names with this port or none; others refused', () => {
    const check = hostRefusal()
    expect(check(req({ host: `localhost:${PORT}` }))).toBeUndefined()
    expect(check(req({ host: 'evil.example' }))).toMatch(/not this machine's/)
    expect(check(req({ host: '127.0.0.1:1' }))).toMatch(/another port/)
    expect(isLoopback('127.0.0.2')).toBe(true)
  })

  it('a refusal names the setting as the caller calls it: the option by default, the flag in the command (issue 15)', () => {
    expect(hostRefusal()(req({ host: 'evil.example' }))).toMatch(/allow it with allowHosts\)$/)
    const names = { allowHosts: '--allow-host', allowOrigins: '--allow-origin' }
    expect(hostRefusal({ names })(req({ host: 'evil.example' }))).toMatch(/allow it with --allow-host\)$/)
    expect(originRefusal({ names })(req({ origin: 'https://evil.example' }))).toMatch(/allow it with --allow-origin\)$/)
  })
})
