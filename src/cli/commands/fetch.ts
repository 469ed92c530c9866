/**
 * `libp2phttp fetch URL`: curl for peers. The body goes to stdout or `-o FILE`, byte for byte; the exit
 * code says what happened (see {@link EXIT}).
 *
 * @module
 */
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { LibP2PHTTPError, UsageError } from '../../errors.js'
import { createHTTPHost } from '../../host.js'
import { MAX_TIMER_MS, integer, noPositionals, parse } from '../args.js'
import { CLIENT_OPTIONS, CLIENT_USAGE, clientInit, describeFailure } from '../client-options.js'
import { KEY_ENV, keyPath, readKey } from '../identity.js'
import { LOOKUP_OPTIONS, LOOKUP_USAGE, bootstrapAddrs, checkLookup, joinLookup, lookupServices } from '../lookup.js'
import { createNode } from '../node.js'
import type { CommandIO } from './io.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Writable } from 'node:stream'

/** `fetch`'s exit codes: curl's where curl has one for the same failure. */
export const EXIT = {
  /** A 2xx response, body written. */
  OK: 0,
  /** Anything else that failed. */
  FAILED: 1,
  /** A bad command line. */
  USAGE: 2,
  /** A URL or multiaddr that cannot be a target (curl: URL malformed). */
  BAD_URL: 3,
  /** The peer could not be dialled or does not speak HTTP (curl: couldn't connect). */
  CONNECT: 7,
  /** A response outside 2xx (curl `-f`); its body is still written. */
  HTTP_ERROR: 22,
  /** The body could not be written (curl: write error). */
  WRITE: 23,
  /** `--max-time` ran out, or the peer stopped answering (curl: operation timed out). */
  TIMEOUT: 28,
  /** The response broke off or was malformed (curl: failure receiving network data). */
  RECEIVE: 56,
  /** The body is larger than `--max-filesize` (curl: maximum file size exceeded). */
  TOO_LARGE: 63
} as const

export const FETCH_USAGE = `libp2phttp fetch URL [options]
  Fetch URL (multiaddr:/…/p2p/<peer>[/http-path/…], a bare /ip4/… multiaddr, or http(s)://).
  -X, --request METHOD  the method (default GET, POST with -d)
  -H, --header 'N: V'   a request header, repeatable
  -d, --data DATA       the request body (@FILE: a file's bytes, @-: stdin)
  -o, --output FILE     write the body to FILE instead of stdout
  -s, --silent          no progress indicator
  -m, --max-time SEC    give up after SEC seconds (exit 28)
  --compressed          ask for a compressed body (Accept-Encoding: gzip, deflate) and write it decoded;
                        without it the body is written as sent (Accept-Encoding: identity is asked for)
  --max-filesize BYTES  stop when the body written exceeds BYTES (after decoding; exit 63)
  --key FILE            identity key file; without one (and no default file) an ephemeral identity
${LOOKUP_USAGE}
${CLIENT_USAGE}
  exit: 0 2xx, 22 other status, 7 cannot connect, 28 timeout, 56 receive failure, 63 body over --max-filesize,
        3 bad URL, 23 write failure, 2 usage`

const CODES: Record<string, number> = {
  ERR_INVALID_TARGET: EXIT.BAD_URL,
  ERR_INSECURE_HTTP: EXIT.BAD_URL,
  ERR_DIAL_FAILED: EXIT.CONNECT,
  ERR_PROTOCOL_NOT_SUPPORTED: EXIT.CONNECT,
  ERR_NO_TRANSPORT: EXIT.CONNECT,
  ECONNREFUSED: EXIT.CONNECT,
  ERR_RESPONSE_TIMEOUT: EXIT.TIMEOUT,
  ERR_STREAM_RESET: EXIT.RECEIVE,
  ERR_RELAY_LIMIT: EXIT.RECEIVE,
  ERR_BAD_RESPONSE: EXIT.RECEIVE,
  ERR_RESPONSE_HEADERS_TOO_LARGE: EXIT.RECEIVE,
  ERR_RESPONSE_BODY_TOO_LARGE: EXIT.TOO_LARGE
}

