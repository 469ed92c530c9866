/**
 * The `libp2phttp` command as a real process, run from source: its output lines collected, bounded waits
 * for the line that says it is ready, and a kill at the end.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

export interface CLIProcess {
  proc: ChildProcess
  out: string[]
  err: string[]
  /** The first stdout (or stderr with `stream: 'err'`) line matching `pattern`, waiting up to `timeout` ms. */
  line: (pattern: RegExp, options?: { timeout?: number, stream?: 'out' | 'err' }) => Promise<string>
  /** The exit code, waiting up to `timeout` ms. */
  exited: (timeout?: number) => Promise<number | null>
  kill: () => Promise<void>
}

/**
 * Spawn `node --import tsx src/cli/main.ts …args`; with `prefix`, run through it (`ip netns exec NS`:
 * the command in a network namespace).
 */
export function spawnCLI (args: string[], env: NodeJS.ProcessEnv = {}, prefix: string[] = []): CLIProcess {
  const command = [...prefix, process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...args]
  const proc = spawn(command[0], command.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const out: string[] = []
  const err: string[] = []
  const listeners = new Set<() => void>()
  const collect = (into: string[]) => {
    let partial = ''
    return (chunk: Buffer): void => {
      const lines = (partial + chunk.toString()).split('\n')
      partial = lines.pop() ?? ''
      into.push(...lines)
      for (const l of listeners) l()
    }
  }
  proc.stdout?.on('data', collect(out))
  proc.stderr?.on('data', collect(err))
  let code: number | null | undefined
  const exit = new Promise<number | null>(resolve => proc.once('exit', (c) => { code = c; for (const l of listeners) l(); resolve(c) }))
  const line = async (pattern: RegExp, options: { timeout?: number, stream?: 'out' | 'err' } = {}): Promise<string> => {
    const lines = options.stream === 'err' ? err : out
    return await new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const found = lines.find(l => pattern.test(l))
        if (found != null) { done(); resolve(found) } else if (code !== undefined) { done(); reject(new Error(`exited (${String(code)}) before printing ${pattern}; stdout: ${out.join('\n')}; stderr: ${err.join('\n')}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${pattern}; stdout: ${out.join('\n')}; stderr: ${err.join('\n')}`)) }, options.timeout ?? 15_000)
      const done = (): void => { clearTimeout(timer); listeners.delete(check) }
      listeners.add(check)
      check()
    })
  }
  return {
    proc,
    out,
    err,
    line,
    exited: async (timeout = 15_000) => await Promise.race([exit, new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error(`the command did not exit within ${timeout} ms; stderr: ${err.join('\n')}`)) }, timeout).unref())]),
    kill: async () => {
      if (code !== undefined) return
      proc.kill('SIGKILL')
      await exit
    }
  }
}

/** Run a command to its end: exit code and output. */
export async function runCLI (args: string[], env: NodeJS.ProcessEnv = {}, timeout = 20_000): Promise<{ code: number | null, out: string[], err: string[] }> {
  const p = spawnCLI(args, env)
  try {
    const code = await p.exited(timeout)
    return { code, out: p.out, err: p.err }
  } finally {
    await p.kill()
  }
}

/** Run /usr/bin/curl -s …args: exit code and stdout. */
export async function curl (args: string[]): Promise<{ code: number | null, out: string }> {
  const proc = spawn('/usr/bin/curl', ['-s', ...args], { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  proc.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  const code = await new Promise<number | null>(resolve => proc.once('exit', resolve))
  return { code, out }
}
