/**
 * `libp2phttp proxy --to MULTIADDR --port 8000`: the consumer. A local HTTP server on 127.0.0.1 whose
 * every request goes to the provider's protocol; its URL is a base URL for any HTTP client.
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { isHTTPTransportAddress } from '../../addr/addressing.js'
import { UsageError } from '../../errors.js'
import { createHTTPHost } from '../../host.js'
import { forwardToPeer } from '../../proxy/consumer.js'
import { EXIT_PROTOCOL } from '../../proxy/exit.js'
import { forwardProxy } from '../../proxy/forward.js'
import { isLoopback } from '../../proxy/host-check.js'
import { keepConnected } from '../../proxy/redial.js'
import { COMMON_OPTIONS, COMMON_USAGE, milliseconds, noPositionals, parse, port as portOption } from '../args.js'
import { CLIENT_OPTIONS, CLIENT_USAGE, clientInit, describeFailure } from '../client-options.js'
import { CONSUMER_OPTIONS, CONSUMER_USAGE, consumerInit } from '../consumer-options.js'
import { keyPath, loadOrCreateKey } from '../identity.js'
import { LOCAL_OPTIONS, LOCAL_USAGE, REFUSAL_NAMES, listenLocal, localLimits } from '../local-server.js'
import { createLogger, logRequests } from '../log.js'
import { LOOKUP_OPTIONS, LOOKUP_USAGE, bootstrapAddrs, checkLookup, joinLookup, lookupServices } from '../lookup.js'
import { createNode, firstContact } from '../node.js'
import { isRelayed, sentVia } from '../relay-options.js'
import { DEFAULT_GRACE, untilSignal } from '../shutdown.js'
import type { CommandIO } from './io.js'
import type { LocalServer } from '../local-server.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Connection } from '@libp2p/interface'

export const PROXY_USAGE = `libp2phttp proxy --to MULTIADDR [--forward] [options]
  Serve http://127.0.0.1:PORT/ and forward every request to the provider's protocol; with --forward,
  a forward proxy (curl -x, HTTP(S)_PROXY) whose requests the provider's exit (serve --exit) performs.
  --forward             be a forward proxy (default port 8541)
  --to MULTIADDR        the provider's address, ending in /p2p/<peer id> (a bare /p2p/<peer id> with --bootstrap)
  --protocol ID         the provider's protocol (as given to serve --protocol; default: its root)
  --port N              local port (default 8000; 0 picks a free one)
  --bind ADDRESS        local address (default 127.0.0.1)
  --allow-host NAME     accept this name in Host (besides localhost, 127.0.0.1, [::1] and the
                        bound address): requests naming another host are refused (DNS rebinding)
  --timeout MS          how long the provider may take to send response headers (default 300000)
${CONSUMER_USAGE}
                        (--cache, --cache-size, --no-compress: not with --forward)
${LOOKUP_USAGE}
${CLIENT_USAGE}
${LOCAL_USAGE} (not with --forward)
${COMMON_USAGE}`

/** A provider's address given with `flag` (`--to`, `--connect`), which must name its peer. */
export function providerAddress (to: string, flag = '--to'): Multiaddr {
  let addr: Multiaddr
  try {
    addr = multiaddr(to.replace(/^multiaddr:/, ''))
  } catch (err) {
    throw new UsageError(`${flag} ${to}: not a multiaddr (like /ip4/192.0.2.7/tcp/4001/p2p/12D3KooW…, as serve prints)`, { cause: err })
  }
  if (addr.getComponents().find(c => c.name === 'p2p') == null) throw new UsageError(`${flag} ${to}: add the provider's peer id: …/p2p/<peer id> (serve prints the whole address)`)
  return addr
}

