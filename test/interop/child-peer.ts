/**
 * What the interop peers share (`go-peer.ts`, `libp2p-http-peer.ts`): a niced child command with a
 * bound, the cache directory outside the clone, and the peer process itself, driven by JSON lines on
 * stdin and answering on stdout: its first line describes it, then one line `{id, ...}` per command.
 */
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rename, rm } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe } from 'vitest'
import type { ChildProcess } from 'node:child_process'

/** Run a command to its end; rejects with its stderr on failure or after `timeout` ms. */
export async function run (file: string, args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv, timeout: number }): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = execFile(file, args, { ...options, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
    // The machine's cores are shared: a build must not starve the tests running beside it.
    try { if (child.pid != null) (process as { setPriority?: (pid: number, p: number) => void }).setPriority?.(child.pid, 19) } catch {}
  })
}

/**
 * Install `sourceDir`'s `package.json` and `package-lock.json` with `npm ci` into `dir`, once: beside its
 * final name and renamed when complete, so that a second run installs nothing and a concurrent run never
 * sees half an install. No install scripts: nothing pinned needs one, and none should run on a test machine.
 */
export async function installLocked (sourceDir: string, dir: string, timeout: number): Promise<void> {
  if (existsSync(join(dir, 'node_modules', '.package-lock.json'))) return
  const root = dirname(dir)
  await mkdir(root, { recursive: true })
  const partial = await mkdtemp(join(root, '.partial-'))
  try {
    await copyFile(join(sourceDir, 'package.json'), join(partial, 'package.json'))
    await copyFile(join(sourceDir, 'package-lock.json'), join(partial, 'package-lock.json'))
    await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: partial, timeout })
    await rename(partial, dir).catch(async (err: NodeJS.ErrnoException) => {
      // a concurrent run finished first: use its install
      if (!existsSync(join(dir, 'node_modules', '.package-lock.json'))) throw err
    })
  } finally {
    await rm(partial, { recursive: true, force: true })
  }
}

/** `$XDG_CACHE_HOME/libp2phttp/<name>` (else `~/.cache/…`): kept between runs, outside the clone. */
export function cacheRoot (name: string): string {
  const base = process.env.XDG_CACHE_HOME != null && process.env.XDG_CACHE_HOME !== '' ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache')
  return join(base, 'libp2phttp', name)
}

export interface LinePeer<Command, Answer> {
  /** Run one command; rejects when no answer comes within `timeout` ms or the process exits. */
  request: (command: Command, timeout?: number) => Promise<Answer>
  /** What the process wrote to stderr (its logs), for failure messages. */
  stderr: () => string
  /** Close stdin, wait for the exit (bounded), kill if need be. */
  close: () => Promise<void>
}

/**
 * Start `file args` (with `env`, else this process's) and resolve with its first stdout line (parsed) and the means to drive it, once
 * that line came (bounded by `timeout`). Each command is sent with an `id` and a `timeoutMs` a second
 * short of the wait, so the peer gives up (and says why) before we do.
 */
export async function startLinePeer<Info, Command extends object, Answer> (name: string, file: string, args: string[], timeout = 20_000, env?: NodeJS.ProcessEnv): Promise<Info & LinePeer<Command, Answer>> {
  const child: ChildProcess = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-64 * 1024) })
  let exited = false
  const exit = new Promise<void>(resolve => child.once('exit', () => { exited = true; resolve() }))
  const pending = new Map<number, { resolve: (a: Answer) => void, reject: (e: Error) => void }>()
  let info: ((i: Info) => void) | undefined
  const lines = createInterface({ input: child.stdout! })
  lines.on('line', (line) => {
    const message = JSON.parse(line) as Answer & Info & { id?: number }
    if (message.id == null) { info?.(message); return }
    pending.get(message.id)?.resolve(message)
    pending.delete(message.id)
  })
  void exit.then(() => {
    for (const p of pending.values()) p.reject(new Error(`the ${name} exited; stderr: ${stderr}`))
    pending.clear()
  })
  const kill = async (): Promise<void> => {
    if (exited) return
    child.stdin?.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exit
    clearTimeout(timer)
  }

  let started: Info
  try {
    started = await new Promise<Info>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`the ${name} did not start within ${timeout} ms; stderr: ${stderr}`)) }, timeout)
      info = (i) => { clearTimeout(timer); resolve(i) }
      void exit.then(() => { clearTimeout(timer); reject(new Error(`the ${name} exited at start; stderr: ${stderr}`)) })
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
      if (exited) throw new Error(`the ${name} has exited; stderr: ${stderr}`)
      const id = next++
      return await new Promise<Answer>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`no answer from the ${name} to ${JSON.stringify(command)} within ${requestTimeout} ms`))
        }, requestTimeout)
        pending.set(id, {
          resolve: (a) => { clearTimeout(timer); resolve(a) },
          reject: (e) => { clearTimeout(timer); reject(e) }
        })
        child.stdin?.write(JSON.stringify({ ...command, id, timeoutMs: (command as { timeoutMs?: number }).timeoutMs ?? requestTimeout - 1000 }) + '\n')
      })
    }
  }
}

/**
 * The suite of an interop test file: `describe`, or `describe.skip` with the reason printed when the
 * peer cannot run here (`missing`) outside CI. With `CI=true` the suite runs, and its `beforeAll` is
 * expected to fail on `missing`.
 */
export function interopSuite (file: string, missing: string | undefined): typeof describe | typeof describe.skip {
  if (missing == null || process.env.CI === 'true') return describe
  // eslint-disable-next-line no-console
  console.warn(`${file} skipped: ${missing} (with CI=true it fails instead)`)
  return describe.skip
}

/** Byte i of every generated body, the same in every peer (`patternByte` in go/main.go, `pattern` in libp2p-http/peer.mjs). */
export function pattern (n: number): Uint8Array {
  const bytes = new Uint8Array(n)
  for (let i = 0; i < n; i++) bytes[i] = (i * 31 + 7) & 0xff
  return bytes
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
