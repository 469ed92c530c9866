/**
 * `libp2phttp gateway --port 8080`: a local HTTP server for `/p2p/<peer>/…` paths (see `proxy/gateway.ts`).
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { UsageError } from '../../errors.js'
import { isHTTPTransportAddress } from '../../addr/addressing.js'
import { createHTTPHost } from '../../host.js'
import { gateway as gatewayListener, parseGatewayPath } from '../../proxy/gateway.js'
import { COMMON_OPTIONS, COMMON_USAGE, milliseconds, noPositionals, parse, port as portOption } from '../args.js'
import { CLIENT_OPTIONS, CLIENT_USAGE, clientInit } from '../client-options.js'
import { CONSUMER_OPTIONS, CONSUMER_USAGE, consumerInit } from '../consumer-options.js'
import { keyPath, loadOrCreateKey } from '../identity.js'
import { isLoopback } from '../../proxy/host-check.js'
import { LOCAL_OPTIONS, LOCAL_USAGE, REFUSAL_NAMES, listenLocal, localLimits } from '../local-server.js'
import { createLogger, logRequests } from '../log.js'
import { LOOKUP_OPTIONS, LOOKUP_USAGE, bootstrapAddrs, checkLookup, joinLookup, lookupServices } from '../lookup.js'
import { createNode, firstContact } from '../node.js'
import { isRelayed, sentVia } from '../relay-options.js'
import { DEFAULT_GRACE, untilSignal } from '../shutdown.js'
import { providerAddress } from './proxy.js'
import type { CommandIO } from './io.js'
import type { LocalServer } from '../local-server.js'

export const GATEWAY_USAGE = `libp2phttp gateway [options]
  Serve http://127.0.0.1:PORT/p2p/<peer>/<path> (also /p2p/<peer>/http/<path> and
  /p2p/<peer>/x/<name>/http/<path>: protocol /x/<name> from the peer's well-known map).
  --port N              local port (default 8080; 0 picks a free one)
  --bind ADDRESS        local address (default 127.0.0.1)
  --allow-host NAME     accept this name in Host (besides localhost, 127.0.0.1, [::1] and the
                        bound address; DNS rebinding defence), repeatable
  --connect MULTIADDR   a peer to dial at start (so its addresses are known), repeatable; a /tls/http
                        one is where its paths go (Peer ID Authentication; see --cacert)
  --stream-protocol ID  the libp2p protocol requests go out on (default /http/1.1); /http reaches
                        a Kubo "ipfs p2p listen --allow-custom-protocol /http …" provider
${CONSUMER_USAGE}
${LOOKUP_USAGE}
${CLIENT_USAGE}
${LOCAL_USAGE}
${COMMON_USAGE}`

/** Run `gateway` until a signal; resolves with the exit code. */
export async function gateway (argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    ...LOCAL_OPTIONS,
    ...CLIENT_OPTIONS,
    ...LOOKUP_OPTIONS,
    ...CONSUMER_OPTIONS,
    port: { type: 'string' },
    bind: { type: 'string' },
    'allow-host': { type: 'string', multiple: true },
    connect: { type: 'string', multiple: true },
    'stream-protocol': { type: 'string' }
  })
  noPositionals(positionals)
  if (values.help === true) { io.out(GATEWAY_USAGE); return 0 }
  const port = portOption('port', values.port, 8080)
  const grace = milliseconds('grace', values.grace, DEFAULT_GRACE)
  const connect = (values.connect ?? []).map(c => providerAddress(c, '--connect'))
  const bootstrap = bootstrapAddrs(values.bootstrap)
  for (const addr of connect) checkLookup(addr, bootstrap, '--connect')
  const limits = localLimits(values)
  // one store for every peer: each (peer, protocol) sees only its own entries
  const consumer = consumerInit(values)
  const logger = createLogger({ quiet: values.quiet, json: values.json, write: io.err, out: io.out })
  const bind = values.bind ?? '127.0.0.1'
  if (!isLoopback(bind)) logger.warn(`--bind ${bind}: whoever can reach this address can use the gateway with this machine's peer identity`)

  const client = await clientInit(values, m => { logger.warn(m) })

  const { key } = await loadOrCreateKey(keyPath(values.key, io.env))
  // with --bootstrap, any /p2p/<id>/ path's peer is looked up in the relay's DHT when it has no address
  const node = await createNode(key, [], { services: bootstrap.length > 0 ? lookupServices('client') : undefined })
  const streamProtocol = values['stream-protocol']
  if (streamProtocol != null && !streamProtocol.startsWith('/')) throw new UsageError(`--stream-protocol must start with /, not ${streamProtocol}`)
  const host = await createHTTPHost({ libp2p: node, streamProtocol, ...client })
  let local: LocalServer
  try {
    // the peer the path names, which the stream to it proves (read before the gateway rewrites req.url)
    const peerOf = (url: string): string => { try { return parseGatewayPath(url)?.peer.toString() ?? '-(not-a-p2p-path)' } catch { return '-(bad-peer-id)' } }
    // libp2p cannot dial an HTTPS (/tls/http) address: its peer's gateway paths go there, with Peer ID Authentication
    const https = new Map(connect.filter(isHTTPTransportAddress).map(a => [a.getComponents().findLast(c => c.name === 'p2p')?.value ?? '', a]))
    const listener = gatewayListener(host, { allowHosts: values['allow-host'] ?? [], allowOrigins: values['allow-origin'] ?? [], names: REFUSAL_NAMES, addressOf: peer => https.get(peer.toString()), ...consumer })
    // through a relay (a relayed --connect, or peers looked up with --bootstrap), each request's line says
    // whether it went relayed or direct (DCUtR), for the peer its path named when it arrived
    const via = connect.some(a => isRelayed(a)) || bootstrap.length > 0
      ? (_req: unknown, peer: string) => { try { return sentVia(node, peerIdFromString(peer)) } catch { return undefined } }
      : undefined
    local = await listenLocal(logRequests(listener, logger, req => peerOf(req.url ?? '/'), via), { hostname: bind, port, upgrade: listener.upgrade, ...limits })
  } catch (err) {
    await host.close()
    await node.stop()
    throw err
  }
  // the peers it serves must --allow this id: printed as proxy does
  logger.notice(`this peer: ${node.peerId.toString()} (the provider must --allow it)`, { peer: node.peerId.toString() })
  await joinLookup(node, bootstrap, logger.warn)
  for (const addr of connect) await firstContact({ node, host }, addr, logger.warn)
  logger.print(`${local.url}p2p/`, { url: `${local.url}p2p/` })

  await untilSignal(logger, grace, async (ms) => {
    await local.close(ms)
    await host.close({ timeout: 100 })
    await node.stop()
  })
  return 0
}
