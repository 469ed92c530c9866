/**
 * The `Response` `host.fetch` returns (issue 21): undici's class with what a fetch sets.
 */
import { Response as UndiciResponse } from 'undici'
import { describe, expect, it } from 'vitest'
import { FetchResponse } from '../../src/client/fetch-response.js'

describe('FetchResponse', () => {
  const make = (): FetchResponse => new FetchResponse(new Response('body').body, { status: 201, statusText: 'Made', headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x', 'y']] }, { url: 'http://peer/x', redirected: true, type: 'cors' })

  it('is undici\'s Response with url, redirected, type, set-cookie kept apart', async () => {
    const res = make()
    expect(res).toBeInstanceOf(UndiciResponse)
    expect([res.status, res.statusText, res.url, res.redirected, res.type, res.headers.getSetCookie()]).toEqual([201, 'Made', 'http://peer/x', true, 'cors', ['a=1', 'b=2']])
    expect(await res.text()).toBe('body')
  })

  it('has immutable headers, as a fetched response has', () => {
    const res = make()
    for (const change of [() => { res.headers.set('x', 'z') }, () => { res.headers.append('x', 'z') }, () => { res.headers.delete('x') }]) {
      expect(change).toThrow(new TypeError('immutable'))
    }
    expect(res.headers.get('x')).toBe('y')
  })

  it('clone() keeps the class, url, redirected, type; both bodies read', async () => {
    const res = make()
    const twin = res.clone()
    expect(twin).toBeInstanceOf(FetchResponse)
    expect([twin.url, twin.redirected, twin.type, twin.status, twin.statusText]).toEqual([res.url, res.redirected, res.type, res.status, res.statusText])
    expect(() => twin.headers.set('x', 'z')).toThrow(TypeError)
    expect([await twin.text(), await res.text()]).toEqual(['body', 'body'])
  })

  it('a null-body status takes a null body', () => {
    expect(new FetchResponse(null, { status: 204, statusText: '', headers: [] }, { url: 'http://x/', redirected: false, type: 'basic' }).body).toBeNull()
  })
})
