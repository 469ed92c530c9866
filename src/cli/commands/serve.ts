/**
 * `libp2phttp serve --upstream URL`: the provider. Exposes a local HTTP service to allowed peers under a
 * protocol, over `/http/1.1` streams (and native HTTPS for `…/tls/http` listen addresses).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createServer } from 'node:http'
import { isHTTPTransportAddress } from '../../addr/addressing.js'
import { InsecureHTTPError, UnsafeFileError, UsageError } from '../../errors.js'
import { createHTTPHost } from '../../host.js'
import { parseListenAddress } from '../../server/native.js'
import { remotePeer } from '../../identity.js'
import { accessRefusal, allowPeers } from '../../proxy/access.js'
import { EXIT_PROTOCOL, createExit } from '../../proxy/exit.js'
import { originalUrl } from '../../server/original-url.js'
import { failUpgrade, proxyTo } from '../../proxy/upstream.js'
import { COMMON_OPTIONS, COMMON_USAGE, milliseconds, noPositionals, parse } from '../args.js'
import { fileRefusal } from '../file-check.js'
import { keyPath, loadOrCreateKey } from '../identity.js'
import { createLogger, logRequests } from '../log.js'
import { CONFIG_EXCLUDES, kuboStreamAliases, planFromFile, planFromFlags } from '../serve-plan.js'
import { lookupServices } from '../lookup.js'
import { ANNOUNCE_OPTIONS, ANNOUNCE_USAGE, announceAddrs } from '../announce.js'
import { createNode } from '../node.js'
import { RELAY_OPTIONS, RELAY_OPTIONS_USAGE, isRelayed, keepReserved, relayStartError, relaySpecs, servedVia, unreserved } from '../relay-options.js'
import { DEFAULT_GRACE, untilSignal } from '../shutdown.js'
import type { HTTPHost } from '../../host.js'
import type { Logger, RequestRecord } from '../log.js'
import type { Allow, ServePlan, ServiceSpec } from '../serve-plan.js'
import type { CommandIO } from './io.js'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Multiaddr } from '@multiformats/multiaddr'

export const SERVE_USAGE = `libp2phttp serve (--upstream URL | --exit) (--allow PEER… | --allow-any) [options]
libp2phttp serve --config FILE [--key FILE] [--quiet] [--json] [--grace MS]
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
  --compress            compress the upstream's uncompressed text answers for the peer hop (gzip or br
                        as the consumer accepts, zstd where Node has it; each chunk flushed: SSE stays live)
${RELAY_OPTIONS_USAGE}
${ANNOUNCE_USAGE}
  --config FILE         several services from a JSON file (not YAML) instead of the flags above:
                        {"listen": [MULTIADDR…], "key": FILE, "tlsKey": FILE, "tlsCert": FILE,
                         "services": [{"upstream": URL, "protocol": ID, "allow": [PEER…] | "allowAny": true,
                                       "compress": true}…],
                         "exit": {"allow": [PEER…] | "allowAny": true, "allowEgress": [RULE…]}}
                        relative paths are relative to the file; --key overrides its "key"
${COMMON_USAGE}`

/** The first local port suggested to consumers (the next services get the next ports): `proxy`'s default. */
const CONSUMER_PORT = 8000

