/**
 * `node --import tsx bench/streamed-response.ts [--requests N] [--http2]`
 *
 * A streamed response on the native transport: the handler writes a chunk, then another a turn of the
 * event loop later, then ends (what a proxy relaying an upstream, or server-sent events, do). One client,
 * one request at a time on a keep-alive connection; prints the mean and the worst time per request.
 * Before issue 21 the listener left Nagle's algorithm on (`node:http2`'s server does not set
 * TCP_NODELAY, unlike `https.Server`): each later chunk waited for the client's delayed ACK.
 */
import '../examples/polyfill.js'
import './production.js'
import { parseArgs } from 'node:util'
import { generate } from 'selfsigned'
import { createHTTPHost } from '../src/index.js'

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200' }, http2: { type: 'boolean', default: false } } })
const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
  keyType: 'ec',
  algorithm: 'sha256',
  extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
})
const server = await createHTTPHost({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: { key: pems.private, cert: pems.cert }, ping: false })
server.serve((_req, res) => {
  res.write('first ')
  setImmediate(() => {
    res.write('second ')
    setImmediate(() => { res.end('last') })
  })
})
const client = await createHTTPHost({ clientTLS: { ca: pems.cert }, http2: values.http2 })
const target = server.addrs()[0]
try {
  await (await client.fetch(target)).text()
  const requests = Number(values.requests)
  let worst = 0
  const start = performance.now()
  for (let i = 0; i < requests; i++) {
    const one = performance.now()
    await (await client.fetch(target)).text()
    worst = Math.max(worst, performance.now() - one)
  }
  console.log(`streamed response (3 writes a turn apart), ${values.http2 ? 'h2' : 'HTTP/1.1'}: ${((performance.now() - start) / requests).toFixed(2)} ms per request, worst ${worst.toFixed(1)} ms (${requests} requests)`)
} finally {
  await client.close()
  await server.close()
}
