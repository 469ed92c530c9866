/**
 * The peer of ours the interop suites authenticate against: an HTTPS listener that requires Peer ID
 * Authentication (`auth.server`) and answers `hello <proven peer> <method> <body as JSON> <how it was
 * proven>`, so a test reads from one line who the server saw and by which credential.
 */
import { authenticationOf, remotePeer } from '../../src/index.js'
import { createPeer } from '../helpers/nodes.js'
import type { Peer } from '../helpers/nodes.js'

export async function createAuthenticatingPeer (cert: { key: string, cert: string }): Promise<Peer> {
  const peer = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0/tls/http'], tls: cert, clientTLS: { ca: cert.cert }, auth: { server: { tokenTTL: '1h' } } })
  peer.host.serve((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => {
      res.end(`hello ${remotePeer(req)?.toString() ?? '?'} ${req.method ?? ''} ${JSON.stringify(body)} ${authenticationOf(req) ?? 'none'}`)
    })
  })
  return peer
}
