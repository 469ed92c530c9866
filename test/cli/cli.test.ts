/**
 * The command line in-process: usage errors are exit 2 with one line and a pointer to the command's
 * --help, before anything is created (no key file, no node).
 */
import { describe, expect, it } from 'vitest'
import { integer, parse } from '../../src/cli/args.js'
import { runCLI } from '../../src/cli/cli.js'
import type { CommandIO } from '../../src/cli/commands/io.js'

async function run (...argv: string[]): Promise<{ code: number, out: string, err: string }> {
  const out: string[] = []
  const err: string[] = []
  const io: CommandIO = { out: l => out.push(l), err: l => err.push(l), env: { LIBP2PHTTP_KEY: '/nonexistent/never-written' } }
  const code = await runCLI(argv, io)
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('runCLI', () => {
  it('no command: the usage, exit 2; --help: exit 0; an unknown command: exit 2', async () => {
    expect((await run()).code).toBe(2)
    const help = await run('--help')
    expect(help.code).toBe(0)
    expect(help.out).toMatch(/libp2phttp serve/)
    expect((await run('frobnicate')).err).toMatch(/unknown command frobnicate/)
  })

  it.each([
    [['serve', '--upstream', 'http://127.0.0.1:1'], /--allow PEER \(repeatable\) or --allow-any/],
    [['serve', '--upstream', 'http://127.0.0.1:1', '--allow', 'not-a-peer'], /--allow: not a peer id/],
    [['serve', '--upstream', 'http://127.0.0.1:1', '--allow-any', '--allow', '12D3KooWE3bfpUxxV7vusvSvg3W8RpJgcZLiqfaXRr4dq1BYLMzd'], /exclude each other/],
    [['serve', '--allow-any'], /--upstream URL or --exit/],
    [['serve', '--upstream', 'ftp://x', '--allow-any'], /http\(s\) URL/],
    [['serve', '--exit', '--allow-any', '--allow-egress', '10.0.0.0/99'], /--allow-egress/],
    [['serve', '--upstream', 'http://127.0.0.1:1', '--allow-any', '--listen', '/ip4/127.0.0.1/tcp/0/tls/http'], /--tls-key and --tls-cert/],
    [['proxy'], /--to MULTIADDR/],
    [['proxy', '--to', '/ip4/127.0.0.1/tcp/1'], /--to \/ip4\/127\.0\.0\.1\/tcp\/1: add the provider's peer id: …\/p2p\/<peer id>/],
    [['proxy', '--to', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWE3bfpUxxV7vusvSvg3W8RpJgcZLiqfaXRr4dq1BYLMzd', '--port', 'x'], /--port must be/],
    [['proxy', '--to', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWE3bfpUxxV7vusvSvg3W8RpJgcZLiqfaXRr4dq1BYLMzd', '--forward', '--protocol', '/x'], /no --protocol/],
    [['fetch'], /needs a URL/],
    [['fetch', 'multiaddr:/x', '-H', 'no colon'], /Name: value/],
    [['id', '--bogus'], /^libp2phttp id: unknown option --bogus \(see libp2phttp id --help\)$/],
    [['id', 'extra'], /unexpected argument: extra/]
  ])('%j → exit 2', async (argv, message) => {
    const got = await run(...argv)
    expect(got.code).toBe(2)
    expect(got.err).toMatch(message)
    // one line, the usage one --help away
    expect(got.err.split('\n')).toHaveLength(1)
    expect(got.err).toMatch(/\(see libp2phttp \w+ --help\)$/)
  })
})

describe('args', () => {
  it('integer options', () => {
    expect(integer('port', undefined, 8000)).toBe(8000)
    expect(integer('port', '0', 8000)).toBe(0)
    expect(() => integer('port', '-1', 8000)).toThrow(/--port must be a non-negative integer/)
    expect(() => integer('port', '1.5', 8000)).toThrow(/--port/)
  })

  it('parse: repeatable options and positionals', () => {
    const { values, positionals } = parse(['a', '--x', '1', '--x', '2'], { x: { type: 'string', multiple: true } })
    expect(values.x).toEqual(['1', '2'])
    expect(positionals).toEqual(['a'])
  })
})
