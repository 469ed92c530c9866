import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import { createLogger, logRequests } from '../../src/cli/log.js'
import type { AddressInfo } from 'node:net'

describe('the request log', () => {
  it('text: one line per request with peer, method, path, status, bytes and ms; --quiet drops it', () => {
    const lines: string[] = []
    createLogger({ write: l => lines.push(l) }).request({ peer: 'p', method: 'GET', path: '/a?b', status: 200, bytes: 5, ms: 3 })
    createLogger({ write: l => lines.push(l), quiet: true }).request({ peer: 'p', method: 'GET', path: '/', status: 200, bytes: 0, ms: 0 })
    createLogger({ write: l => lines.push(l), quiet: true }).warn('still said')
    expect(lines).toEqual(['p GET /a?b 200 5B 3ms', 'warn: still said'])
  })

  it('a cache outcome ends the line (cache=hit) and is a field in JSON (issue 19)', () => {
    const lines: string[] = []
    createLogger({ write: l => lines.push(l) }).request({ peer: 'p', method: 'GET', path: '/', status: 200, bytes: 5, ms: 1, cache: 'hit' })
    createLogger({ write: l => lines.push(l), json: true }).request({ peer: 'p', method: 'GET', path: '/', status: 200, bytes: 5, ms: 1, cache: 'revalidated' })
    expect(lines[0]).toBe('p GET / 200 5B 1ms cache=hit')
    expect(JSON.parse(lines[1])).toMatchObject({ cache: 'revalidated' })
  })

  it('--json: one object per line', () => {
    const lines: string[] = []
    createLogger({ write: l => lines.push(l), json: true }).request({ peer: 'p', method: 'POST', path: '/', status: 502, bytes: 9, ms: 1 })
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'info', msg: 'request', peer: 'p', method: 'POST', status: 502, bytes: 9 })
  })

  it('print (stdout) and notice (stderr): shown under --quiet; JSON objects with their fields under --json (issue 15)', () => {
    const out: string[] = []
    const err: string[] = []
    const text = createLogger({ write: l => err.push(l), out: l => out.push(l), quiet: true })
    text.print('http://127.0.0.1:8000/', { url: 'http://127.0.0.1:8000/' })
    text.notice('this peer: p', { peer: 'p' })
    text.info('hidden')
    expect(out).toEqual(['http://127.0.0.1:8000/'])
    expect(err).toEqual(['this peer: p'])
    const json = createLogger({ write: l => err.push(l), out: l => out.push(l), json: true })
    json.print('http://127.0.0.1:8000/', { url: 'http://127.0.0.1:8000/' })
    json.notice('this peer: p', { peer: 'p' })
    expect(JSON.parse(out[1])).toMatchObject({ level: 'info', msg: 'http://127.0.0.1:8000/', url: 'http://127.0.0.1:8000/' })
    expect(JSON.parse(err[1])).toMatchObject({ level: 'info', msg: 'this peer: p', peer: 'p' })
  })

  it('counts the body bytes a handler writes, and marks a response cut short', async () => {
    const lines: string[] = []
    const logger = createLogger({ write: l => lines.push(l), json: true })
    const server = createServer(logRequests((req, res) => {
      if (req.url === '/cut') { res.write('x'); res.destroy(); return }
      res.write('héllo')
      res.end(Buffer.from([1, 2, 3]))
    }, logger, () => 'peer'))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    await (await fetch(`${base}/ok`)).arrayBuffer()
    await fetch(`${base}/cut`).then(async r => await r.arrayBuffer()).catch(() => {})
    await new Promise(resolve => setTimeout(resolve, 50))
    server.close()
    const records = lines.map(l => JSON.parse(l))
    expect(records.find(r => r.path === '/ok')).toMatchObject({ peer: 'peer', status: 200, bytes: 9 })
    expect(records.find(r => r.path === '/cut')).toMatchObject({ aborted: true })
  })

  it('asks for the peer when the request arrives: the handler may rewrite req.url and undici detach req.socket', async () => {
    const lines: string[] = []
    const logger = createLogger({ write: l => lines.push(l), json: true })
    const server = createServer(logRequests((req, res) => {
      req.url = '/rewritten'
      req.on('end', () => {
        ;(req as { socket: unknown }).socket = null // what undici does to a request body it has sent
        res.end('ok')
      })
      req.resume()
    }, logger, req => `${req.url ?? ''} ${req.socket == null ? 'no socket' : 'socket'}`))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/sent`, { method: 'POST', body: 'x' })).arrayBuffer()
    await new Promise(resolve => setTimeout(resolve, 50))
    server.close()
    expect(JSON.parse(lines[0])).toMatchObject({ peer: '/sent socket', path: '/sent', status: 200 })
  })
})