/** Run `serve` until a signal; resolves with the exit code. */
export async function serve (argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    config: { type: 'string' },
    upstream: { type: 'string' },
    protocol: { type: 'string' },
    listen: { type: 'string', multiple: true },
    'tls-key': { type: 'string' },
    'tls-cert': { type: 'string' },
    allow: { type: 'string', multiple: true },
    'allow-any': { type: 'boolean' },
    exit: { type: 'boolean' },
    'allow-egress': { type: 'string', multiple: true },
    compress: { type: 'boolean' },
    ...RELAY_OPTIONS,
    ...ANNOUNCE_OPTIONS
  })
  noPositionals(positionals)
  if (values.help === true) { io.out(SERVE_USAGE); return 0 }
  let plan: ServePlan
  if (values.config != null) {
    const conflicts = CONFIG_EXCLUDES.filter(name => values[name] != null)
    if (conflicts.length > 0) throw new UsageError(`--config excludes ${conflicts.map(n => `--${n}`).join(', ')} (put them in the file)`)
    plan = await planFromFile(values.config)
  } else {
    plan = planFromFlags(values)
  }
  const grace = milliseconds('grace', values.grace, DEFAULT_GRACE)
  const { services, exit } = plan
  const relays = relaySpecs(values.relay)

  const native = plan.listen.filter(isHTTPTransportAddress)
  const streams = plan.listen.filter(a => !isHTTPTransportAddress(a))
  // where the addresses came from, for the errors that name one
  const listenFrom = values.config == null ? '--listen' : `"listen" in ${values.config}`
  for (const addr of native) {
    // the library's opt-in for plain HTTP (tests, loopback) is not a flag of the command
    if (insecureHTTP(addr)) throw new UsageError(`${listenFrom} ${addr.toString()}: plain HTTP listeners are not offered (the libp2p+HTTP spec forbids them); use …/tls/http with a certificate`)
  }
  let tls: { key: Buffer, cert: Buffer } | undefined
  if (native.length > 0) {
    if (plan.tls == null) throw new UsageError(`a /tls/http listener needs ${values.config == null ? '--tls-key and --tls-cert' : 'tlsKey and tlsCert'}`)
    const unsafe = await fileRefusal(plan.tls.key, 'the TLS key file')
    if (unsafe != null) throw new UnsafeFileError(plan.tls.key, unsafe)
    tls = { key: await readFile(plan.tls.key), cert: await readFile(plan.tls.cert) }
  }

  const logger = createLogger({ quiet: values.quiet, json: values.json, write: io.err, out: io.out })
  const { key } = await loadOrCreateKey(values.key ?? plan.key ?? keyPath(undefined, io.env))
  const announce = announceAddrs(values.announce, peerIdFromPrivateKey(key).toString())
  // with relays, the node joins their DHT as a server: consumers find it by peer id (--bootstrap)
  const node = await createNode(key, [...streams.map(String), ...relays.map(r => r.listen.toString())], { listenFrom, announce, services: relays.length > 0 ? lookupServices('server') : undefined })
    .catch((err: Error) => { throw relayStartError(err, peerIdFromPrivateKey(key)) })
  const refused = unreserved(node, relays)
  if (refused.length > 0) {
    await node.stop()
    throw new Error(`no slot on the relay ${refused.map(r => r.addr.toString()).join(', ')}: it is unreachable, or it refused this peer (on the relay: libp2phttp relay --allow ${node.peerId.toString()})`)
  }
  const restricted = [...services, ...(exit == null ? [] : [exit])].some(s => s.allow !== 'any')
  const host = await createHTTPHost({
    libp2p: node,
    listen: native,
    tls,
    // over HTTPS a caller's peer id exists only if it proves it: an allow-list needs Peer ID Authentication
    auth: native.length > 0 && restricted ? { server: {} } : undefined,
    // no limit on a request's total duration (an upload, a long generation); the headers keep theirs
    server: { requestTimeout: 0 },
    // Kubo's p2p HTTP proxy reaches the services on its own stream protocols, behind the same allow-lists
    streamAliases: kuboStreamAliases(services)
  }).catch(async (err: unknown) => { await node.stop(); throw err })

  const pseudonym = `libp2phttp-${node.peerId.toString().slice(-8)}`
  // asked when the request arrives (see logRequests); without a proven peer id, a native HTTPS client
  // that ran no Peer ID Authentication (--allow-any), known only by its address
  const peerOf = (req: IncomingMessage): string => remotePeer(req)?.toString() ?? `-(unauthenticated:${(req.socket as IncomingMessage['socket'] | null)?.remoteAddress ?? 'unknown'})`
  // with relays, each request's line says whether it came relayed or direct
  const viaOf = relays.length > 0 ? servedVia : undefined
  for (const service of services) mountService(host, service, pseudonym, logger, peerOf, viaOf)
  if (exit != null) {
    host.handle(EXIT_PROTOCOL, createExit({
      allow: exit.allow,
      allowEgress: exit.allowEgress,
      pseudonym,
      wrap: listener => logRequests(listener, logger, peerOf, viaOf),
      onTunnel: ({ req, status, bytes, ms }) => { logger.request({ peer: peerOf(req), method: 'CONNECT', path: originalUrl(req), status, bytes, ms }) }
    }))
  }

  const addrs = host.addrs()
  const paste = pasteAddr(addrs, announce).toString()
  logger.print(`peer ${node.peerId.toString()}`, { peer: node.peerId.toString() })
  for (const addr of addrs) logger.print(`listen ${addr.toString()}`, { listen: addr.toString() })
  const who = (allow: Allow): string => allow === 'any' ? 'any peer' : allow.map(String).join(', ')
  // one warning per allow-list given as any (the flags' one covers the service and the exit)
  const open = new Map<string, string[]>()
  for (const s of services) if (s.allow === 'any') open.set(s.allowFrom, [...open.get(s.allowFrom) ?? [], `the service ${s.protocol ?? 'at /'}`])
  if (exit?.allow === 'any') open.set(exit.allowFrom, [...open.get(exit.allowFrom) ?? [], 'the exit'])
  for (const [from, what] of open) logger.warn(`${from}: every peer that can reach this node can use ${what.join(' and ')}`)
  for (const s of services) {
    logger.print(`serving ${s.upstream} ${s.protocol == null ? 'at /' : `as ${s.protocol}`} to ${who(s.allow)}`, { upstream: s.upstream, protocol: s.protocol ?? null, allow: s.allow === 'any' ? 'any' : s.allow.map(String) })
  }
  if (exit != null) {
    logger.print(`exit for ${who(exit.allow)}${exit.allowEgress.length === 0 ? '' : `; also allowed: ${exit.allowEgress.join(', ')}`}`, { exit: true, allow: exit.allow === 'any' ? 'any' : exit.allow.map(String), allowEgress: exit.allowEgress })
    const command = `libp2phttp proxy --forward --to ${paste} --port 8541`
    logger.print(`forward proxy on the consumer: ${command}`, { consumer: command })
  }
  // one local port per service: pasted side by side on one machine, the commands must not collide
  services.forEach((s, i) => {
    const command = `libp2phttp proxy --to ${paste}${s.protocol == null ? '' : ` --protocol ${s.protocol}`} --port ${CONSUMER_PORT + i}`
    logger.print(`on the consumer: ${command}`, { consumer: command })
  })
  // behind a NAT the consumer reaches this node through the relay: the same commands with its address
  const relayed = addrs.find(isRelayed)
  if (relayed != null) {
    services.forEach((s, i) => {
      const command = `libp2phttp proxy --to ${relayed.toString()}${s.protocol == null ? '' : ` --protocol ${s.protocol}`} --port ${CONSUMER_PORT + i}`
      logger.print(`on a consumer behind NAT (through the relay): ${command}`, { consumer: command, relayed: true })
      // or by peer id alone, looked up in the relay's DHT
      const lookup = `libp2phttp proxy --to /p2p/${node.peerId.toString()} --bootstrap ${relays[0].addr.toString()}${s.protocol == null ? '' : ` --protocol ${s.protocol}`} --port ${CONSUMER_PORT + i}`
      logger.print(`or by peer id (the relay's DHT): ${lookup}`, { consumer: lookup, relayed: true })
    })
  }
  const stopReserving = keepReserved(node, relays, logger)

  await untilSignal(logger, grace, async (ms) => {
    stopReserving()
    await host.close({ timeout: ms })
    await node.stop()
  })
  return 0
}

