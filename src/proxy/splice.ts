/**
 * Join two byte streams (a client and a destination) for a tunnel: data both ways with backpressure,
 * and when either side closes or fails, both are torn down and the end reported once.
 *
 * @module
 */
import type { Duplex } from 'node:stream'

/**
 * Pipe `client` ⇄ `remote`, writing `head` (bytes that came with the request) to `remote` first.
 * `onEnd` gets the byte count that flowed from `remote` to `client`.
 */
export function splice (client: Duplex, remote: Duplex, head: Buffer, onEnd: (bytes: number) => void): void {
  let bytes = 0
  let ended = false
  const end = (): void => {
    if (ended) return
    ended = true
    remote.destroy()
    client.destroy()
    onEnd(bytes)
  }
  if (head.length > 0) remote.write(head)
  remote.on('data', (c: Buffer) => { bytes += c.length })
  remote.on('error', end)
  client.on('error', end)
  remote.pipe(client)
  client.pipe(remote)
  remote.once('close', end)
  client.once('close', end)
}
