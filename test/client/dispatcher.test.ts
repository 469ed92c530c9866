import { describe, expect, it } from 'vitest'
import { SNIRoutes } from '../../src/client/dispatcher.js'

describe('SNIRoutes', () => {
  it('one hostname per (connect host, name) pair, under .invalid', () => {
    const routes = new SNIRoutes()
    const a = routes.hostnameFor({ connectHost: '10.0.0.1', servername: 'example.com' })
    const b = routes.hostnameFor({ connectHost: '10.0.0.2', servername: 'example.com' })
    expect(a).toMatch(/^[0-9a-f]{32}\.sni\.invalid$/)
    expect(a).not.toBe(b)
    expect(routes.hostnameFor({ connectHost: '10.0.0.1', servername: 'example.com' })).toBe(a)
    expect(routes.lookup(a)).toEqual({ connectHost: '10.0.0.1', servername: 'example.com' })
    // an ordinary hostname is never routed, whatever was pinned
    expect(routes.lookup('example.com')).toBeUndefined()
  })

  it('is bounded: the least recently used pair is forgotten, and says so', () => {
    const routes = new SNIRoutes(2)
    const first = routes.hostnameFor({ connectHost: '10.0.0.1', servername: 'a.test' })
    routes.hostnameFor({ connectHost: '10.0.0.2', servername: 'b.test' })
    routes.hostnameFor({ connectHost: '10.0.0.3', servername: 'c.test' })
    expect(routes.lookup(first)).toBeNull()
  })
})
