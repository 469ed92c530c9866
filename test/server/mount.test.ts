import { describe, expect, it } from 'vitest'
import { MountTable, mountPath, parseRequestTarget } from '../../src/server/mount.js'
import { InvalidMountError, MountConflictError } from '../../src/index.js'
import { caught } from '../helpers/caught.js'

function table (): MountTable<string> {
  const t = new MountTable<string>()
  t.setRoot('root')
  t.add('/kv/1.0.0', undefined, 'kv')
  t.add('/kv-admin/1.0.0', '/kv/1.0.0/admin', 'admin')
  t.add('/blobs/1', '/b', 'blobs')
  return t
}

function served (t: MountTable<string>, target: string): { value?: string, url?: string, location?: string } {
  const parsed = parseRequestTarget(target)
  if (parsed == null) throw new Error(`unparsable ${target}`)
  const m = t.match(parsed)
  if (m.kind === 'mount') return { value: m.mount.value, url: m.url }
  if (m.kind === 'redirect') return { location: m.location }
  return {}
}

describe('mountPath', () => {
  it('defaults to the protocol id and always ends in /', () => {
    expect(mountPath('/kv/1.0.0')).toBe('/kv/1.0.0/')
    expect(mountPath('/kv/1.0.0/')).toBe('/kv/1.0.0/')
    expect(mountPath('/x', '/custom')).toBe('/custom/')
    expect(mountPath('/x', '/')).toBe('/')
    expect(mountPath('/x', '/%C3%BC/')).toBe('/%C3%BC/')
  })

  it('refuses ids and paths it cannot serve, with ERR_INVALID_MOUNT', () => {
    for (const [protocol, path] of [
      ['', undefined],
      ['/has space', undefined],
      ['no-slash', undefined],
      ['/x', 'relative/'],
      ['/x', '/a/../b/'],
      ['/x', '/a/./b/'],
      ['/x', '/q?x=1'],
      ['/x', '/f#frag'],
      ['/x', '/ü/'],
      ['/x', '/a b/'],
      ['/x', '//a/'],
      ['/x', '/a\\b/']
    ] as Array<[string, string | undefined]>) {
      const error = caught(() => mountPath(protocol, path))
      expect(error, `${protocol} ${String(path)}`).toBeInstanceOf(InvalidMountError)
      expect(error).toMatchObject({ code: 'ERR_INVALID_MOUNT', protocol })
    }
  })

  it('suggests the encoded form of a path that only needs encoding', () => {
    expect(() => mountPath('/x', '/ü/')).toThrow('did you mean "/%C3%BC/"?')
    expect(() => mountPath('/x', '//a/')).not.toThrow('did you mean')
  })
})

