/**
 * `libp2phttp fetch` and `Content-Encoding` (issue 14): the README promises the bytes as sent, but the
 * command wrote 268 435 456 bytes of a 260 934-byte gzip bomb. Real command processes against a real peer
 * in this process that serves the bomb.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCLI } from '../helpers/cli.js'
import { gzipBomb } from '../helpers/gzip-bomb.js'
import { createPeer, stopPeers, uriOf } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'

let dir: string
let server: Peer
let bomb: Buffer

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-cli-fetch-'))
  bomb = await gzipBomb()
  server = await createPeer()
  server.host.serve((req, res) => {
    if (req.url === '/bomb') {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb)
    } else if (req.url === '/accept-encoding') {
      res.end(`${req.headers['accept-encoding'] ?? '(none)'}\n`)
    } else {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('hello, decoded\n'))
    }
  })
})
afterAll(async () => {
  await stopPeers(server)
  await rm(dir, { recursive: true, force: true })
})

// an empty HOME: an ephemeral identity, whatever key the machine has
const run = async (args: string[]): Promise<{ code: number | null, out: string[], err: string[] }> => await runCLI(['fetch', ...args], { HOME: dir }, 60_000)

describe('libp2phttp fetch and Content-Encoding', () => {
  it('-o writes a gzip bomb byte for byte as sent, not decoded', async () => {
    const file = join(dir, 'bomb.gz')
    const { code, err } = await run([uriOf(server, '/bomb'), '-o', file])
    expect(err.join('\n')).toBe('')
    expect(code).toBe(0)
    expect((await stat(file)).size).toBe(bomb.length)
    expect((await readFile(file)).equals(bomb)).toBe(true)
  })

  it('asks for Accept-Encoding: identity without --compressed, gzip and deflate with it; -H wins', async () => {
    const [plain, compressed, own] = await Promise.all([
      run([uriOf(server, '/accept-encoding')]),
      run([uriOf(server, '/accept-encoding'), '--compressed']),
      run([uriOf(server, '/accept-encoding'), '--compressed', '-H', 'Accept-Encoding: br'])
    ])
    expect(plain.out.join('\n')).toBe('identity')
    expect(compressed.out.join('\n')).toBe('gzip, deflate')
    expect(own.out.join('\n')).toBe('br')
  })

  it('--compressed writes the body decoded', async () => {
    const { code, out } = await run([uriOf(server, '/hello'), '--compressed'])
    expect(code).toBe(0)
    expect(out.join('\n')).toBe('hello, decoded')
  })

  it('--compressed --max-filesize stops the bomb: exit 63, no more than the bound written', async () => {
    const file = join(dir, 'bomb.out')
    const { code, err } = await run([uriOf(server, '/bomb'), '--compressed', '--max-filesize', String(1024 * 1024), '-o', file])
    expect(code).toBe(63)
    expect(err.join('\n')).toMatch(/ERR_RESPONSE_BODY_TOO_LARGE/)
    expect((await stat(file)).size).toBeLessThanOrEqual(1024 * 1024)
  })
})
