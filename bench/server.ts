/**
 * The server process of one contender (`node --import tsx bench/server.ts <contender>`, forked by
 * `run.ts`): serves, reports its address over IPC, answers `usage` with its RSS and CPU time, and
 * records a CPU profile between `profile-start` and `profile-stop` (for `probe.ts`).
 */
import '../examples/polyfill.js'
import './production.js'
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { serve } from './contenders.js'
import type { Contender } from './contenders.js'

export type ToServer = { type: 'usage' } | { type: 'stop' } | { type: 'profile-start' } | { type: 'profile-stop', file: string }
export type FromServer =
  | { type: 'ready', addr: string, ca?: string }
  | { type: 'usage', rss: number, cpu: number }
  | { type: 'profiled' }

const send = (message: FromServer): void => { process.send?.(message) }
const served = await serve(process.argv[2] as Contender)
const session = new Session()

async function profile (message: ToServer & { type: 'profile-start' | 'profile-stop' }): Promise<void> {
  if (message.type === 'profile-start') {
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
  } else {
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    await writeFile(message.file, JSON.stringify(profile))
  }
  send({ type: 'profiled' })
}

process.on('message', (message: ToServer) => {
  if (message.type === 'usage') {
    const cpu = process.cpuUsage()
    send({ type: 'usage', rss: process.memoryUsage.rss(), cpu: (cpu.user + cpu.system) / 1e6 })
  } else if (message.type === 'stop') {
    served.stop().finally(() => process.exit(0))
  } else {
    profile(message).catch((err: unknown) => { console.error(err); process.exit(1) })
  }
})
send({ type: 'ready', addr: served.addr, ca: served.ca })
