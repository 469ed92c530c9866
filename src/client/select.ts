/**
 * Transport selection: whether a request goes over the native HTTP transport (HTTPS on TCP) or as
 * HTTP/1.1 on a libp2p `/http/1.1` stream. Pure: everything it looks at is passed in.
 *
 * @module
 */
import { CODE_TLS, CODE_HTTPS } from '@multiformats/multiaddr'
import { httpEndpoint, isHTTPTransportAddress, perMultiaddr } from '../addr/addressing.js'
import { InsecureHTTPError, NoLibp2pError, NoTransportError, PeerAuthRequiredError } from '../errors.js'
import type { TransportChoice } from '../errors.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the request is addressed to. */
export interface SelectionTarget {
  /** The target was an http(s) URL (not one that names a peer). */
  url?: URL
  /** The peer the target names (`/p2p/<id>`, a `PeerId`, a peer URL). */
  peer?: PeerId
  /** The target's multiaddrs in the caller's order, `/dnsaddr` resolved, without `/http-path`. */
  addrs: Multiaddr[]
}

/** The caller's preferences. */
export interface SelectionOptions {
  /** Use an HTTP transport address when the peer has one, even over an open libp2p connection. */
  preferNativeHTTP?: boolean
  /** Allow plain `/http` (no TLS) addresses. */
  insecureAllowHTTP?: boolean
}

/** What the host knows right now. */
export interface SelectionState {
  /** The host has a libp2p node (the stream transport exists). */
  hasLibp2p: boolean
  /** There is an open libp2p connection to the target's peer. */
  connected: boolean
  /** The host can prove an HTTPS server's peer id (Peer ID Authentication). */
  canAuthenticateServer: boolean
  /**
   * Why the named peer's HTTPS server cannot be proven although the host can run the handshake (it was
   * tried: the server does not run Peer ID Authentication, which the spec makes optional). Rules that
   * may fall back to a stream then do, as for a host without a key; the others still choose native.
   */
  nativeUnproven?: string
}

/** The chosen transport, why, and for `native` the address to use. */
export interface Selection extends TransportChoice {
  /** For `native` from multiaddrs: the HTTP transport address to connect to. */
  addr?: Multiaddr
}

const isPlainHTTP = perMultiaddr((ma: Multiaddr): boolean =>
  !ma.getComponents().some(c => c.code === CODE_TLS || c.code === CODE_HTTPS))

/** An HTTP address this host has a client for (not `/quic-v1/http`, which needs HTTP/3). */
const isReachable = perMultiaddr((ma: Multiaddr): boolean => {
  try {
    httpEndpoint(ma)
    return true
  } catch {
    return false
  }
})

/**
 * Choose the transport for a request. The rules, first match wins:
 *
 * 1. **An http(s) URL** goes native (the caller named a web origin, not a peer).
 * 2. **Only HTTP transport addresses** given (an explicit HTTP address) go native, to the first one.
 * 3. **An open libp2p connection** to the peer carries the request as a stream, unless
 *    `preferNativeHTTP` is set and the peer has an HTTP address (go-libp2p's rule).
 * 4. **`preferNativeHTTP`** with an HTTP address among the target's goes native.
 * 5. **No HTTP address** (stream addresses only, or just a peer id) goes over a stream.
 * 6. **The first address is an HTTP address** (and no connection is open) goes native, as go-libp2p does.
 * 7. Otherwise a **stream**.
 *
 * Constraints applied on top:
 * - HTTP addresses this host cannot reach (`/udp/…/quic-v1/http`: no HTTP/3 client) are ignored.
 * - Plain `/http` addresses count only with `insecureAllowHTTP`; without it they are ignored, and a
 *   target that has nothing else fails with {@link InsecureHTTPError}.
 * - Without a libp2p node, a stream choice (rules 5 and 7) falls back to a usable HTTP address.
 * - **A native request to a named peer** (`/http/p2p/<id>`) needs Peer ID Authentication to prove the
 *   server is that peer. A host with a signing key (`canAuthenticateServer`) goes native and runs it;
 *   one without falls back to a stream when the target offers one (rules 3–7), and fails with
 *   {@link PeerAuthRequiredError} when the caller gave only HTTP addresses (rule 2). The same fallback
 *   applies when the handshake was tried and the server turned out not to run it (`nativeUnproven`).
 * - The stream transport needs a libp2p node ({@link NoLibp2pError} otherwise).
 *
 * @throws {InsecureHTTPError} | {PeerAuthRequiredError} | {NoLibp2pError} | {NoTransportError}
 */
