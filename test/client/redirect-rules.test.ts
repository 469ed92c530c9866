/**
 * The Fetch standard's redirect rules, shared by `host.fetch`'s fetch and the browser host (issue 21).
 */
import { describe, expect, it } from 'vitest'
import { MAX_REDIRECTS, redirectStep } from '../../src/client/redirect-rules.js'

describe('redirectStep (the Fetch standard\'s rules, shared with the browser host)', () => {
  it.each([
    [301, 'POST', 'replayable', { follow: true, method: 'GET', dropBody: true }],
    [302, 'PUT', 'replayable', { follow: true, method: 'PUT', dropBody: false }],
    [303, 'PUT', 'stream', { follow: true, method: 'GET', dropBody: true }],
    [303, 'HEAD', 'none', { follow: true, method: 'HEAD', dropBody: false }],
    [307, 'POST', 'replayable', { follow: true, method: 'POST', dropBody: false }],
    [302, 'POST', 'stream', { follow: false }],
    [308, 'PUT', 'stream', { follow: false }]
  ] as const)('%i %s with a %s body', (status, method, body, expected) => {
    expect(redirectStep({ method, body, redirectCount: 0 }, status, 'http://a', 'http://a')).toMatchObject(expected)
  })

  it('drops the body headers with the body, and the credentials across origins', () => {
    expect(redirectStep({ method: 'POST', body: 'replayable', redirectCount: 0 }, 303, 'http://a', 'http://b')).toMatchObject({ dropHeaders: ['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length', 'authorization', 'proxy-authorization', 'cookie', 'host'] })
    expect(redirectStep({ method: 'GET', body: 'none', redirectCount: MAX_REDIRECTS }, 302, 'http://a', 'http://a')).toEqual({ follow: false, reason: 'redirect count exceeded' })
  })
})
