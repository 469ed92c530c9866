import { expect, it } from 'vitest'
import { main } from '../examples/demo/index.js'

it('the demo runs and does what it says', async () => {
  const lines: string[] = []
  await main(line => lines.push(line))
  expect(lines[0]).toMatch(/^server peer 12D3\w+ listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3\w+$/)
  expect(lines[2]).toMatch(/^ {2}200 from 12D3\w+: \{"greeting":"hello world","you":"12D3\w+"\}$/)
  expect(lines[4]).toBe('  200: ptth ❤ p2pbil')
})
