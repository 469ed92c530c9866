import { describe, expect, it } from 'vitest'
import { parseGatewayPath } from '../../src/proxy/gateway.js'

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
