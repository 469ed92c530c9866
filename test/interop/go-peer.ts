/**
 * The go-libp2p peer of the interop tests (`test/interop/go/`): built once per version into a cache
 * directory, run as a child process, driven by JSON lines on stdin, answering on stdout.
 *
 * The binary lives in `$XDG_CACHE_HOME/libp2phttp/interop-go/<go-libp2p version>-<hash>/peer` (else
 * `~/.cache/…`), the hash covering the program's sources, `go.mod`, `go.sum` and the Go version: a
 * second run does not build again, any change does. Modules come from the Go module proxy
 * (`GOFLAGS=-mod=readonly`: `go.sum` must already cover them).
 */
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { cachedGoBuild } from './go-build.js'
import type { ChildProcess } from 'node:child_process'

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

export interface GoPeer extends GoPeerInfo {
  /** Run one command; rejects when no answer comes within `timeout` ms or the process exits. */
  request: (command: GoCommand, timeout?: number) => Promise<GoAnswer>
  /** What the process wrote to stderr (its logs), for failure messages. */
  stderr: () => string
  /** Close stdin, wait for the exit (bounded), kill if need be. */
  close: () => Promise<void>
}

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
  const child: ChildProcess = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-64 * 1024) })
  let exited = false
  const exit = new Promise<void>(resolve => child.once('exit', () => { exited = true; resolve() }))
  const pending = new Map<number, { resolve: (a: GoAnswer) => void, reject: (e: Error) => void }>()
  let info: ((i: GoPeerInfo) => void) | undefined
  const lines = createInterface({ input: child.stdout! })
  lines.on('line', (line) => {
    const message = JSON.parse(line) as GoAnswer & GoPeerInfo & { id?: number }
    if (message.id == null) { info?.(message); return }
    pending.get(message.id)?.resolve(message)
    pending.delete(message.id)
  })
  void exit.then(() => {
    for (const p of pending.values()) p.reject(new Error(`the go peer exited; stderr: ${stderr}`))
    pending.clear()
  })
  const kill = async (): Promise<void> => {
    if (exited) return
    child.stdin?.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exit
    clearTimeout(timer)
  }

  let started: GoPeerInfo
  try {
    started = await new Promise<GoPeerInfo>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`the go peer did not start within ${timeout} ms; stderr: ${stderr}`)) }, timeout)
      info = (i) => { clearTimeout(timer); resolve(i) }
      void exit.then(() => { clearTimeout(timer); reject(new Error(`the go peer exited at start; stderr: ${stderr}`)) })
    })
  } catch (err) {
    await kill()
    throw err
  }

  let next = 1
  return {
    ...started,
    stderr: () => stderr,
    close: kill,
    request: async (command, requestTimeout = 30_000) => {
      if (exited) throw new Error(`the go peer has exited; stderr: ${stderr}`)
      const id = next++
      return await new Promise<GoAnswer>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`no answer from the go peer to ${JSON.stringify(command)} within ${requestTimeout} ms`))
        }, requestTimeout)
        pending.set(id, {
          resolve: (a) => { clearTimeout(timer); resolve(a) },
          reject: (e) => { clearTimeout(timer); reject(e) }
        })
        child.stdin?.write(JSON.stringify({ ...command, id, timeoutMs: command.timeoutMs ?? requestTimeout - 1000 }) + '\n')
      })
    }
  }
}
