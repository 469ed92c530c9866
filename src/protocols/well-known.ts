/**
 * The well-known protocol map (libp2p+HTTP spec §Namespace; RFC 8615): serving it, negotiating it, and
 * reading what a peer sent.
 *
 * Served as the flat map `{"/proto/1":{"path":"/p/"}}`, which is what go-libp2p and @libp2p/http read;
 * the spec's example wraps it in `{"protocols": …}`, which both would misread. Read in either shape.
 *
 * @module
 */
import { InvalidProtocolMapError } from '../errors.js'
import type { RequestListener } from '../server/handler.js'

/** The well-known resource (libp2p+HTTP spec). */
export const WELL_KNOWN_PATH = '/.well-known/libp2p/protocols'

/** The resource's name in early drafts of the spec, still served by deployed go-libp2p nodes. */
export const LEGACY_WELL_KNOWN_PATH = '/.well-known/libp2p'

/** Protocol id → where it is mounted. `path` is an absolute URL path prefix. */
export type ProtocolMap = Record<string, { path: string }>

/** Whether `pathname` names the well-known resource, under its current or its legacy name. */
export function isWellKnownPath (pathname: string): boolean {
  return pathname === WELL_KNOWN_PATH || pathname === LEGACY_WELL_KNOWN_PATH
}

/** The response body: the flat map as UTF-8 JSON. */
export function serializeProtocolMap (map: ProtocolMap): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(map))
}

const QVALUE = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/

/**
 * Whether an `Accept` header admits `application/json` (RFC 9110 §12.5.1). Absent or empty admits
 * anything. Of the ranges that cover JSON (`application/json`, `application/*` and the any-type range),
 * the most specific one decides, so `application/json;q=0` refuses even next to the any-type range;
 * `q=0` means "not acceptable". Other parameters
 * are ignored, and a malformed `q` counts as 1: a sloppy client is better served than refused.
 */
export function acceptsJSON (accept: string | undefined): boolean {
  if (accept == null || accept.trim() === '') {
    return true
  }
  let best: { specificity: number, q: number } | undefined
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map(part => part.trim().toLowerCase())
    const specificity = type === 'application/json' ? 3 : type === 'application/*' ? 2 : type === '*/*' ? 1 : 0
    if (specificity === 0) {
      continue
    }
    let q = 1
    for (const param of params) {
      const [name, value = ''] = param.split('=').map(part => part.trim())
      if (name === 'q' && QVALUE.test(value)) {
        q = Number(value)
      }
    }
    if (best == null || specificity > best.specificity) {
      best = { specificity, q }
    } else if (specificity === best.specificity) {
      best.q = Math.max(best.q, q)
    }
  }
  return best != null && best.q > 0
}

/** An answer as data: status, headers, body. Node's listener and the browser's handler each write it. */
export interface WellKnownAnswer {
  status: number
  headers: Record<string, string>
  /** Absent for `HEAD` and for answers without a body. */
  body?: Uint8Array
}

/**
 * The answer of the well-known resource to a request with `method` and `accept`, given the current
 * serialised map `body`.
 *
 * - `GET` and `HEAD` only; anything else is `405` with `Allow: GET, HEAD`. `OPTIONS` included: a
 *   `GET` with only CORS-safelisted headers (`Accept`) never needs a preflight (Fetch standard, "CORS
 *   protocol"), so a preflight would be for a request this resource refuses anyway.
 * - `406` when `Accept` refuses JSON ({@link acceptsJSON}).
 * - `Content-Type: application/json`, `Content-Length` in bytes.
 * - `Access-Control-Allow-Origin: *` on every answer of this resource (and nowhere else): the map is
 *   public, and browsers must be able to read it cross-origin.
 */
export function wellKnownAnswer (method: string, accept: string | undefined, body: Uint8Array): WellKnownAnswer {
  const cors = { 'access-control-allow-origin': '*' }
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: 405, headers: { ...cors, allow: 'GET, HEAD' } }
  }
  if (!acceptsJSON(accept)) {
    return { status: 406, headers: { ...cors, 'content-type': 'text/plain; charset=utf-8' }, body: new TextEncoder().encode('the protocol map is only available as application/json\n') }
  }
  return {
    status: 200,
    headers: { ...cors, 'content-type': 'application/json', 'content-length': String(body.byteLength) },
    body: method === 'HEAD' ? undefined : body
  }
}

