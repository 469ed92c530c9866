import { describe, expect, it } from 'vitest'
import { InvalidProtocolMapError } from '../../src/index.js'
import { acceptsJSON, invalidEntriesOf, isWellKnownPath, parseProtocolMap, serializeProtocolMap, validateProtocolMap } from '../../src/protocols/well-known.js'
import { caught } from '../helpers/caught.js'

describe('acceptsJSON (406 rules)', () => {
  it.each([
    [undefined, true],
    ['', true],
    ['application/json', true],
    ['application/*', true],
    ['*/*', true],
    ['text/html, */*;q=0.1', true],
    ['APPLICATION/JSON; charset=utf-8', true],
    ['application/json;q=abc', true],
    ['application/json;q=0.001', true],
    ['text/html', false],
    ['application/xml, text/*', false],
    ['application/json;q=0', false],
    ['application/json; q=0.000', false],
    ['*/*;q=0', false],
    ['application/json;q=0, */*', false],
    ['application/*;q=0, application/json', true],
    ['text/html;q=0.9, application/*;q=0', false],
    ['application/ld+json', false]
  ])('Accept: %s → %s', (accept, ok) => {
    expect(acceptsJSON(accept)).toBe(ok)
  })
})

describe('parseProtocolMap', () => {
  it('reads the flat map that go-libp2p and @libp2p/http serve', () => {
    expect(parseProtocolMap('{"/kv/1.0.0":{"path":"/kv/"},"/ipfs/gateway":{"path":"/"}}', 'p')).toEqual({
      '/kv/1.0.0': { path: '/kv/' },
      '/ipfs/gateway': { path: '/' }
    })
  })

  it('unwraps the spec\'s {"protocols": …} shape, also next to flat entries', () => {
    expect(parseProtocolMap('{"protocols":{"/kad/1.0.0":{"path":"/kademlia/"}}}', 'p')).toEqual({ '/kad/1.0.0': { path: '/kademlia/' } })
    expect(parseProtocolMap('{"protocols":{"/a":{"path":"/a/"}},"/a":{"path":"/a/"}}', 'p')).toEqual({ '/a': { path: '/a/' } })
    expect(parseProtocolMap('{"protocols":{}}', 'p')).toEqual({})
    // both shapes at once: nothing is dropped, the wrapped entry wins a conflict
    expect(parseProtocolMap('{"protocols":{"/a":{"path":"/a/"}},"/b":{"path":"/b/"}}', 'p')).toEqual({ '/a': { path: '/a/' }, '/b': { path: '/b/' } })
    expect(parseProtocolMap('{"protocols":{"/a":{"path":"/new/"}},"/a":{"path":"/old/"}}', 'p')).toEqual({ '/a': { path: '/new/' } })
  })

  it('keeps only paths, freezes the result, and treats "__proto__" as a plain key', () => {
    const map = parseProtocolMap('{"/a":{"path":"/a/","extra":1},"__proto__":{"path":"/p/"}}', 'p')
    expect(map['/a']).toEqual({ path: '/a/' })
    expect(Object.isFrozen(map)).toBe(true)
    expect(Object.isFrozen(map['/a'])).toBe(true)
    expect(Object.hasOwn(map, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype)
  })

  it.each([
    ['not JSON', '{"/a":{"path":"/a/"},}'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"x"']
  ])('refuses %s with ERR_INVALID_PROTOCOL_MAP', (_what, text) => {
    const err = caught(() => parseProtocolMap(text, 'peer-x'))
    expect(err).toBeInstanceOf(InvalidProtocolMapError)
    expect(err).toMatchObject({ code: 'ERR_INVALID_PROTOCOL_MAP', target: 'peer-x' })
  })

  it.each([
    ['an entry without path', '{}', 'has no string "path"'],
    ['a numeric path', '{"path":1}', 'has no string "path"'],
    ['a relative path', '{"path":"b/"}', 'is not absolute'],
    ['an entry that is a string', '"/b/"', 'has no string "path"']
  ])('a map with one bad entry (%s) keeps the good ones and reports the bad one (go keeps them too)', (_what, bad, reason) => {
    const map = parseProtocolMap(`{"/a":{"path":"/a/"},"/b":${bad},"/c":{"path":"/c/"}}`, 'peer-x')
    expect(map).toEqual({ '/a': { path: '/a/' }, '/c': { path: '/c/' } })
    expect(invalidEntriesOf(map)).toEqual([{ protocol: '/b', reason: expect.stringContaining(reason) }])
    expect(invalidEntriesOf(parseProtocolMap('{"/a":{"path":"/a/"}}', 'p'))).toEqual([])
  })

  it('validateProtocolMap checks maps given by hand the same way', () => {
    expect(validateProtocolMap({ '/a': { path: '/a/' } }, 'p')).toEqual({ '/a': { path: '/a/' } })
    expect(() => validateProtocolMap({ '/a': { path: 'a' } }, 'p')).toThrow(InvalidProtocolMapError)
    expect(() => validateProtocolMap({ '/a': { path: '/a/' }, '/b': {} }, 'p')).toThrow(InvalidProtocolMapError)
  })
})

describe('serving', () => {
  it('serialises the flat map as UTF-8, so Content-Length counts bytes', () => {
    const body = serializeProtocolMap({ '/ünï/1': { path: '/u/' } })
    expect(new TextDecoder().decode(body)).toBe('{"/ünï/1":{"path":"/u/"}}')
    expect(body.byteLength).toBe('{"/ünï/1":{"path":"/u/"}}'.length + 2) // ü and ï are two bytes each
  })

  it('answers at the current and the legacy path only', () => {
    expect(isWellKnownPath('/.well-known/libp2p/protocols')).toBe(true)
    expect(isWellKnownPath('/.well-known/libp2p')).toBe(true)
    expect(isWellKnownPath('/.well-known/libp2p/protocols/')).toBe(false)
    expect(isWellKnownPath('/.well-known/libp2p.json')).toBe(false)
  })
})