export function selectTransport (target: SelectionTarget, options: SelectionOptions, state: SelectionState): Selection {
  if (target.url != null) {
    return { transport: 'native', reason: 'rule 1: an http(s) URL' }
  }
  const http = target.addrs.filter(isHTTPTransportAddress)
  const streamAddrs = target.addrs.filter(ma => !isHTTPTransportAddress(ma))
  const reachable = http.filter(isReachable)
  const usable = options.insecureAllowHTTP === true ? reachable : reachable.filter(ma => !isPlainHTTP(ma))
  const c: Candidates = {
    target,
    state,
    reachable,
    usable,
    refusedPlain: reachable.length > usable.length ? ' (plain /http addresses ignored: insecureAllowHTTP is off)' : '',
    unreachable: http.length > reachable.length ? ` (${http.length - reachable.length} HTTP address(es) without a client here, e.g. HTTP/3, ignored)` : '',
    canStream: target.peer != null || streamAddrs.length > 0
  }

  if (http.length > 0 && streamAddrs.length === 0) {
    if (reachable.length === 0) {
      throw new NoTransportError(`only HTTP addresses this host has no client for were given (${http[0].toString()}: HTTP/3 over QUIC is not supported; use /tcp/…/tls/http)`)
    }
    if (usable.length === 0) {
      throw new InsecureHTTPError(reachable[0].toString())
    }
    return nativeChoice(c, 'rule 2: only HTTP transport addresses were given', false)
  }
  if (state.connected && !(options.preferNativeHTTP === true && usable.length > 0)) {
    return streamChoice(c, 'rule 3: a libp2p connection to the peer is open')
  }
  if (options.preferNativeHTTP === true && usable.length > 0) {
    return nativeChoice(c, 'rule 4: preferNativeHTTP and the peer has an HTTP transport address', true)
  }
  if (usable.length === 0) {
    return streamChoice(c, `rule 5: no HTTP transport address${c.refusedPlain === '' ? '' : ' usable'}`)
  }
  if (usable.includes(target.addrs[0])) {
    return nativeChoice(c, 'rule 6: the first address is an HTTP transport address', true)
  }
  return streamChoice(c, 'rule 7: the first address is a libp2p address')
}

/** What {@link selectTransport} found in a target, for its two outcomes. */
interface Candidates {
  target: SelectionTarget
  state: SelectionState
  reachable: Multiaddr[]
  usable: Multiaddr[]
  refusedPlain: string
  unreachable: string
  canStream: boolean
}

/**
 * A stream, for `reason`, or what replaces it. Module functions rather than closures in
 * `selectTransport`: the published build keeps function names, which costs a `defineProperty` for each
 * named closure made per request (issue 21).
 */
function streamChoice (c: Candidates, reason: string): Selection {
  const { target, state, usable, reachable } = c
  if (!state.hasLibp2p) {
    if (usable.length > 0 && (target.peer == null || state.canAuthenticateServer)) {
      return { transport: 'native', reason: `${reason}, but this host has no libp2p node: using the HTTP address`, addr: usable[0] }
    }
    if (reachable.length > 0 && usable.length === 0) {
      throw new InsecureHTTPError(reachable[0].toString())
    }
    throw new NoLibp2pError(`${reason}, but this HTTPHost has no libp2p node: pass \`libp2p\` to createHTTPHost`)
  }
  if (!c.canStream) {
    throw new NoTransportError(`${reason}, but the target names no peer and has no libp2p address`)
  }
  return { transport: 'stream', reason: `${reason}${c.refusedPlain}${c.unreachable}` }
}

/** The native transport, for `reason`, or the stream that replaces it (`fallback`) when the server cannot be proven. */
function nativeChoice (c: Candidates, reason: string, fallback: boolean): Selection {
  const { target, state } = c
  const addr = c.usable[0]
  const unproven = target.peer == null
    ? undefined
    : state.nativeUnproven ?? (state.canAuthenticateServer ? undefined : `proving the HTTPS server is ${target.peer.toString()} needs Peer ID Authentication`)
  if (unproven != null) {
    if (fallback && c.canStream && state.hasLibp2p) {
      return streamChoice(c, `${reason}, but ${unproven}: using a stream instead`)
    }
    if (!state.canAuthenticateServer) {
      throw new PeerAuthRequiredError(addr.toString())
    }
  }
  return { transport: 'native', reason, addr }
}
