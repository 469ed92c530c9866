import { describe, expect, it } from 'vitest'
import { originalUrl } from '../../src/index.js'
import { rewriteUrl, setOriginalUrl } from '../../src/server/original-url.js'
import type { RoutedRequest } from '../../src/server/original-url.js'

describe('originalUrl', () => {
  it('keeps the first original through several rewrites (the Express convention)', () => {
    const req = { url: '/kv/1.0.0/admin/x' } as unknown as RoutedRequest
    rewriteUrl(req, '/admin/x')
    rewriteUrl(req, '/x')
    expect(req.url).toBe('/x')
    expect(originalUrl(req)).toBe('/kv/1.0.0/admin/x')
  })

  it('is the current URL of requests that were not rewritten', () => {
    expect(originalUrl({ url: '/a?b' } as unknown as RoutedRequest)).toBe('/a?b')
    expect(originalUrl(new Request('http://h/a'))).toBe('http://h/a')
  })

  it('is the recorded absolute URL for a fetch-style Request', () => {
    const request = new Request('http://h/keys/a')
    setOriginalUrl(request, 'http://h/kv/1.0.0/keys/a')
    expect(originalUrl(request)).toBe('http://h/kv/1.0.0/keys/a')
  })
})