describe('MountTable.match', () => {
  it('strips the prefix (minus its trailing slash) and keeps the query', () => {
    expect(served(table(), '/kv/1.0.0/keys/a?x=1')).toEqual({ value: 'kv', url: '/keys/a?x=1' })
    expect(served(table(), '/kv/1.0.0/')).toEqual({ value: 'kv', url: '/' })
    expect(served(table(), '/b/c')).toEqual({ value: 'blobs', url: '/c' })
  })

  it('the most specific prefix wins, whatever the order of mounting', () => {
    expect(served(table(), '/kv/1.0.0/admin/users')).toEqual({ value: 'admin', url: '/users' })
    expect(served(table(), '/kv/1.0.0/administrator')).toEqual({ value: 'kv', url: '/administrator' })
  })

  it('the root handler gets what no prefix matches, with the target unchanged', () => {
    expect(served(table(), '/other?y')).toEqual({ value: 'root', url: undefined })
    expect(served(table(), '/kv/1.0.01/x')).toEqual({ value: 'root', url: undefined })
    expect(served(table(), '/bx')).toEqual({ value: 'root', url: undefined })
  })

  it('redirects the prefix without its trailing slash to the slash form, query kept', () => {
    expect(served(table(), '/kv/1.0.0')).toEqual({ location: '/kv/1.0.0/' })
    expect(served(table(), '/kv/1.0.0/admin?a=1')).toEqual({ location: '/kv/1.0.0/admin/?a=1' })
    expect(served(table(), '/b')).toEqual({ location: '/b/' })
  })

  it('matches the path as a URL parser resolves it: dot segments cannot reach or leave a mount', () => {
    expect(served(table(), '/x/../kv/1.0.0/keys')).toEqual({ value: 'kv', url: '/keys' })
    expect(served(table(), '/kv/1.0.0/../admin')).toEqual({ value: 'root', url: undefined })
    expect(served(table(), '/kv/1.0.0/%2e%2e/x')).toEqual({ value: 'root', url: undefined })
    expect(served(table(), '/kv%2F1.0.0/keys')).toEqual({ value: 'root', url: undefined })
  })

  it('a raw path with dot segments is never handed on: the handler gets the resolved path (issue 14)', () => {
    // `/kv/1.0.0/../1.0.0/x` starts with the prefix literally; its raw rest `/../1.0.0/x` would climb
    // out of an upstream's base path
    expect(served(table(), '/kv/1.0.0/../1.0.0/x')).toEqual({ value: 'kv', url: '/x' })
    expect(served(table(), '/kv/1.0.0/x/%2e/y?q')).toEqual({ value: 'kv', url: '/x/y?q' })
  })

  it('absolute-form targets are matched by their path', () => {
    expect(served(table(), 'http://example.com/kv/1.0.0/k?q')).toEqual({ value: 'kv', url: '/k?q' })
  })

  it('without a root handler, unmatched requests match nothing', () => {
    const t = new MountTable<string>()
    t.add('/a', undefined, 'a')
    expect(t.match({ pathname: '/b', search: '' })).toEqual({ kind: 'none' })
  })
})

