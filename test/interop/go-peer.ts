/**
 * The go-libp2p peer of the interop tests (`test/interop/go/`): built once per version into a cache
 * directory, run as a child process, driven by JSON lines on stdin, answering on stdout.
 *
 * The binary lives in `$XDG_CACHE_HOME/libp2phttp/interop-go/<go-libp2p version>-<hash>/peer` (else
 * `~/.cache/…`), the hash covering the program's sources, `go.mod`, `go.sum` and the Go version: a
 * second run does not build again, any change does. Modules come from the Go module proxy
 * (`GOFLAGS=-mod=readonly`: `go.sum` must already cover them).
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cacheRoot, run, startLinePeer } from './child-peer.js'
import type { LinePeer } from './child-peer.js'

/** The go-libp2p release the peer is built against (as pinned in `test/interop/go/go.mod`). */
export const GO_LIBP2P_VERSION = 'v0.52.0'

const SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'go')
const BUILD_TIMEOUT = 10 * 60_000

/** Why the Go tests cannot run here (`go` is not on PATH), or undefined when they can. */
export async function goMissing (): Promise<string | undefined> {
  try {
    await run('go', ['version'], { timeout: 30_000 })
    return undefined
  } catch (err) {
    return `go is not on PATH (${(err as Error).message.split('\n')[0]})`
  }
}

/** The path of the built peer, building it first unless this version is in the cache already. */
export async function goPeerBinary (): Promise<string> {
  const hash = createHash('sha256')
  hash.update(await run('go', ['env', 'GOVERSION'], { timeout: 30_000 }))
  for (const name of (await readdir(SOURCE_DIR)).filter(n => /\.go$|^go\.(mod|sum)$/.test(n)).sort()) {
    hash.update(name).update('\0').update(await readFile(join(SOURCE_DIR, name))).update('\0')
  }
  const dir = join(cacheRoot('interop-go'), `${GO_LIBP2P_VERSION}-${hash.digest('hex').slice(0, 16)}`)
  const binary = join(dir, 'peer')
  if (existsSync(binary)) return binary
  await mkdir(dir, { recursive: true })
  // Built beside its final name and renamed: a concurrent run never sees half a binary.
  const partial = `${binary}.${process.pid}.partial`
  try {
    await run('go', ['build', '-p', '1', '-trimpath', '-o', partial, '.'], {
      cwd: SOURCE_DIR,
      env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false', CGO_ENABLED: '0' },
      timeout: BUILD_TIMEOUT
    })
    await rename(partial, binary)
  } finally {
    await rm(partial, { force: true })
  }
  return binary
}

/** The peer's first stdout line. */
export interface GoPeerInfo {
  peerId: string
  /** libp2p addresses (TCP), without `/p2p`. */
  streamAddrs: string[]
  /** HTTPS listener addresses as go prints them (`/ip4/…/tcp/N/https`). */
  httpAddrs: string[]
  /** Whether it also listens on 127.0.0.1:443. */
  listen443: boolean
}

/** One command (see `test/interop/go/main.go`'s `command`). */
export interface GoCommand {
  op: 'fetch' | 'client' | 'wellknown' | 'ping'
  url?: string
  peer?: string
  addrs?: string[]
  protocol?: string
  path?: string
  method?: string
  headers?: Record<string, string>
  body?: string
  bodySize?: number
  chunked?: boolean
  thenGet?: string
  preferHTTP?: boolean
  timeoutMs?: number
}

export interface GoAnswer {
  status?: number
  headers?: Record<string, string>
  body?: string
  bodyLen: number
  bodySha256?: string
  firstChunk?: string
  serverPeer?: string
  hadToken?: boolean
  map?: Record<string, { path: string }>
  error?: string
}

export type GoPeer = GoPeerInfo & LinePeer<GoCommand, GoAnswer>

export interface GoPeerOptions {
  /** PEM files of the HTTPS listener. */
  cert?: string
  key?: string
  /** PEM file the client trusts. */
  ca?: string
  /** Also listen on 127.0.0.1:443 when that can be bound. */
  try443?: boolean
}

/** Start the peer; resolves once it printed its id and addresses. */
export async function startGoPeer (binary: string, options: GoPeerOptions = {}, timeout = 20_000): Promise<GoPeer> {
  const args: string[] = []
  if (options.cert != null) args.push('-cert', options.cert)
  if (options.key != null) args.push('-key', options.key)
  if (options.ca != null) args.push('-ca', options.ca)
  if (options.try443 === true) args.push('-try443')
  return await startLinePeer<GoPeerInfo, GoCommand, GoAnswer>('go peer', binary, args, timeout)
}
