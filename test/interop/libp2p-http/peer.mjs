// The @libp2p/http peer of test/interop/libp2p-http.test.ts, run by libp2p-http-peer.ts under Node 22
// from its own install (@libp2p/http 2.0.6 as published, with its own undici 8). One js-libp2p node
// (TCP + noise + yamux on 127.0.0.1) whose `http` service is both their server (the routes below) and
// their client. It prints `{peerId, streamAddrs}` once, then answers JSON-line commands on stdin, each
// `{id, op, ...}` with one line `{id, ...}` (an `error` string when the operation threw).
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer as createHTTPSServer } from 'node:https'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { http, authenticatedRoute, webSocketRoute } from '@libp2p/http'
import { peerIdAuth } from '@libp2p/http/middleware'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { fetch as undiciFetch } from 'undici'

/** Byte i of every generated body, as `pattern` in the test. */
function pattern (n) {
  const bytes = new Uint8Array(n)
  for (let i = 0; i < n; i++) bytes[i] = (i * 31 + 7) & 0xff
  return bytes
}
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')

// Their dispatcher can reject a promise nobody awaits (a failed dial): log it and keep serving.
process.on('unhandledRejection', (err) => { process.stderr.write(`unhandled rejection: ${err?.stack ?? err}\n`) })

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { http: http() }
})

// Their server. Routes match a whole path, and their request parser drops query strings, so sizes
// travel in a header.
node.services.http.handle('/libp2phttp-interop/echo/1', {
  path: '/echo',
  method: ['GET', 'POST', 'PUT'],
  handler: async (req) => {
    const body = new Uint8Array(await req.arrayBuffer())
    const url = new URL(req.url)
    return Response.json({
      method: req.method,
      path: url.pathname,
      host: url.host,
      headers: Object.fromEntries(req.headers),
      bodyLen: body.byteLength,
      bodySha256: sha256(body)
    })
  }
})
node.services.http.handle('/libp2phttp-interop/bytes/1', {
  path: '/bytes',
  handler: async (req) => new Response(pattern(Number(req.headers.get('x-size') ?? '0')), {
    headers: { 'content-type': 'application/octet-stream' }
  })
})
node.services.http.handle('/libp2phttp-interop/auth/1', authenticatedRoute({
  path: '/auth',
  method: ['GET', 'POST'],
  // which credential proved the client: a bearer token, or a handshake's answer
  handler: async (req, peer) => new Response(`hello ${peer.toString()} ${req.method} ${req.headers.get('authorization')?.includes('bearer=') === true ? 'bearer' : 'handshake'}`)
}))

node.services.http.handle('/libp2phttp-interop/ws/1', webSocketRoute({
  path: '/ws',
  handler: (ws) => {
    ws.addEventListener('message', (e) => { ws.send(`echo ${typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data)}`) })
  }
}))

/**
 * Their routes over HTTPS: a Node `https` server handing each request to `services.http.onRequest` (a
 * WHATWG Request in, a Response out), which is how the package serves beside a web server. Upgrades
 * are not passed on.
 */
async function serveHTTPS (certPath, keyPath) {
  const server = createHTTPSServer({ cert: await readFile(certPath), key: await readFile(keyPath) }, (req, res) => {
    const headers = new Headers()
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1])
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
    const request = new Request(`https://${req.headers.host}${req.url}`, { method: req.method, headers, body: hasBody ? Readable.toWeb(req) : undefined, duplex: 'half' })
    node.services.http.onRequest(request).then(async (response) => {
      res.writeHead(response.status, [...response.headers].flat())
      if (response.body != null) for await (const chunk of response.body) res.write(chunk)
      res.end()
    }).catch((err) => {
      process.stderr.write(`https: ${err?.stack ?? err}\n`)
      res.destroy()
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server.address().port
}

/** The resource their client is given: a multiaddr string (starts with `/`) or a URL. */
const resourceOf = (target) => target.startsWith('/') ? multiaddr(target) : target

async function answerOf (res) {
  const body = new Uint8Array(await res.arrayBuffer())
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers),
    body: new TextDecoder().decode(body),
    bodyLen: body.byteLength,
    bodySha256: sha256(body)
  }
}

function initOf (command) {
  const body = command.bodySize != null ? pattern(command.bodySize) : command.body != null && command.bodyAsString !== true ? new TextEncoder().encode(command.body) : command.body
  return {
    method: command.method ?? 'GET',
    headers: command.headers ?? {},
    body,
    signal: AbortSignal.timeout(command.timeoutMs ?? 20_000),
    middleware: command.auth === true ? [peerIdAuth()] : undefined
  }
}

const ops = {
  /** `services.http.fetch` (their @libp2p/http-fetch over a stream). */
  fetch: async (command) => await answerOf(await node.services.http.fetch(resourceOf(command.target), initOf(command))),
  /** Their undici 8 over a libp2p stream (`services.http.dispatcher`); `target` is the peer's multiaddr. */
  dispatcher: async (command) => {
    const dispatcher = node.services.http.dispatcher(multiaddr(command.target))
    try {
      const { middleware, ...init } = initOf(command)
      return await answerOf(await undiciFetch(`http://peer${command.path ?? '/'}`, { ...init, dispatcher }))
    } finally {
      await dispatcher.close()
    }
  },
  /** `services.http.fetchProtocol`: looks the protocol up in the server's well-known map. */
  fetchProtocol: async (command) => await answerOf(await node.services.http.fetchProtocol(resourceOf(command.target), command.protocol, initOf(command))),
  /** Start their HTTPS server (`cert`, `key`: PEM file paths); answers with its port. */
  serveHTTPS: async (command) => ({ port: await serveHTTPS(command.cert, command.key) }),
  /** The WebSocket client (`services.http.connect`): sends `messages`, answers with what came back. */
  websocket: async (command) => {
    const ws = await node.services.http.connect(resourceOf(command.target), { signal: AbortSignal.timeout(command.timeoutMs ?? 20_000) })
    const received = []
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('websocket: no answer in time')), command.timeoutMs ?? 20_000)
      ws.addEventListener('error', (e) => { clearTimeout(timer); reject(new Error(`websocket error: ${e.message ?? e.type}`)) })
      ws.addEventListener('message', (e) => {
        received.push(typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data))
        if (received.length === command.messages.length) { clearTimeout(timer); resolve() }
      })
      ws.addEventListener('open', () => { for (const m of command.messages) ws.send(m) })
    })
    ws.close()
    return { received }
  }
}

process.stdout.write(JSON.stringify({ peerId: node.peerId.toString(), streamAddrs: node.getMultiaddrs().map(String) }) + '\n')

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const command = JSON.parse(line)
  const op = ops[command.op]
  const done = op == null ? Promise.reject(new Error(`unknown op ${command.op}`)) : op(command)
  done.then(
    (answer) => { process.stdout.write(JSON.stringify({ id: command.id, ...answer }) + '\n') },
    (err) => { process.stdout.write(JSON.stringify({ id: command.id, error: `${err.name}: ${err.message}${err.cause != null ? ` (cause: ${err.cause.message ?? err.cause})` : ''}` }) + '\n') }
  )
})
lines.on('close', () => { void node.stop().then(() => process.exit(0)) })
