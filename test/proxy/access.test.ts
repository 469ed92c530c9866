import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import { allowPeers } from '../../src/proxy/access.js'
import type { RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'

async function statusOf (listener: RequestListener): Promise<{ status: number, proxyStatus: string | null }> {
  const server = createServer(listener)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers: { 'x-libp2p-peer-id': '12D3KooWE3bfpUxxV7vusvSvg3W8RpJgcZLiqfaXRr4dq1BYLMzd' } })
    await res.arrayBuffer()
    return { status: res.status, proxyStatus: res.headers.get('proxy-status') }
  } finally {
    server.close()
  }
}

const ok: RequestListener = (_req, res) => { res.end('ok') }

describe('allowPeers (peers allowed over libp2p: test/e2e/cli.test.ts)', () => {
  it('a caller without an authenticated peer id is refused, whatever its headers say', async () => {
    const got = await statusOf(allowPeers(ok, { allow: ['12D3KooWE3bfpUxxV7vusvSvg3W8RpJgcZLiqfaXRr4dq1BYLMzd'], pseudonym: 'gw' }) as RequestListener)
    expect(got).toEqual({ status: 403, proxyStatus: 'gw; error=http_request_denied; details="no authenticated peer id"' })
  })

  it('an empty list lets nobody through; \'any\' lets everybody', async () => {
    expect((await statusOf(allowPeers(ok, { allow: [] }) as RequestListener)).status).toBe(403)
    expect((await statusOf(allowPeers(ok, { allow: 'any' }) as RequestListener)).status).toBe(200)
  })
})
