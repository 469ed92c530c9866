/**
 * `node --import tsx bench/undici-close-error.ts`: what undici's end of a `Connection: close` exchange
 * costs, reproduced without libp2p (issue 21).
 *
 * undici's HTTP/1.1 client ends every exchange whose response says `Connection: close` (every request on
 * a libp2p stream: one request per stream) with `socket.destroy(new InformationalError('reset'))`
 * (`lib/dispatcher/client-h1.js`, `onMessageComplete`). Constructing the error captures a stack trace, and
 * Node's `destroy(err)` reads `err.stack` (`lib/internal/streams/destroy.js`, `checkError`), which formats
 * it. The raw stream protocol ends its exchanges without an error. This script destroys plain Duplex
 * streams the three ways and prints the CPU per destroy: with undici's error as is, with its stack set
 * before `destroy` (what `StreamSocket.destroy` does for graceful-close errors), and without an error.
 */
import './production.js'
import { Duplex } from 'node:stream'
import { errors } from 'undici'

const N = 50_000

function run (label: string, make: () => Error | undefined, cheapStack: boolean): void {
  const start = process.cpuUsage()
  for (let i = 0; i < N; i++) {
    const socket = new Duplex({ read () {}, write (_chunk, _encoding, callback) { callback() } })
    socket.on('error', () => {})
    const err = make()
    if (err != null && cheapStack) err.stack = `${err.name}: ${err.message}`
    socket.destroy(err)
  }
  const used = process.cpuUsage(start)
  console.log(`${label.padEnd(46)} ${((used.user + used.system) / N).toFixed(2)} µs per destroy`)
}

for (let round = 0; round < 3; round++) {
  run('InformationalError, stack formatted by Node', () => new errors.InformationalError('reset'), false)
  run('InformationalError, stack set before destroy', () => new errors.InformationalError('reset'), true)
  run('no error (what the raw protocol pays)', () => undefined, false)
}