/** The exit code for an error thrown while fetching (its `code`, or its cause's). */
export function exitCodeOf (err: unknown, timedOut: boolean): number {
  if (timedOut) return EXIT.TIMEOUT
  for (let e: unknown = err, depth = 0; e != null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: string }).code
    if (code != null && CODES[code] != null) return CODES[code]
    if (e instanceof TypeError && e.message === 'terminated') return EXIT.RECEIVE
  }
  return EXIT.FAILED
}

/** Run `fetch`; resolves with the exit code. */
export async function fetchCommand (argv: string[], io: CommandIO, output: Writable = process.stdout): Promise<number> {
  const { values, positionals } = parse(argv, {
    request: { type: 'string', short: 'X' },
    header: { type: 'string', short: 'H', multiple: true },
    data: { type: 'string', short: 'd' },
    output: { type: 'string', short: 'o' },
    silent: { type: 'boolean', short: 's' },
    'max-time': { type: 'string', short: 'm' },
    compressed: { type: 'boolean' },
    'max-filesize': { type: 'string' },
    key: { type: 'string' },
    ...CLIENT_OPTIONS,
    ...LOOKUP_OPTIONS,
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help === true) { io.out(FETCH_USAGE); return 0 }
  if (positionals.length === 0) throw new UsageError('fetch needs a URL')
  noPositionals(positionals.slice(1))
  const url = positionals[0].startsWith('/') ? `multiaddr:${positionals[0]}` : positionals[0]
  const headers: Array<[string, string]> = (values.header ?? []).map((h) => {
    const colon = h.indexOf(':')
    if (colon <= 0) throw new UsageError(`-H wants 'Name: value', not ${h}`)
    return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()]
  })
  const body = values.data == null
    ? undefined
    : values.data === '@-' ? await readAll(process.stdin) : values.data.startsWith('@') ? await readFile(values.data.slice(1)) : values.data
  const method = values.request ?? (body == null ? 'GET' : 'POST')
  const maxTime = integer('max-time', values['max-time'], 0, Math.floor(MAX_TIMER_MS / 1000))
  const maxFilesize = values['max-filesize'] == null ? Infinity : integer('max-filesize', values['max-filesize'], 0)
  // As curl: the bytes as sent unless --compressed. Without it curl sends no Accept-Encoding, which
  // RFC 9110 §12.5.3 reads as "any coding is fine"; `identity` asks for what gets written. A header
  // given with -H wins either way.
  const compressed = values.compressed === true
  if (!headers.some(([name]) => name.toLowerCase() === 'accept-encoding')) {
    headers.push(['accept-encoding', compressed ? 'gzip, deflate' : 'identity'])
  }

  // a one-off request should not leave a key file behind: an ephemeral identity unless one is named or exists
  const named = values.key != null || io.env[KEY_ENV] != null
  const key = named ? await readKey(keyPath(values.key, io.env)) : await readKey(keyPath(undefined, io.env))
  if (named && key == null) throw new UsageError(`no key file at ${keyPath(values.key, io.env)} (create one with libp2phttp id)`)
  const client = await clientInit(values, m => { io.err(`libp2phttp fetch: ${m}`) })
  const bootstrap = bootstrapAddrs(values.bootstrap)
  const target = peerAddressOf(url)
  if (target != null) checkLookup(target, bootstrap, 'URL')
  const node = await createNode(key ?? await generateKeyPair('Ed25519'), [], { services: bootstrap.length > 0 ? lookupServices('client') : undefined })
  const host = await createHTTPHost({ libp2p: node, ...client })
  const deadline = maxTime > 0 ? AbortSignal.timeout(maxTime * 1000) : undefined
  try {
    // the bootstrap peers first: a lookup of the target's peer id needs them
    await joinLookup(node, bootstrap, m => { io.err(`libp2phttp fetch: ${m}`) })
    const res = await host.fetch(url, { method, headers, body, redirect: 'manual', signal: deadline, decompress: compressed, maxBodySize: maxFilesize })
    const sink = values.output == null ? output : createWriteStream(values.output)
    const total = Number(res.headers.get('content-length') ?? NaN)
    const source = res.body == null ? Readable.from([]) : Readable.fromWeb(res.body as never)
    const stages: NodeJS.ReadWriteStream[] = values.output != null && values.silent !== true && process.stderr.isTTY ? [progress(total)] : []
    try {
      // stdout stays open (the process owns it); a file is ended and flushed
      await pipeline([source, ...stages, sink], { end: sink !== output })
    } catch (err) {
      // the output file cannot be opened or written (curl's 23 for both)
      const syscall = (err as { syscall?: string }).syscall
      if (syscall === 'write' || syscall === 'open' || (err as { code?: string }).code === 'EPIPE') {
        io.err(`libp2phttp fetch: ${(err as Error).message}`)
        return EXIT.WRITE
      }
      throw err
    }
    if (res.status < 200 || res.status > 299) {
      io.err(`libp2phttp fetch: HTTP ${res.status} ${res.statusText}`)
      return EXIT.HTTP_ERROR
    }
    return EXIT.OK
  } catch (caught) {
    // undici's fetch reports a body cut short as `terminated`; its cause (a relay's limit, a reset) says why
    const err = caught instanceof TypeError && caught.message === 'terminated' && caught.cause instanceof LibP2PHTTPError ? caught.cause : caught
    const code = exitCodeOf(err, deadline?.aborted === true)
    io.err(`libp2phttp fetch: ${failureMessage(err, code, { maxTime, maxFilesize })}`)
    return code
  } finally {
    await host.close({ timeout: 100 })
    await node.stop()
  }
}

