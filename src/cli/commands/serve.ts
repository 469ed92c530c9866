/**
 * `libp2phttp serve --upstream URL`: the provider. Exposes a local HTTP service to allowed peers under a
 * protocol, over `/http/1.1` streams (and native HTTPS for `…/tls/http` listen addresses).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { isHTTPTransportAddress } from '../../addressing.js'
import { UsageError } from '../../errors.js'
import { createHTTPHost } from '../../host.js'
import { remotePeer } from '../../identity.js'
import { accessRefusal, allowPeers } from '../../proxy/access.js'
import { parseEgressRule } from '../../proxy/egress.js'
import { EXIT_PROTOCOL, createExit } from '../../proxy/exit.js'
import { originalUrl } from '../../original-url.js'
import { failUpgrade, proxyTo } from '../../proxy/upstream.js'
import { COMMON_OPTIONS, COMMON_USAGE, integer, noPositionals, parse } from '../args.js'
import { keyPath, loadOrCreateKey } from '../identity.js'
import { createLogger, logRequests } from '../log.js'
import { createNode } from '../node.js'
import { DEFAULT_GRACE, untilSignal } from '../shutdown.js'
import type { CommandIO } from './io.js'
import type { PeerId } from '@libp2p/interface'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Multiaddr } from '@multiformats/multiaddr'

export const SERVE_USAGE = `libp2phttp serve (--upstream URL | --exit) (--allow PEER… | --allow-any) [options]
  Expose the HTTP service at URL to peers, and/or be their exit for proxy --forward.
  --upstream URL        the local service, e.g. http://127.0.0.1:11434
  --exit                perform HTTP requests and CONNECT tunnels for allowed peers (${EXIT_PROTOCOL});
                        loopback, private, link-local and metadata addresses, and CONNECT to ports
                        other than 443, are refused unless --allow-egress names them
  --allow-egress RULE   HOST[:PORT], IP[:PORT], CIDR[:PORT] or [IPv6]:PORT, repeatable
  --protocol ID         serve it as this protocol (listed in the well-known map; default: at /)
  --listen MULTIADDR    libp2p listen address, repeatable (default /ip4/0.0.0.0/tcp/0);
                        …/tls/http ones are native HTTPS listeners (need --tls-key and --tls-cert)
  --tls-key FILE, --tls-cert FILE   PEM key and certificate for /tls/http listeners
  --allow PEER          a peer id allowed to use the service, repeatable
  --allow-any           any peer may use it (prints a warning)
${COMMON_USAGE}`

/** Run `serve` until a signal; resolves with the exit code. */
export async function serve (argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    upstream: { type: 'string' },
    protocol: { type: 'string' },
    listen: { type: 'string', multiple: true },
    'tls-key': { type: 'string' },
    'tls-cert': { type: 'string' },
    allow: { type: 'string', multiple: true },
    'allow-any': { type: 'boolean' },
    exit: { type: 'boolean' },
    'allow-egress': { type: 'string', multiple: true }
  })
  noPositionals(positionals)
  if (values.help === true) { io.out(SERVE_USAGE); return 0 }
  const upstream = values.upstream
  const exit = values.exit === true
  if (upstream == null && !exit) throw new UsageError('serve needs --upstream URL or --exit')
  if (upstream != null && !/^https?:\/\//.test(upstream)) throw new UsageError(`--upstream must be an http(s) URL, not ${upstream}`)
  if (values['allow-egress'] != null && !exit) throw new UsageError('--allow-egress is for --exit')
  const egress = values['allow-egress'] ?? []
  for (const rule of egress) {
    try { parseEgressRule(rule) } catch (err) { throw new UsageError(`--allow-egress: ${(err as Error).message}`) }
  }
  const allowAny = values['allow-any'] === true
  const allowList = values.allow ?? []
  if (allowAny && allowList.length > 0) throw new UsageError('--allow and --allow-any exclude each other')
  // deny by default: a service nobody may use is a mistake worth stopping for
  if (!allowAny && allowList.length === 0) throw new UsageError('serve needs --allow PEER (repeatable) or --allow-any')
  const allowed: PeerId[] = allowList.map((p) => {
    try { return peerIdFromString(p) } catch { throw new UsageError(`--allow: not a peer id: ${p}`) }
  })
  const protocol = values.protocol
  if (protocol != null && !protocol.startsWith('/')) throw new UsageError(`--protocol must start with /, not ${protocol}`)
  const grace = integer('grace', values.grace, DEFAULT_GRACE)

  const listen = (values.listen ?? ['/ip4/0.0.0.0/tcp/0']).map((a) => {
    try { return multiaddr(a) } catch (err) { throw new UsageError(`--listen: not a multiaddr: ${a}`, { cause: err }) }
  })
  const native = listen.filter(isHTTPTransportAddress)
  const streams = listen.filter(a => !isHTTPTransportAddress(a))
  let tls: { key: Buffer, cert: Buffer } | undefined
  if (native.length > 0) {
    if (values['tls-key'] == null || values['tls-cert'] == null) throw new UsageError('a /tls/http listener needs --tls-key and --tls-cert')
    tls = { key: await readFile(values['tls-key']), cert: await readFile(values['tls-cert']) }
  }

  const logger = createLogger({ quiet: values.quiet, json: values.json, write: io.err })
  const { key } = await loadOrCreateKey(keyPath(values.key, io.env))
  const node = await createNode(key, streams.map(String))
  const host = await createHTTPHost({
    libp2p: node,
    listen: native,
    tls,
    // over HTTPS a caller's peer id exists only if it proves it: the allow-list needs Peer ID Authentication
    auth: native.length > 0 && !allowAny ? { server: {} } : undefined,
    // no limit on a request's total duration (an upload, a long generation); the headers keep theirs
    server: { requestTimeout: 0 }
  }).catch(async (err: unknown) => { await node.stop(); throw err })

  const pseudonym = `libp2phttp-${node.peerId.toString().slice(-8)}`
  const allow = allowAny ? 'any' : allowed
  // logged when the response closes: after an Expect: 100-continue exchange Node has let go of req.socket by then
  const peerOf = (req: IncomingMessage): string => remotePeer(req)?.toString() ?? (req.socket as IncomingMessage['socket'] | null)?.remoteAddress ?? '-'
  if (upstream != null) {
    const proxy = proxyTo(upstream, { pseudonym })
    // an http.Server (never listening): the host hands it upgrade requests (WebSocket) too
    const server = createServer(logRequests(allowPeers(proxy, { allow, pseudonym }), logger, peerOf))
    const refusal = accessRefusal(allow)
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const why = refusal(req)
      if (why == null) {
        proxy.upgrade(req, socket, head)
        return
      }
      socket.on('error', () => {})
      failUpgrade(socket, pseudonym, 403, 'http_request_denied', why)
    })
    if (protocol == null) {
      host.serve(server)
    } else {
      host.handle(protocol, server)
    }
  }
  if (exit) {
    host.handle(EXIT_PROTOCOL, createExit({
      allow,
      allowEgress: egress,
      pseudonym,
      wrap: listener => logRequests(listener, logger, peerOf),
      onTunnel: ({ req, status, bytes, ms }) => { logger.request({ peer: peerOf(req), method: 'CONNECT', path: originalUrl(req), status, bytes, ms }) }
    }))
  }

  const addrs = host.addrs()
  io.out(`peer ${node.peerId.toString()}`)
  for (const addr of addrs) io.out(`listen ${addr.toString()}`)
  const who = allowAny ? 'any peer' : allowed.map(String).join(', ')
  if (allowAny) logger.warn(`--allow-any: every peer that can reach this node can use the ${exit ? 'exit and the ' : ''}service`)
  if (upstream != null) {
    io.out(`serving ${upstream} ${protocol == null ? 'at /' : `as ${protocol}`} to ${who}`)
  }
  if (exit) {
    io.out(`exit for ${who}${egress.length === 0 ? '' : `; also allowed: ${egress.join(', ')}`}`)
    io.out(`forward proxy on the consumer: libp2phttp proxy --forward --to ${pasteAddr(addrs).toString()} --port 8541`)
  }
  if (upstream != null) {
    io.out(`on the consumer: libp2phttp proxy --to ${pasteAddr(addrs).toString()}${protocol == null ? '' : ` --protocol ${protocol}`} --port 8000`)
  }

  await untilSignal(logger, grace, async (ms) => {
    await host.close({ timeout: ms })
    await node.stop()
  })
  return 0
}

/** The address to suggest to a consumer: a stream address, preferring one that is not loopback. */
function pasteAddr (addrs: Multiaddr[]): Multiaddr {
  const streams = addrs.filter(a => !isHTTPTransportAddress(a))
  const pool = streams.length > 0 ? streams : addrs
  return pool.find(a => !/^\/ip[46]\/(127\.|::1\/)/.test(a.toString())) ?? pool[0]
}
