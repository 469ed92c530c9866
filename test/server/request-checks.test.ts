import { createServer } from 'node:http'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { proxyTo } from '../../src/proxy/upstream.js'
import { hasDotSegment, originForm, pathBelow } from '../../src/server/request-checks.js'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

describe('hasDotSegment', () => {
  it.each([
    '/..', '/../a', '/a/..', '/a/../b', '/.', '/a/./b', '/%2e%2e/a', '/%2E%2E/a', '/.%2e/a', '/%2E./a', '/%2e/a',
    '/..;x=1/a', '/a/..;/b', '/..%3bx/a', '/a/..%2fb', '/a/..%2Fb', '/a/..%5cb', '/a/..\\b', '/a\\..\\b', '..', '.'
  ])('%s has one', (path) => {
    expect(hasDotSegment(path)).toBe(true)
  })

  it.each(['/', '/a', '/a/b/', '/..a', '/a..', '/a/.b', '/a/b.', '/...', '/.../a', '/%2e%2e%2e', '/a;..', '/a%2e%2e'])('%s has none', (path) => {
    expect(hasDotSegment(path)).toBe(false)
  })

  it('agrees with the rule read segment by segment, on any path made of the characters that matter', () => {
    // the rule as the module comment states it: split at every separator, drop `;` parameters, decode `%2e`
    const bySegment = (path: string): boolean => path.split(/\/|\\|%2f|%5c/i).some((segment) => {
      const name = segment.split(/;|%3b/i, 1)[0].replace(/%2e/gi, '.')
      return name === '.' || name === '..'
    })
    const piece = fc.constantFrom('/', '\\', '.', '%2e', '%2E', '%2f', '%2F', '%5c', '%5C', ';', '%3b', '%3B', 'a', '%', '2', 'e')
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }).map(p => p.join('')), (path) => hasDotSegment(path) === bySegment(path)), { numRuns: 20_000 })
  })
})

describe('originForm', () => {
  it('keeps an origin-form target without dot segments as it is', () => {
    expect(originForm('/a/b?x=/../y', 'h')).toEqual({ target: '/a/b?x=/../y' })
  })

  it('serves absolute-form for the Host it is sent to as its origin-form', () => {
    expect(originForm('http://H:80/a?q', 'h')).toEqual({ target: '/a?q' })
    expect(originForm('http://h', 'h')).toEqual({ target: '/' })
    expect(originForm('https://h:8443?q', 'h:8443')).toEqual({ target: '/?q' })
  })

  it.each([
    ['absolute-form for another host', 'http://elsewhere.example/x', 'h'],
    ['absolute-form with another port', 'http://h:81/x', 'h'],
    ['absolute-form without a Host', 'http://h/x', undefined],
    ['absolute-form with userinfo', 'http://u@h/x', 'elsewhere'],
    ['asterisk-form', '*', 'h'],
    ['authority-form', 'h:443', 'h'],
    ['another scheme', 'ftp://h/x', 'h'],
    ['a dot segment', '/a/../b', 'h'],
    ['a dot segment in absolute-form', 'http://h/a/%2e%2e/b', 'h'],
    ['a fragment hiding dot segments (Go keeps # in the path and cleans the ..)', '/x#/../../admin', 'h'],
    ['a fragment', '/a#b', 'h']
  ])('refuses %s', (_name, target, host) => {
    expect(originForm(target, host)).toHaveProperty('refusal')
  })
})

describe('pathBelow', () => {
  it('appends an origin-form target to the base', () => {
    expect(pathBelow('/public', '/a/b?q')).toBe('/public/a/b?q')
    expect(pathBelow('', '/a')).toBe('/a')
  })

  it.each(['/../admin', '/%2e%2e/admin', '/a/..;/..;/admin', '/x#/../../admin', 'http://elsewhere/x', '*', 'a'])('refuses %s', (target) => {
    expect(pathBelow('/public', target)).toBeUndefined()
  })
})

describe('proxyTo behind a server that does not check targets', () => {
  const servers: Server[] = []
  afterEach(() => { for (const s of servers.splice(0)) { s.closeAllConnections(); s.close() } })

  it('answers 400 to a target that would leave the base path; the upstream sees nothing (defence in depth)', async () => {
    const reached: string[] = []
    const upstream = createServer((req, res) => { reached.push(req.url ?? ''); res.end('ok') })
    const front = createServer(proxyTo(`http://127.0.0.1:${await listen(upstream)}/public/`))
    const port = await listen(front)
    servers.push(upstream, front)
    for (const target of ['/../admin/secret.txt', '/%2e%2e/admin', '/a/..;/..;/admin', '/x#/../../admin']) {
      const text = await raw(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      expect(text, target).toMatch(/^HTTP\/1\.1 400 /)
    }
    expect(reached).toEqual([])
    expect(await raw(port, 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /)
    expect(reached).toEqual(['/public/ok'])
  })
})

async function listen (server: Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** Write `request` on a plain TCP socket and read until the server closes. */
async function raw (port: number, request: string): Promise<string> {
  const { connect } = await import('node:net')
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write(request) })
    let text = ''
    socket.on('data', (c: Buffer) => { text += c.toString('latin1') })
    socket.on('end', () => { resolve(text) })
    socket.on('error', reject)
  })
}
