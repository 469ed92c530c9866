import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { rootCertificates } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_STREAMS, clientInit, describeFailure } from '../../src/cli/client-options.js'
import { testCertificate } from '../helpers/tls.js'

const peerOrigin = 'http://bafzaajaiaejcbzdibmxyzdjbq3dlwvilf3qkbswb3ep6zphzsl6dvcztfhidwkyi'

describe('the options of the commands that fetch from providers', () => {
  it('--max-streams: 256 by default, a positive integer otherwise', async () => {
    expect((await clientInit({}, () => {})).maxStreamsPerPeer).toBe(DEFAULT_MAX_STREAMS)
    expect((await clientInit({ 'max-streams': '4' }, () => {})).maxStreamsPerPeer).toBe(4)
    for (const bad of ['0', '-1', '1.5', 'many']) {
      await expect(clientInit({ 'max-streams': bad }, () => {})).rejects.toThrow(`--max-streams must be a positive integer, not ${bad}`)
    }
  })

  it('says once per provider that requests wait', async () => {
    const said: string[] = []
    const { onQueued } = await clientInit({ 'max-streams': '3' }, m => said.push(m))
    onQueued?.(peerOrigin)
    onQueued?.(peerOrigin)
    onQueued?.('http://127.0.0.2')
    expect(said).toHaveLength(2)
    expect(said[0]).toMatch(/^3 requests in flight to \S+: more now wait for one to finish \(raise --max-streams/)
  })

  it('--cacert adds the certificate to the default trust; -k turns checks off with a warning; not both', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'libp2phttp-cacert-'))
    try {
      const { cert } = await testCertificate()
      await writeFile(join(dir, 'cert.pem'), cert)
      await writeFile(join(dir, 'not.pem'), 'hello')
      const ca = (await clientInit({ cacert: join(dir, 'cert.pem') }, () => {})).clientTLS?.ca as string[]
      expect(ca).toHaveLength(rootCertificates.length + 1)
      expect(ca.at(-1)).toBe(cert)
      await expect(clientInit({ cacert: join(dir, 'not.pem') }, () => {})).rejects.toThrow('holds no PEM certificate')
      await expect(clientInit({ cacert: join(dir, 'missing.pem') }, () => {})).rejects.toThrow('--cacert: cannot read')
      // a trust anchor others could write is refused, as the key file is (they could add their own CA)
      await writeFile(join(dir, 'open.pem'), cert)
      await chmod(join(dir, 'open.pem'), 0o666)
      await expect(clientInit({ cacert: join(dir, 'open.pem') }, () => {})).rejects.toMatchObject({ code: 'ERR_UNSAFE_FILE', message: expect.stringMatching(/the --cacert file \S+open\.pem is writable by others \(mode 666\): chmod go-w/) })
      const said: string[] = []
      expect((await clientInit({ insecure: true }, m => said.push(m))).clientTLS).toEqual({ rejectUnauthorized: false })
      expect(said[0]).toMatch(/^--insecure: /)
      await expect(clientInit({ insecure: true, cacert: join(dir, 'cert.pem') }, () => {})).rejects.toThrow('exclude each other')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('an untrusted certificate anywhere in the cause chain names --cacert, on one line', () => {
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
    const failed = new Error('could not connect to https://127.0.0.1:1:\nself-signed certificate', { cause: new Error('fetch failed', { cause: tls }) })
    expect(describeFailure(failed)).toBe('could not connect to https://127.0.0.1:1: self-signed certificate: the provider\'s certificate is not trusted; pass it (or its CA) with --cacert FILE, or skip the check with -k')
    expect(describeFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('refused')
  })
})
