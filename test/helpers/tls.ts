/**
 * A self-signed certificate made by the test itself (no openssl): for localhost, 127.0.0.1, ::1 and
 * example.test (a name that does not resolve, for SNI addresses).
 */
import { generate } from 'selfsigned'

export interface TestCertificate {
  key: string
  cert: string
}

let cached: Promise<TestCertificate> | undefined

export async function testCertificate (): Promise<TestCertificate> {
  cached ??= generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 2, value: 'example.test' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' }
        ]
      }
    ]
  }).then(pems => ({ key: pems.private, cert: pems.cert }))
  return await cached
}
