/**
 * Kubo (the go IPFS node) of the interop tests: its own `cmd/ipfs` at a pinned release, built through
 * `test/interop/kubo/go.mod` into `~/.cache/libp2phttp/interop-kubo/<version>-<hash>/ipfs` (see
 * `go-build.ts`), run as a daemon with a fresh repository in a temporary directory: loopback only (TCP
 * swarm on 127.0.0.1, API and gateway on 127.0.0.1), no bootstrap peers, no routing, no mDNS, no
 * AutoConf, AutoTLS or telemetry — nothing leaves the machine. `--offline` is not usable: it builds the
 * node without a libp2p host, so nothing could connect to it.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cachedGoBuild, run } from './go-build.js'
import type { ChildProcess } from 'node:child_process'

export { goMissing } from './go-build.js'

/** The Kubo release built (as pinned in `test/interop/kubo/go.mod`). */
export const KUBO_VERSION = 'v0.43.1'

const SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'kubo')

/** The path of Kubo's `ipfs`, building it first unless this version is in the cache already. */
export async function kuboBinary (): Promise<string> {
  // a cold build takes minutes (two compilers at once, at the lowest priority); a warm cache, none
  return await cachedGoBuild({ cache: 'interop-kubo', version: KUBO_VERSION, sourceDir: SOURCE_DIR, pkg: 'github.com/ipfs/kubo/cmd/ipfs', output: 'ipfs', parallel: 2, timeout: 14 * 60_000 })
}

/** What Kubo's `config.Experimental` turns on. */
export interface KuboExperiments {
  GatewayOverLibp2p?: boolean
  Libp2pStreamMounting?: boolean
  P2pHttpProxy?: boolean
}

export interface Kubo {
  peerId: string
  /** The swarm's TCP address, without `/p2p`. */
  swarmAddr: string
  /** The HTTP gateway (`http://127.0.0.1:N`). */
  gatewayURL: string
  /** Run `ipfs <args>` against the daemon (its RPC API); resolves with stdout. */
  cli: (args: string[], timeout?: number) => Promise<string>
  /** What the daemon wrote, for failure messages. */
  output: () => string
  /** Stop the daemon (SIGTERM, then SIGKILL after a bound) and remove its repository. */
  close: () => Promise<void>
}

/** Init a repository, configure it, start the daemon; resolves once it is ready. */
export async function startKubo (binary: string, experiments: KuboExperiments, timeout = 60_000): Promise<Kubo> {
  const repo = await mkdtemp(join(tmpdir(), 'libp2phttp-kubo-'))
  const env = { ...process.env, IPFS_PATH: repo, IPFS_TELEMETRY: 'off', GOLOG_LOG_LEVEL: 'error' }
  const cli = async (args: string[], bound = 30_000): Promise<string> => await run(binary, args, { env, timeout: bound })
  let child: ChildProcess | undefined
  let output = ''
  let exited = false
  let exit = Promise.resolve()
  const close = async (): Promise<void> => {
    if (child != null && !exited) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child?.kill('SIGKILL'), 5000)
      await exit
      clearTimeout(timer)
    }
    await rm(repo, { recursive: true, force: true })
  }
  try {
    // the `test` profile: loopback API, gateway and swarm (TCP only), no bootstrap, mDNS, AutoConf, AutoTLS
    await cli(['init', '--profile', 'test', '--empty-repo'])
    const configPath = join(repo, 'config')
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, Record<string, unknown>>
    config.Routing = { ...config.Routing, Type: 'none' }
    config.AutoNAT = { ...config.AutoNAT, ServiceMode: 'disabled' }
    config.Provide = { ...config.Provide, Enabled: false }
    config.Swarm = {
      ...config.Swarm,
      RelayClient: { Enabled: false },
      RelayService: { Enabled: false },
      Transports: { Network: { QUIC: false, WebTransport: false, WebRTCDirect: false, Websocket: false } }
    }
    config.Experimental = { ...config.Experimental, ...experiments }
    await writeFile(configPath, JSON.stringify(config, null, 2))

    const started = spawn(binary, ['daemon', '--migrate=false'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    exit = new Promise<void>(resolve => started.once('exit', () => { exited = true; resolve() }))
    const info = await new Promise<{ peerId: string, swarmAddr: string, gatewayURL: string }>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`Kubo was not ready within ${timeout} ms:\n${output}`)) }, timeout)
      void exit.then(() => { clearTimeout(timer); reject(new Error(`Kubo exited at start:\n${output}`)) })
      const onData = (chunk: Buffer): void => {
        output = (output + chunk.toString()).slice(-64 * 1024)
        if (!output.includes('Daemon is ready')) return
        clearTimeout(timer)
        const peerId = /^PeerID: (\S+)$/m.exec(output)?.[1]
        const swarm = /^Swarm listening on 127\.0\.0\.1:(\d+) \(TCP\)$/m.exec(output)?.[1]
        const gateway = /^Gateway server listening on \/ip4\/127\.0\.0\.1\/tcp\/(\d+)$/m.exec(output)?.[1]
        if (peerId == null || swarm == null || gateway == null) reject(new Error(`cannot read Kubo's peer id and addresses:\n${output}`))
        else resolve({ peerId, swarmAddr: `/ip4/127.0.0.1/tcp/${swarm}`, gatewayURL: `http://127.0.0.1:${gateway}` })
      }
      started.stdout.on('data', onData)
      started.stderr.on('data', onData)
    })
    return { ...info, cli, output: () => output, close }
  } catch (err) {
    await close()
    throw err
  }
}
