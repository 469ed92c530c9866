/**
 * The options of the commands that fetch from providers (`proxy`, `gateway`, `fetch`): how many
 * requests may be in flight to one provider, and which certificates a `/tls/http` provider may present.
 * They become `createHTTPHost` options; nothing else reads them.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { rootCertificates } from 'node:tls'
import { UnsafeFileError, UsageError } from '../errors.js'
import { peerOfURL } from '../addr/addressing.js'
import { LRUMap } from '../util/lru.js'
import { fileRefusal } from './file-check.js'
import type { HTTPHostOptions } from '../host.js'
import type { ParseArgsConfig } from 'node:util'

/**
 * Requests in flight to one provider when `--max-streams` is not given: a `libp2phttp serve` provider
 * accepts 256 streams per peer (`maxInboundStreams`), so the command uses them all. The library keeps
 * 32, which any js-libp2p peer accepts (its registrar's default per protocol).
 */
export const DEFAULT_MAX_STREAMS = 256

/** `--max-streams`, `--cacert`, `-k/--insecure`. */
export const CLIENT_OPTIONS = {
  'max-streams': { type: 'string' },
  cacert: { type: 'string' },
  insecure: { type: 'boolean', short: 'k' }
} as const satisfies NonNullable<ParseArgsConfig['options']>

/** The usage lines of {@link CLIENT_OPTIONS}. */
export const CLIENT_USAGE = `  --max-streams N       requests in flight to one provider at once; more wait (default ${DEFAULT_MAX_STREAMS})
  --cacert FILE         trust this PEM certificate or CA for a /tls/http provider (a self-signed one)
  -k, --insecure        accept any certificate from a /tls/http provider (warned about)`

interface ClientValues {
  'max-streams'?: string
  cacert?: string
  insecure?: boolean
}

/**
 * The host options of {@link CLIENT_OPTIONS}. `warn` is told of `--insecure`, and once per provider when
 * its requests start to queue (a slow answer then has a visible cause).
 */
export async function clientInit (values: ClientValues, warn: (message: string) => void): Promise<Pick<HTTPHostOptions, 'maxStreamsPerPeer' | 'onQueued' | 'clientTLS'>> {
  const maxStreams = values['max-streams'] == null ? DEFAULT_MAX_STREAMS : Number(values['max-streams'])
  if (!Number.isInteger(maxStreams) || maxStreams < 1) throw new UsageError(`--max-streams must be a positive integer, not ${String(values['max-streams'])}`)
  if (values.cacert != null && values.insecure === true) throw new UsageError('--cacert and --insecure exclude each other')
  let clientTLS: HTTPHostOptions['clientTLS']
  if (values.cacert != null) {
    // a trust anchor decides whom this machine takes for the provider: whoever could write it could
    // add their own CA and sit on the path (ssh's rule, as for the key file)
    const unsafe = await fileRefusal(values.cacert, 'the --cacert file')
    if (unsafe != null) throw new UnsafeFileError(values.cacert, unsafe)
    let pem: string
    try {
      pem = await readFile(values.cacert, 'utf8')
    } catch (err) {
      throw new UsageError(`--cacert: cannot read ${values.cacert}: ${(err as Error).message}`, { cause: err })
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--cacert: ${values.cacert} holds no PEM certificate`)
    // `ca` replaces Node's trust store: keep it, so a provider with a public certificate still works
    clientTLS = { ca: [...rootCertificates, pem] }
  } else if (values.insecure === true) {
    warn('--insecure: /tls/http providers\' certificates are not checked, so whoever sits on the path can read and change the traffic (Peer ID Authentication still checks the provider\'s peer id, but not that nobody relays it)')
    clientTLS = { rejectUnauthorized: false }
  }
  // once per provider (bounded like the host's caches): the first request that has to wait
  const told = new LRUMap<string, true>(1024)
  const onQueued = (origin: string): void => {
    if (told.has(origin)) return
    told.set(origin, true)
    warn(`${maxStreams} requests in flight to ${peerOfURL(origin)?.toString() ?? origin}: more now wait for one to finish (raise --max-streams if the provider takes more)`)
  }
  return { maxStreamsPerPeer: maxStreams, onQueued, clientTLS }
}

/** Node's codes for a certificate it does not trust (`tls.connect`'s verification errors). */
const UNTRUSTED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID'])

/**
 * `err`'s message on one line, with the fix when a provider's certificate was not trusted (the flags,
 * not the library option that `--cacert` sets).
 */
export function describeFailure (err: unknown): string {
  const message = String((err as Error).message).replace(/\s*\n\s*/g, ' ')
  for (let e: unknown = err, depth = 0; e != null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (UNTRUSTED.has(String((e as { code?: unknown }).code))) {
      return `${message}: the provider's certificate is not trusted; pass it (or its CA) with --cacert FILE, or skip the check with -k`
    }
  }
  return message
}
