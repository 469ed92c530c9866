/**
 * The @libp2p/http contender out of process: its server and its client each run `bench/libp2p-http.mjs`
 * under Node 22 from the interop tests' install of @libp2p/http 2.0.6 as published (its undici 8 does
 * not load on the bench's Node 20). The client's operations travel over IPC, which adds a round trip
 * between two local processes to each (tens of µs); its CPU time is that process's, asked for by
 * `cpu()`.
 */
import { fork } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { libp2pHTTPMissing, libp2pHTTPProgram } from '../test/interop/libp2p-http-peer.js'
import type { Client } from './contenders.js'
import type { ChildProcess } from 'node:child_process'

const here = dirname(fileURLToPath(import.meta.url))

/** Why the contender cannot run on this machine, or `undefined`. */
export const libp2pHTTPUnavailable = libp2pHTTPMissing

/** Fork `bench/libp2p-http.mjs` as `server`, or as `client <addr>`, under Node 22. */
export async function forkLibp2pHTTP (mode: 'server' | 'client', addr?: string): Promise<ChildProcess> {
  const missing = libp2pHTTPMissing()
  if (missing != null) throw new Error(`the libp2p-http contender cannot run here: ${missing}`)
  const { node, script } = await libp2pHTTPProgram(join(here, 'libp2p-http.mjs'))
  const args = [mode, pathToFileURL(join(here, 'handlers.ts')).href, ...(addr == null ? [] : [addr])]
  // execArgv replaces this process's (`--import tsx`), which Node 22 here has no use for
  return fork(script, args, { execPath: node, execArgv: ['--no-warnings'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
}

type FromClient = { type: 'ready' } | { type: 'result', id: number, value?: number, error?: string } | { type: 'usage', cpu: number }

/** The contender's client: a Node 22 process driven over IPC. */
export async function libp2pHTTPClient (addr: string): Promise<Client> {
  const child = await forkLibp2pHTTP('client', addr)
  const pending = new Map<number, { resolve: (value: number) => void, reject: (err: Error) => void }>()
  const usages: Array<(cpu: number) => void> = []
  let exited: Error | undefined
  let ready!: () => void
  const started = new Promise<void>((resolve, reject) => {
    ready = resolve
    child.once('exit', (code) => {
      exited = new Error(`the libp2p-http client exited (${String(code)})`)
      reject(exited)
      for (const waiter of pending.values()) waiter.reject(exited)
      pending.clear()
    })
  })
  child.on('message', (message: FromClient) => {
    if (message.type === 'ready') {
      ready()
    } else if (message.type === 'usage') {
      usages.shift()?.(message.cpu)
    } else {
      const waiter = pending.get(message.id)
      pending.delete(message.id)
      if (message.error != null) waiter?.reject(new Error(message.error))
      else waiter?.resolve(message.value ?? 0)
    }
  })
  await Promise.race([started, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('the libp2p-http client did not start within 30 s')) }, 30_000).unref())])
  let next = 1
  const op = async (name: 'small' | 'download' | 'upload' | 'firstByte', n = 0): Promise<number> => await new Promise((resolve, reject) => {
    if (exited != null) { reject(exited); return }
    const id = next++
    pending.set(id, { resolve, reject })
    child.send({ type: 'op', id, op: name, n })
  })
  return {
    small: async () => { await op('small') },
    download: async (n) => await op('download', n),
    upload: async (n) => await op('upload', n),
    firstByte: async () => await op('firstByte'),
    cpu: async () => await new Promise<number>((resolve) => { usages.push(resolve); child.send({ type: 'usage' }) }),
    close: async () => {
      if (exited != null) return
      const gone = new Promise(resolve => child.once('exit', resolve))
      child.send({ type: 'stop' })
      await Promise.race([gone, new Promise(resolve => setTimeout(resolve, 5000))])
      child.kill()
    }
  }
}
