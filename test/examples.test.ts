import { expect, it } from 'vitest'
import { main } from '../examples/demo/index.js'
import { main as cache } from '../examples/cache/index.js'
import { main as llmTunnel } from '../examples/llm-tunnel/index.js'
import { main as native } from '../examples/native/index.js'
import { main as peerAuth } from '../examples/peer-auth/index.js'
import { main as relay } from '../examples/relay/index.js'
import { main as service } from '../examples/service/index.js'

it('the demo runs and does what it says', async () => {
  const lines: string[] = []
  await main(line => lines.push(line))
  expect(lines[0]).toMatch(/^server peer 12D3\w+ listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3\w+$/)
  expect(lines[2]).toMatch(/^ {2}200 from 12D3\w+: \{"greeting":"hello world","you":"12D3\w+"\}$/)
  expect(lines[4]).toBe('  200: ptth ❤ p2pbil')
})

it('the native example serves one handler over both transports', async () => {
  const lines: string[] = []
  await native(line => lines.push(line))
  expect(lines[0]).toMatch(/^server address \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3\w+$/)
  expect(lines[1]).toMatch(/^server address \/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/http\/p2p\/12D3\w+$/)
  expect(lines[3]).toMatch(/^ {2}200 over stream: GET \/hi from 12D3\w+$/)
  expect(lines[5]).toBe('  200 over native: GET /hi from an unauthenticated HTTPS client')
  expect(lines[6]).toMatch(/^GET \[HTTPS address, stream address\]: stream \(rule 3/)
})

it('the peer-auth example proves both peers over HTTPS', async () => {
  const lines: string[] = []
  await peerAuth(line => lines.push(line))
  const server = /^server (12D3\w+) at \/dns4\/localhost\/tcp\/\d+\/tls\/http\/p2p\/(12D3\w+)$/.exec(lines[0])
  expect(server?.[1]).toBe(server?.[2])
  expect(lines[1]).toBe(`  200 over native, server proven: ${server?.[1] ?? ''}`)
  const client = /^ {2}client is (12D3\w+)$/.exec(lines[3])?.[1]
  expect(lines[2]).toBe(`  body: hello ${client ?? 'missing'}`)
})

it('the LLM tunnel example streams a fake model through serve + proxy', async () => {
  const lines: string[] = []
  await llmTunnel(line => lines.push(line))
  expect(lines[0]).toMatch(/^fake LLM at http:\/\/127\.0\.0\.1:\d+$/)
  expect(lines[3]).toBe('200 text/event-stream')
  expect(lines[4]).toBe('6 events: Hello from the other peer.')
})

it('the relay example serves and fetches through a circuit relay', async () => {
  const lines: string[] = []
  await relay(line => lines.push(line))
  const relayAddr = /^relay (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3\w+)$/.exec(lines[0])?.[1]
  expect(relayAddr).toBeDefined()
  const provider = new RegExp(`^provider reserved ${relayAddr ?? 'missing'}/p2p-circuit/p2p/(12D3\\w+)$`).exec(lines[1])?.[1]
  expect(provider).toBeDefined()
  expect(lines[3]).toMatch(new RegExp(`^ {2}200 from ${provider ?? 'missing'}: hello 12D3\\w+, relayed$`))
  expect(lines[4]).toBe("  the consumer's connection is relayed (limited)")
})

it('the cache example reads the peer once for three requests (undici\'s cache over host.dispatcher)', async () => {
  const lines: string[] = []
  await cache(line => lines.push(line))
  const first = /^200 (read #1 at \S+) \(age -\)$/.exec(lines[0])?.[1]
  expect(first).toBeDefined()
  expect(lines[1]).toMatch(new RegExp(`^200 ${first ?? 'missing'} \\(age \\d+\\)$`))
  expect(lines[2]).toMatch(new RegExp(`^200 ${first ?? 'missing'} \\(age \\d+\\)$`))
  expect(lines[3]).toBe('the peer was asked 1 time(s)')
})

it('the service example serves, discovers, pings and restarts through node.services.http', async () => {
  const lines: string[] = []
  await service(line => lines.push(line))
  const server = /^server (12D3\w+) at \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/(12D3\w+)$/.exec(lines[0])
  expect(server?.[1]).toBe(server?.[2])
  expect(lines[1]).toBe('  protocols: /greet/1, /http-ping/1')
  expect(lines[2]).toBe('  200 /greet/1: {"greeting":"hello libp2p"}')
  const client = /^ {2}client is (12D3\w+)$/.exec(lines[4])?.[1]
  expect(lines[3]).toBe(`  200 /: you are ${client ?? 'missing'}`)
  expect(lines[5]).toBe('  HTTP ping answered (round trip measured)')
  expect(lines.slice(6)).toEqual([
    'server stopped: /http/1.1 handled: false',
    'server started: /http/1.1 handled: true',
    '  200 /greet/1: {"greeting":"hello again"}'
  ])
})
