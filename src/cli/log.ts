/**
 * What the long-running commands say: one line per request (peer, method, path, status, bytes, ms) and
 * notices, on stderr, as text or JSON lines; `--quiet` keeps only warnings and errors. Stdout is kept for
 * what a script reads (addresses, the URL to use).
 *
 * @module
 */
import { originalUrl } from '../server/original-url.js'
import { cacheOutcomeOf } from '../proxy/upstream.js'
import type { CacheOutcome } from '../proxy/cache.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** How a command logs. */
export interface LogOptions {
  /** Only warnings and errors. */
  quiet?: boolean
  /** One JSON object per line instead of text. */
  json?: boolean
  /** Where lines go. @default process.stderr */
  write?: (line: string) => void
  /** Where {@link Logger.print} lines go. @default process.stdout */
  out?: (line: string) => void
}

/** One finished request. */
export interface RequestRecord {
  /** The proven peer id, or `-(why none)`. */
  peer: string
  method: string
  path: string
  status: number
  bytes: number
  ms: number
  /** Set when the exchange did not complete (the client left, the stream was reset). */
  aborted?: boolean
  /** Over which connection the exchange went to or from the peer, when the command uses relays. */
  via?: 'relayed' | 'direct'
  /** What the command's cache (`--cache`) did: served it (`hit`), had the peer confirm it (`revalidated`), or asked the peer (`miss`). */
  cache?: CacheOutcome
}

/** A logger for requests and notices. */
export interface Logger {
  request: (record: RequestRecord) => void
  info: (message: string, fields?: Record<string, unknown>) => void
  warn: (message: string, fields?: Record<string, unknown>) => void
  /** A notice the operator needs even with `--quiet` (this machine's peer id, to be allowed); `fields` only in JSON. */
  notice: (message: string, fields?: Record<string, unknown>) => void
  /**
   * A line on stdout, what a script reads (an address, the URL to use): the text, or with `--json` a
   * JSON object with the text as `msg` and `fields` beside it. Never hidden by `--quiet`.
   */
  print: (text: string, fields?: Record<string, unknown>) => void
}

/** A logger with `options`. */
export function createLogger (options: LogOptions = {}): Logger {
  const write = options.write ?? ((line: string) => { process.stderr.write(`${line}\n`) })
  const out = options.out ?? ((line: string) => { process.stdout.write(`${line}\n`) })
  const emit = (level: string, message: string, fields: Record<string, unknown> = {}): void => {
    if (options.json === true) {
      write(jsonLine(level, message, fields))
    } else {
      const extra = Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`).join(' ')
      write(`${level === 'info' ? '' : `${level}: `}${message}${extra === '' ? '' : ` ${extra}`}`)
    }
  }
  return {
    request: (r) => {
      if (options.quiet === true) return
      if (options.json === true) {
        write(jsonLine('info', 'request', { ...r }))
      } else {
        write(`${r.peer} ${r.method} ${r.path} ${r.status}${r.aborted === true ? ' aborted' : ''} ${r.bytes}B ${r.ms}ms${r.via == null ? '' : ` ${r.via}`}${r.cache == null ? '' : ` cache=${r.cache}`}`)
      }
    },
    info: (message, fields) => { if (options.quiet !== true) emit('info', message, fields) },
    warn: (message, fields) => { emit('warn', message, fields) },
    // the text says it all; the fields are for JSON readers
    notice: (message, fields) => { write(options.json === true ? jsonLine('info', message, fields) : message) },
    print: (text, fields = {}) => { out(options.json === true ? jsonLine('info', text, fields) : text) }
  }
}

/** One JSON log line: `time`, `level`, `msg`, then `fields`. */
export function jsonLine (level: string, message: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })
}

/**
 * `listener` with one log record per request, written when the response finishes or is cut short.
 * Bytes are the response body bytes handed to Node (what the handler wrote). `peerOf` names the peer
 * (or says why there is none: `-(reason)`), and is asked when the request arrives: by the time the
 * response closes a handler may have rewritten `req.url` (the gateway does), and undici, once it has
 * sent `req` on as a request body (`proxyTo`), sets `req.socket` to null (`util.destroy`, so that
 * destroying the request leaves the connection alone), which took the stream's peer with it.
 */
export function logRequests<L extends (req: IncomingMessage, res: ServerResponse) => unknown> (
  listener: L,
  logger: Logger,
  peerOf: (req: IncomingMessage) => string,
  viaOf?: (req: IncomingMessage, peer: string) => RequestRecord['via']
): (req: IncomingMessage, res: ServerResponse) => unknown {
  return (req, res) => {
    const start = performance.now()
    // the path as the client sent it (a mounted handler sees it without its protocol prefix)
    const path = originalUrl(req)
    const peer = peerOf(req)
    // asked when the request arrives: a consumer's request opens its stream on the connection it finds
    // then (a direct one once open, stream/direct.ts), and a request does not move; asked again at the
    // end only when there was no connection yet (the request dialled one)
    const arrivedVia = viaOf?.(req, peer)
    let bytes = 0
    const count = (chunk: unknown, encoding?: unknown): void => {
      if (typeof chunk === 'string') bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? encoding as BufferEncoding : 'utf8')
      else if (chunk instanceof Uint8Array) bytes += chunk.byteLength
    }
    const write = res.write.bind(res) as (...args: unknown[]) => boolean
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
    res.write = ((chunk: unknown, ...rest: unknown[]) => { count(chunk, rest[0]); return write(chunk, ...rest) }) as typeof res.write
    res.end = ((chunk?: unknown, ...rest: unknown[]) => { if (typeof chunk !== 'function') count(chunk, rest[0]); return end(chunk, ...rest) }) as typeof res.end
    res.once('close', () => {
      const cache = cacheOutcomeOf(res)
      logger.request({
        peer,
        method: req.method ?? 'GET',
        path,
        status: res.statusCode,
        bytes,
        ms: Math.round(performance.now() - start),
        ...(res.writableFinished ? {} : { aborted: true }),
        ...(viaOf == null ? {} : { via: arrivedVia ?? viaOf(req, peer) }),
        ...(cache == null ? {} : { cache })
      })
    })
    return listener(req, res)
  }
}
