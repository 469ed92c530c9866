/**
 * The server process of one contender (`node --import tsx bench/server.ts <contender>`, forked by
 * `run.ts`): serves, reports its address over IPC, and answers `usage` with its RSS and CPU time.
 */
import '../examples/polyfill.js'
import './production.js'
import { serve } from './contenders.js'
import type { Contender } from './contenders.js'

export type ToServer = { type: 'usage' } | { type: 'stop' }
export type FromServer =
  | { type: 'ready', addr: string, ca?: string }
  | { type: 'usage', rss: number, cpu: number }

const send = (message: FromServer): void => { process.send?.(message) }
const served = await serve(process.argv[2] as Contender)
process.on('message', (message: ToServer) => {
  if (message.type === 'usage') {
    const cpu = process.cpuUsage()
    send({ type: 'usage', rss: process.memoryUsage.rss(), cpu: (cpu.user + cpu.system) / 1e6 })
  } else if (message.type === 'stop') {
    served.stop().finally(() => process.exit(0))
  }
})
send({ type: 'ready', addr: served.addr, ca: served.ca })