/**
 * The line for a failed fetch: what happened in the command's terms (the flag that set a limit, not the
 * library option it became), and the library's error code when it has one. A `DOMException`'s numeric
 * `code` (23 for a timeout) is no such code: printed beside exit 28 it read as the exit code.
 */
export function failureMessage (err: unknown, exit: number, limits: { maxTime: number, maxFilesize: number }): string {
  const code = (err as { code?: unknown }).code
  const suffix = typeof code === 'string' ? ` (${code})` : ''
  if (exit === EXIT.TIMEOUT && limits.maxTime > 0) return `no complete answer within --max-time ${limits.maxTime} s (exit ${EXIT.TIMEOUT}); give it more time with a larger -m`
  if (code === 'ERR_RESPONSE_BODY_TOO_LARGE') return `the body is larger than --max-filesize ${limits.maxFilesize} bytes; the rest was not written${suffix}`
  if (code === 'ERR_INSECURE_HTTP') return `a plain-HTTP multiaddr (…/http) is refused (the libp2p+HTTP spec forbids plaintext); use …/tls/http, a peer's stream address (…/tcp/N/p2p/<peer>), or an http:// URL${suffix}`
  return `${describeFailure(err)}${suffix}`
}

/** The multiaddr a `multiaddr:` URL reaches (without its `/http-path`), or `undefined` for another URL or one that does not parse (host.fetch then says why). */
function peerAddressOf (url: string): Multiaddr | undefined {
  if (!url.startsWith('multiaddr:')) return undefined
  try {
    return multiaddr(url.slice('multiaddr:'.length).split('/http-path/')[0])
  } catch {
    return undefined
  }
}

async function readAll (stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array))
  return Buffer.concat(chunks)
}

/** Counts bytes through, redrawing one stderr line at most every 200 ms. */
function progress (total: number): Transform {
  let seen = 0
  let last = 0
  const draw = (): void => {
    const mib = (seen / 1048576).toFixed(1)
    process.stderr.write(`\r${mib} MiB${Number.isFinite(total) ? ` / ${(total / 1048576).toFixed(1)} MiB (${Math.floor(seen * 100 / total)} %)` : ''}   `)
  }
  return new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      seen += chunk.byteLength
      if (Date.now() - last > 200) { last = Date.now(); draw() }
      callback(null, chunk)
    },
    flush (callback) { draw(); process.stderr.write('\n'); callback() }
  })
}
