/**
 * The go-libp2p peer of the interop tests (`test/interop/go/`): built once per version into a cache
 * directory, run as a child process, driven by JSON lines on stdin, answering on stdout.
 *
 * The binary lives in `$XDG_CACHE_HOME/libp2phttp/interop-go/<go-libp2p version>-<hash>/peer` (else
 * `~/.cache/…`), the hash covering the program's sources, `go.mod`, `go.sum` and the Go version: a
 * second run does not build again, any change does. Modules come from the Go module proxy
 * (`GOFLAGS=-mod=readonly`: `go.sum` must already cover them).
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cachedGoBuild } from './go-build.js'
import { startLinePeer } from './child-peer.js'
import type { LinePeer } from './child-peer.js'

export { goMissing } from './go-build.js'

/** The go-libp2p release the peer is built against (as pinned in `test/interop/go/go.mod`). */
export const GO_LIBP2P_VERSION = 'v0.52.0'

const SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'go')

/** The path of the built peer, building it first unless this version is in the cache already. */
export async function goPeerBinary (): Promise<string> {
  return await cachedGoBuild({ cache: 'interop-go', version: GO_LIBP2P_VERSION, sourceDir: SOURCE_DIR, pkg: '.', output: 'peer', parallel: 1, timeout: 10 * 60_000 })
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