/**
 * Mount one service: `proxyTo` its upstream inside an http.Server (never listening: the host hands it upgrade
 * requests, WebSocket, too), its allow-list checked for requests and upgrades alike.
 */
function mountService (host: HTTPHost, service: ServiceSpec, pseudonym: string, logger: Logger, peerOf: (req: IncomingMessage) => string, viaOf?: (req: IncomingMessage) => RequestRecord['via']): void {
  const proxy = proxyTo(service.upstream, { pseudonym, compress: service.compress })
  const server = createServer(logRequests(allowPeers(proxy, { allow: service.allow, pseudonym }), logger, peerOf, viaOf))
  const refusal = accessRefusal(service.allow)
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const why = refusal(req)
    if (why == null) {
      proxy.upgrade(req, socket, head)
      return
    }
    socket.on('error', () => {})
    failUpgrade(socket, pseudonym, 403, 'http_request_denied', why)
  })
  if (service.protocol == null) {
    host.serve(server)
  } else {
    host.handle(service.protocol, server)
  }
}

/** Whether an HTTP transport listen address is plain HTTP (`…/http`), which only the library's opt-in allows. */
function insecureHTTP (addr: Multiaddr): boolean {
  try {
    parseListenAddress(addr)
    return false
  } catch (err) {
    return err instanceof InsecureHTTPError
  }
}

/**
 * The address to suggest to a consumer: an announced one (`--announce`: where others reach this
 * machine), else a stream address, preferring one that is not loopback.
 */
export function pasteAddr (addrs: Multiaddr[], announced: Multiaddr[] = []): Multiaddr {
  const chosen = addrs.find(a => announced.some(b => a.toString().startsWith(`${b.toString()}/p2p/`)))
  if (chosen != null) return chosen
  const streams = addrs.filter(a => !isHTTPTransportAddress(a))
  const pool = streams.length > 0 ? streams : addrs
  return pool.find(a => !/^\/ip[46]\/(127\.|::1\/)/.test(a.toString())) ?? pool[0]
}