/** Run `proxy` until a signal; resolves with the exit code. */
export async function proxy (argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    ...LOCAL_OPTIONS,
    ...CLIENT_OPTIONS,
    ...LOOKUP_OPTIONS,
    ...CONSUMER_OPTIONS,
    to: { type: 'string' },
    protocol: { type: 'string' },
    port: { type: 'string' },
    bind: { type: 'string' },
    timeout: { type: 'string' },
    forward: { type: 'boolean' },
    'allow-host': { type: 'string', multiple: true }
  })
  noPositionals(positionals)
  if (values.help === true) { io.out(PROXY_USAGE); return 0 }
  if (values.to == null) throw new UsageError('proxy needs --to MULTIADDR')
  const to = providerAddress(values.to)
  const bootstrap = bootstrapAddrs(values.bootstrap)
  checkLookup(to, bootstrap, '--to')
  const forwarding = values.forward === true
  if (forwarding && values.protocol != null) throw new UsageError('--forward uses the exit protocol: no --protocol')
  // a forward proxy carries a browser's requests to every site, each with that site's Origin
  if (forwarding && values['allow-origin'] != null) throw new UsageError('--forward does not check Origin: no --allow-origin')
  // a forward proxy's answers come from every site through the exit: not this cache's business
  const unforwarded = (['cache', 'cache-size', 'no-compress'] as const).find(name => values[name] != null)
  if (forwarding && unforwarded != null) throw new UsageError(`--${unforwarded} is for proxy --to without --forward`)
  const consumer = consumerInit(values)
  const limits = localLimits(values)
  const port = portOption('port', values.port, forwarding ? 8541 : 8000)
  const grace = milliseconds('grace', values.grace, DEFAULT_GRACE)
  const headersTimeout = milliseconds('timeout', values.timeout, 300_000)
  const logger = createLogger({ quiet: values.quiet, json: values.json, write: io.err, out: io.out })

  const client = await clientInit(values, m => { logger.warn(m) })

  const { key } = await loadOrCreateKey(keyPath(values.key, io.env))
  const node = await createNode(key, [], { services: bootstrap.length > 0 ? lookupServices('client') : undefined })
  const host = await createHTTPHost({ libp2p: node, ...client })
  const bind = values.bind ?? '127.0.0.1'
  if (!isLoopback(bind)) logger.warn(`--bind ${bind}: whoever can reach this address can use the proxy with this machine's peer identity`)
  // a reverse proxy for local programs: a web page must not drive it through DNS rebinding or a
  // cross-site request, so Host must name this machine and Origin, if any, be its own (the forward
  // proxy is addressed by absolute-form targets instead)
  const protocol = forwarding ? EXIT_PROTOCOL : values.protocol
  const forward = forwardToPeer(host, to, { protocol, headersTimeout, ...(forwarding ? {} : { ...consumer, allowHosts: values['allow-host'] ?? [], allowOrigins: values['allow-origin'] ?? [], names: REFUSAL_NAMES }) })
  const proxyListeners = forwarding
    ? forwardProxy(host, to, {
      headersTimeout,
      onTunnel: ({ req, status, bytes, ms }) => { logger.request({ peer, method: 'CONNECT', path: req.url ?? '', status, bytes, ms }) }
    })
    : undefined
  const peer = to.getComponents().findLast(c => c.name === 'p2p')?.value ?? ''
  const relaysInPlay = isRelayed(to) || bootstrap.length > 0
  // through a relay, say when a direct connection to the provider opens: from then on requests use it
  const onOpen = (evt: CustomEvent<Connection>): void => {
    const c = evt.detail
    if (c.limits == null && c.remotePeer.toString() === peer) logger.info(`direct connection to ${peer} (${c.remoteAddr.toString()})`)
  }
  if (relaysInPlay) node.addEventListener('connection:open', onOpen)
  let local: LocalServer
  try {
    // through a relay, each request's line says whether it went relayed or direct (DCUtR)
    // (a provider found through a relay's DHT is likely behind a NAT too)
    const via = relaysInPlay ? () => sentVia(node, peerIdFromString(peer)) : undefined
    local = await listenLocal(logRequests(proxyListeners?.request ?? forward, logger, () => peer, via), { hostname: bind, port, upgrade: forwarding ? undefined : forward.upgrade, forwardProxy: forwarding, ...limits })
    if (proxyListeners != null) local.server.on('connect', proxyListeners.connect)
  } catch (err) {
    await host.close()
    await node.stop()
    throw err
  }
  logger.notice(`this peer: ${node.peerId.toString()} (the provider must --allow it)`, { peer: node.peerId.toString() })
  // a first contact, so the operator learns now rather than at the first request; in the background
  // and not fatal: the provider may come up later, and every request dials on its own. Without a
  // protocol, resolving the URL needs no contact: the provider is contacted, as gateway --connect does.
  // An HTTPS provider (/tls/http) is reached by undici, not by the node: its first contact is the
  // well-known map (public, no request reaches the upstream), which runs TLS and Peer ID Authentication,
  // so an untrusted certificate or another peer is reported now; there is no connection to keep.
  const native = isHTTPTransportAddress(to)
  // the bootstrap peers first: a lookup of the provider's id needs them
  const joined = joinLookup(node, bootstrap, logger.warn)
  const contact = native || protocol == null ? joined.then(async () => await firstContact({ node, host }, to, logger.warn)) : Promise.resolve(true)
  void contact.then(async (reached) => {
    if (!reached) return
    try {
      logger.info(`forwarding to ${await forward.resolve()} (${to.toString()})${native ? `, the provider proven ${peer} (Peer ID Authentication)` : ''}`)
    } catch (err) {
      logger.warn(`the provider cannot be reached yet: ${describeFailure(err)}`)
    }
  })
  const provider = peerIdFromString(peer)
  const stopRedial = native ? () => {} : keepConnected(node, provider, [to], {
    report: (e) => {
      if (e.type === 'disconnected') logger.warn(`connection to ${peer} lost; redialling`)
      else if (e.type === 'retry') logger.warn(`redial ${e.attempt} failed: ${e.error?.message ?? ''}; next in ~${e.delay ?? 0} ms`)
      else logger.info(`reconnected to ${peer} (attempt ${e.attempt})`)
    }
  })
  // as gateway does: with --bootstrap, the address is printed once the DHT holds a bootstrap peer
  // (or joinLookup gave up, bounded), since a lookup made before then finds no one to ask
  await joined
  const proxyAddr = local.url.replace(/^http:\/\//, '').replace(/\/$/, '')
  logger.print(forwarding ? `${proxyAddr} (curl -x ${local.url.replace(/\/$/, '')})` : local.url, forwarding ? { proxy: proxyAddr } : { url: local.url })

  await untilSignal(logger, grace, async (ms) => {
    stopRedial()
    // CONNECT tunnels are no longer HTTP connections: the server's close would wait for them for ever
    const tunnels = setTimeout(() => { proxyListeners?.closeTunnels() }, ms)
    await local.close(ms)
    clearTimeout(tunnels)
    await host.close({ timeout: 100 })
    await node.stop()
  })
  return 0
}