describe('MountTable mounts', () => {
  it('lists named mounts only, in the flat well-known shape', () => {
    expect(table().protocolMap()).toEqual({
      '/kv/1.0.0': { path: '/kv/1.0.0/' },
      '/kv-admin/1.0.0': { path: '/kv/1.0.0/admin/' },
      '/blobs/1': { path: '/b/' }
    })
  })

  it('a protocol id such as __proto__ stays a plain key', () => {
    const t = new MountTable<string>()
    t.add('__proto__', '/p', 'p')
    const map = t.protocolMap()
    expect(Object.hasOwn(map, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype)
  })

  it('refuses a second mount of a protocol, or a second protocol at a path, with ERR_MOUNT_CONFLICT', () => {
    const t = table()
    expect(() => t.add('/kv/1.0.0', '/elsewhere', 'again')).toThrow(MountConflictError)
    expect(() => t.add('/other/1', '/kv/1.0.0', 'other')).toThrow(/protocol \/kv\/1\.0\.0 is mounted there/)
    expect(() => t.add('/gateway', '/', 'gw')).toThrow(/root handler/)
    expect(caught(() => t.add('/other/1', '/b/', 'x'))).toMatchObject({ code: 'ERR_MOUNT_CONFLICT', protocol: '/other/1', path: '/b/' })
  })

  it('a protocol mounted at / and a root handler exclude each other', () => {
    const t = new MountTable<string>()
    t.add('/ipfs/gateway', '/', 'gw')
    expect(() => { t.setRoot('root') }).toThrow(MountConflictError)
    expect(t.match({ pathname: '/ipfs/x', search: '' })).toMatchObject({ kind: 'mount', url: undefined, mount: { value: 'gw' } })
  })

  it('setRoot replaces the previous root handler', () => {
    const t = table()
    t.setRoot('root2')
    expect(served(t, '/x')).toEqual({ value: 'root2', url: undefined })
  })

  it('remove drops exactly that protocol', () => {
    const t = table()
    expect(t.remove('/kv/1.0.0')).toBe(true)
    expect(t.remove('/kv/1.0.0')).toBe(false)
    expect(served(t, '/kv/1.0.0/keys')).toEqual({ value: 'root', url: undefined })
    expect(served(t, '/kv/1.0.0/admin/x')).toEqual({ value: 'admin', url: '/x' })
    expect(Object.keys(t.protocolMap())).toEqual(['/kv-admin/1.0.0', '/blobs/1'])
    t.add('/kv/1.0.0', '/b2', 'kv again')
    expect(served(t, '/b2/k')).toEqual({ value: 'kv again', url: '/k' })
  })
})

describe('matching cannot be sidestepped by spelling (go ServeMux semantics)', () => {
  function nested (): MountTable<string> {
    const t = new MountTable<string>()
    t.setRoot('root')
    t.add('/api', '/api/', 'api')
    t.add('/admin', '/api/admin/', 'admin')
    return t
  }

  it('escapes of unreserved characters are decoded before matching', () => {
    expect(served(nested(), '/api/%61dmin/secret')).toEqual({ value: 'admin', url: '/secret' })
    expect(served(nested(), '/api/%2e%2E/api/admin/x')).toEqual({ value: 'admin', url: '/x' })
  })

  it('empty segments are redirected to the clean path, query kept', () => {
    expect(served(nested(), '/api//admin/secret?x=1')).toEqual({ location: '/api/admin/secret?x=1' })
  })

  it('%2F stays one segment, as in Go', () => {
    expect(served(nested(), '/api/admin%2Fsecret')).toEqual({ value: 'api', url: '/admin%2Fsecret' })
  })

  it('the handler gets the raw query and path bytes after the prefix', () => {
    expect(served(nested(), "/api/x?q='a'&sig=\"s\"")).toEqual({ value: 'api', url: "/x?q='a'&sig=\"s\"" })
    expect(served(nested(), '/api/{x}')).toEqual({ value: 'api', url: '/{x}' })
    expect(served(nested(), '/api/x?')).toEqual({ value: 'api', url: '/x?' })
  })
})

describe('parseRequestTarget', () => {
  /** What the URL parser makes of an origin-form target without `%` (escapes it adds are canonical already). */
  function parsed (target: string): { pathname: string, search: string, raw: string } {
    const url = new URL(`http://h${target}`)
    return { pathname: url.pathname, search: url.search, raw: target }
  }

  it('issue 21: targets taken as they are (without the URL parser) read exactly as the parser reads them', () => {
    const chars = [...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)), '\t', '\u0000', '\u007f', 'é', '\u{1F600}'].filter(c => c !== '%' && c !== '#')
    const targets: string[] = ['/', '/a', '/a/b/', '//x', '/a?', '/a??', '/a?b?c', '/a?/../b', '/.', '/..', '/a/.', '/a/..', '/a/./b', '/a/../b', '/.a', '/a.', '/..a', '/a/...', '/;', '/.;x', '/a\\b']
    for (const c of chars) {
      targets.push(`/a${c}b`, `/${c}`, `/a?${c}`, `/a?b${c}c`, `/${c}${c}/x`, `/.${c}`, `/..${c}/`, `/a/${c}./b`, `/${c}?${c}`)
    }
    // and random ones, mostly of the characters that matter: separators, dots, the query
    let seed = 21
    const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
    const alphabet = ['/', '/', '.', '.', '?', 'a', '=', '&', ';', "'", ':', '@', '~', '\\', ' ', '"', '{', '^', '`', '|', '[', '!', '$', '(', '*', ',', '+']
    for (let i = 0; i < 5000; i++) {
      targets.push(`/${Array.from({ length: random(10) }, () => alphabet[random(alphabet.length)]).join('')}`)
    }
    const wrong = targets.filter(t => JSON.stringify(parseRequestTarget(t)) !== JSON.stringify(parsed(t)))
    expect(wrong.map(t => ({ target: t, got: parseRequestTarget(t), parser: parsed(t) }))).toEqual([])
  })
})