/**
 * The Node request listener for the well-known resource ({@link wellKnownAnswer}). `body` returns the
 * current serialised map (it is regenerated when mounts change, not per request).
 */
export function wellKnownListener (body: () => Uint8Array): RequestListener {
  return (req, res) => {
    const answer = wellKnownAnswer(req.method ?? 'GET', req.headers.accept, body())
    res.statusCode = answer.status
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value)
    res.end(answer.body)
  }
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return value != null && typeof value === 'object' && !Array.isArray(value)
}

/** An entry of a peer's protocol map that was left out, and why. */
export interface InvalidProtocolEntry {
  protocol: string
  reason: string
}

const invalidEntries = new WeakMap<object, readonly InvalidProtocolEntry[]>()

/**
 * The entries left out of a protocol map a peer sent (see `host.protocols`); empty when there
 * were none, or for a map that did not come from a peer.
 */
export function invalidEntriesOf (map: Readonly<ProtocolMap>): readonly InvalidProtocolEntry[] {
  return invalidEntries.get(map) ?? []
}

/**
 * Parse a protocol map as a peer sent it: the flat map, or the spec's `{"protocols": {…}}` wrapper
 * (unwrapped when `protocols` is an object that is not itself an entry, i.e. has no string `path`;
 * flat entries next to it are kept). An entry without an absolute string `path` is left out and
 * reported by {@link invalidEntriesOf}, the others kept: one peer's bad entry (go-libp2p serves
 * whatever path its user mounted) must not hide the protocols it serves well, and go's client keeps
 * them too.
 *
 * @param source - the peer id or origin it came from, for error messages
 * @throws {InvalidProtocolMapError} for text that is not JSON, or JSON that is not an object
 */
export function parseProtocolMap (text: string, source: string): Readonly<ProtocolMap> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new InvalidProtocolMapError(source, 'not JSON', { cause: err })
  }
  if (isRecord(value) && isRecord(value.protocols) && typeof value.protocols.path !== 'string') {
    // A server may send both shapes at once (spec readers and go/js readers alike): keep the flat
    // entries beside the wrapped ones, the wrapped ones winning where both name a protocol.
    const { protocols, ...flat } = value
    value = { ...flat, ...protocols }
  }
  const invalid: InvalidProtocolEntry[] = []
  const map = checkProtocolMap(value, source, (protocol, reason) => { invalid.push({ protocol, reason }) })
  if (invalid.length > 0) invalidEntries.set(map, Object.freeze(invalid))
  return map
}

/**
 * Check that `value` is a protocol map whose paths are absolute; return a frozen copy holding only the
 * `path` of each entry. For maps given by hand (`host.setProtocols`): any bad entry throws.
 *
 * @throws {InvalidProtocolMapError} otherwise
 */
export function validateProtocolMap (value: unknown, source: string): Readonly<ProtocolMap> {
  return checkProtocolMap(value, source, (_protocol, reason) => { throw new InvalidProtocolMapError(source, reason) })
}

/** Why `entry` is not a protocol map entry, or undefined when it is one. */
function entryProblem (protocol: string, entry: unknown): string | undefined {
  if (!isRecord(entry) || typeof entry.path !== 'string') {
    return `the entry of ${JSON.stringify(protocol)} has no string "path"`
  }
  if (!entry.path.startsWith('/')) {
    return `the path ${JSON.stringify(entry.path)} of ${JSON.stringify(protocol)} is not absolute`
  }
  return undefined
}

function checkProtocolMap (value: unknown, source: string, onInvalid: (protocol: string, reason: string) => void): Readonly<ProtocolMap> {
  if (!isRecord(value)) {
    throw new InvalidProtocolMapError(source, 'expected an object mapping protocol ids to { "path": … }')
  }
  const entries: Array<[string, { path: string }]> = []
  for (const [protocol, entry] of Object.entries(value)) {
    const problem = entryProblem(protocol, entry)
    if (problem != null) {
      onInvalid(protocol, problem)
      continue
    }
    entries.push([protocol, Object.freeze({ path: (entry as { path: string }).path })])
  }
  // fromEntries defines own properties: a "__proto__" key stays data, never a prototype.
  return Object.freeze(Object.fromEntries(entries))
}
