import { describe, expect, it } from 'vitest'
import { gatewayLocation, parseGatewayPath } from '../../src/proxy/gateway.js'

const peer = '12D3KooWE3bfpUxxV7vusvSvg3W8RpJgcZLiqfaXRr4dq1BYLMzd'

describe('parseGatewayPath', () => {
  it.each([
    [`/p2p/${peer}`, undefined, '/'],
    [`/p2p/${peer}/`, undefined, '/'],
    [`/p2p/${peer}/a/b?x=1&y=%2F`, undefined, '/a/b?x=1&y=%2F'],
    [`/p2p/${peer}/http`, undefined, '/'],
    [`/p2p/${peer}/http/a?x=1`, undefined, '/a?x=1'],
    [`/p2p/${peer}/httpx/a`, undefined, '/httpx/a'],
    [`/p2p/${peer}/x/kv/http/keys/a?x=1`, '/x/kv', '/keys/a?x=1'],
    [`/p2p/${peer}/x/llm/1/http/v1/models`, '/x/llm/1', '/v1/models'],
    [`/p2p/${peer}/x/llm/1/http`, '/x/llm/1', '/'],
    [`/p2p/${peer}/x/llm/1/v1`, undefined, '/x/llm/1/v1']
  ])('%s', (url, protocol, target) => {
    const parsed = parseGatewayPath(url)
    expect(parsed?.peer.toString()).toBe(peer)
    expect(parsed?.protocol).toBe(protocol)
    expect(parsed?.target).toBe(target)
  })

  it('not a gateway path: undefined; a bad peer id: TypeError', () => {
    expect(parseGatewayPath('/ipfs/x')).toBeUndefined()
    expect(parseGatewayPath('/p2p')).toBeUndefined()
    expect(() => parseGatewayPath('/p2p/nope/x')).toThrow(TypeError)
  })
})

describe('gatewayLocation: a peer\'s redirect stays under /p2p/<peer>/', () => {
  const peerOrigin = 'http://peer.example'
  const at = (gatewayPath: string, base: string, request: string) => {
    const path = parseGatewayPath(gatewayPath)
    if (path == null) throw new Error(gatewayPath)
    return { path, base: new URL(base, peerOrigin), request: new URL(request, peerOrigin), gatewayOrigin: 'http://127.0.0.1:8080' }
  }
  const root = at(`/p2p/${peer}/docs/a`, '/', '/docs/a')
  const rootHttp = at(`/p2p/${peer}/http/docs/a`, '/', '/docs/a')
  const named = at(`/p2p/${peer}/x/web/http/docs/a`, '/x/web/', '/x/web/docs/a')
  it.each([
    ['absolute-path', root, '/hello', `/p2p/${peer}/hello`],
    ['relative', root, 'b?x=1#top', `/p2p/${peer}/docs/b?x=1#top`],
    ['dot segments stop at the peer root', root, '../../../up', `/p2p/${peer}/up`],
    ['the host\'s own mount redirect', at(`/p2p/${peer}/x/web`, '/', '/x/web'), '/x/web/', `/p2p/${peer}/x/web/`],
    ['absolute at the peer\'s origin', root, `${peerOrigin}/hello?q`, `/p2p/${peer}/hello?q`],
    ['absolute at the gateway\'s origin, outside /p2p/', root, 'http://127.0.0.1:8080/hello', `/p2p/${peer}/hello`],
    ['the /http form is kept', rootHttp, '/hello', `/p2p/${peer}/http/hello`],
    ['a root path that reads as a gateway form gets the /http form', root, '/http/x', `/p2p/${peer}/http/http/x`],
    ['a root path like a protocol form gets the /http form', root, '/x/a/http/b', `/p2p/${peer}/http/x/a/http/b`],
    ['below the protocol: its form', named, '/x/web/hello', `/p2p/${peer}/x/web/http/hello`],
    ['relative below the protocol', named, 'c', `/p2p/${peer}/x/web/http/docs/c`],
    ['the protocol path itself', named, '/x/web', `/p2p/${peer}/x/web/http/`],
    ['elsewhere on the peer: its root', named, '/other', `/p2p/${peer}/other`]
  ])('%s', (_name, context, value, moved) => {
    expect(gatewayLocation(value, context)).toBe(moved)
    // and the gateway reads it back as the same place
    const back = parseGatewayPath(moved.replace(/#.*/, ''))
    expect(back?.peer.toString()).toBe(peer)
  })

  it.each([
    ['another site', 'https://elsewhere.example/x'],
    ['another port of the peer\'s host', 'http://peer.example:8081/x'],
    ['a gateway path already', 'http://127.0.0.1:8080/p2p/12D3KooWOther/x'],
    ['another scheme', 'mailto:someone@example.org'],
    ['not a URL', 'http://[oops']
  ])('left alone: %s', (_name, value) => {
    expect(gatewayLocation(value, root)).toBe(value)
  })
})
