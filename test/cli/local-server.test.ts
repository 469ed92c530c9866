/**
 * The local ports' server: the host's limits with no total request time, on real sockets.
 */
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_MAX_CONNECTIONS, listenLocal, localLimits } from '../../src/cli/local-server.js'
import type { LocalServer } from '../../src/cli/local-server.js'

let local: LocalServer | undefined
afterEach(async () => { await local?.close(0) })

/** Send `chunks` to the server, `gap` ms apart; resolve with everything it answered once it closes (bounded). */
async function exchange (url: string, chunks: string[], gap: number): Promise<string> {
  const { port } = new URL(url)
  const socket = connect(Number(port), '127.0.0.1')
  const answer = new Promise<string>((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`not closed within 10 s: ${text}`)) }, 10_000)
    socket.on('data', (c: Buffer) => { text += c.toString() })
    socket.on('close', () => { clearTimeout(timer); resolve(text) })
    socket.on('error', () => {})
  })
  for (const chunk of chunks) {
    if (socket.destroyed) break
    socket.write(chunk)
    await new Promise(resolve => setTimeout(resolve, gap))
  }
  return await answer
}

describe('listenLocal', () => {
  it('defaults: a 60 s header timeout (Node gives none when requestTimeout is 0), no request timeout, 1024 connections', async () => {
    local = await listenLocal((_req, res) => { res.end() }, { hostname: '127.0.0.1', port: 0 })
    expect(local.server.headersTimeout).toBe(60_000)
    expect(local.server.requestTimeout).toBe(0)
    expect(local.server.maxConnections).toBe(DEFAULT_MAX_CONNECTIONS)
    expect(localLimits({})).toEqual({ headersTimeout: 60_000, maxConnections: DEFAULT_MAX_CONNECTIONS })
  })

  it('half-sent headers get 408 and the connection is closed', async () => {
    local = await listenLocal((_req, res) => { res.end() }, { hostname: '127.0.0.1', port: 0, headersTimeout: 300 })
    expect(await exchange(local.url, ['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow'], 0)).toMatch(/^HTTP\/1\.1 408 /)
  })

  it('a body and an answer that take longer than the header timeout are not cut off (uploads, LLM streams)', async () => {
    local = await listenLocal((req, res) => {
      let bytes = 0
      req.on('data', (c: Buffer) => { bytes += c.length })
      req.on('end', () => {
        res.write(`got ${bytes};`)
        setTimeout(() => { res.end('done') }, 700)
      })
    }, { hostname: '127.0.0.1', port: 0, headersTimeout: 300 })
    const answer = await exchange(local.url, ['POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 4\r\n\r\n', 'a', 'b', 'c', 'd'], 200)
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
    expect(answer).toMatch(/got 4;[\s\S]*done/)
  })
})
