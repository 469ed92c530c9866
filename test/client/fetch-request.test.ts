/**
 * A `RequestInit` made into dispatch options as undici's fetch sends them (issue 21); what the server
 * receives is compared with undici's fetch in `lean-fetch.test.ts`.
 */
import { describe, expect, it } from 'vitest'
import { dispatchOptions, prepareRequest } from '../../src/client/fetch-request.js'

describe('prepareRequest and dispatchOptions', () => {
  it('adds fetch\'s default headers after the caller\'s, in undici\'s order; https asks for br too', () => {
    const http = new URL('http://127.0.0.1:1/a?b')
    const prepared = prepareRequest(http, { headers: { 'X-Mine': ' v ' } })
    expect(prepared).toBeDefined()
    expect(dispatchOptions(http, prepared!)).toEqual({
      origin: 'http://127.0.0.1:1',
      path: '/a?b',
      method: 'GET',
      headers: { 'X-Mine': 'v', accept: '*/*', 'accept-language': '*', 'sec-fetch-mode': 'cors', 'user-agent': 'undici', 'accept-encoding': 'gzip, deflate' },
      body: null
    })
    const https = new URL('https://example.com/')
    expect(dispatchOptions(https, prepareRequest(https, {})!).headers).toMatchObject({ 'accept-encoding': 'br, gzip, deflate' })
  })

  it('a body: its type unless one is given, its length; POST and PUT without one send content-length 0', () => {
    const url = new URL('http://x/')
    const text = dispatchOptions(url, prepareRequest(url, { method: 'post', body: 'é' })!)
    expect([text.method, (text.headers as Record<string, string>)['content-type'], (text.headers as Record<string, string>)['content-length'], text.body]).toEqual(['POST', 'text/plain;charset=UTF-8', '2', 'é'])
    const typed = dispatchOptions(url, prepareRequest(url, { method: 'POST', body: new URLSearchParams('a=1'), headers: [['Content-Type', 'x/y']] })!)
    expect((typed.headers as Record<string, string>)['Content-Type']).toBe('x/y')
    expect((typed.headers as Record<string, string>)['content-type']).toBeUndefined()
    expect((dispatchOptions(url, prepareRequest(url, { method: 'PUT' })!).headers as Record<string, string>)['content-length']).toBe('0')
  })

  it('copies bytes, as fetch does: the caller may reuse its buffer', () => {
    const url = new URL('http://x/')
    const bytes = new Uint8Array([1, 2, 3])
    const body = dispatchOptions(url, prepareRequest(url, { method: 'POST', body: bytes })!).body as Uint8Array
    bytes[0] = 9
    expect([...body]).toEqual([1, 2, 3])
  })

  it('a custom method is kept as given, the common ones upper-cased', () => {
    const url = new URL('http://x/')
    expect(prepareRequest(url, { method: 'delete' })?.method).toBe('DELETE')
    expect(prepareRequest(url, { method: 'propfind' })?.method).toBe('propfind')
  })
})
