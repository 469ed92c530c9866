/**
 * Fetching a peer's native HTTPS address (`/tls/http`, and `/tcp/…/http` where allowed) with the
 * platform's own `fetch` (a browser's, or Node's global one), with Peer ID Authentication run over it
 * (`auth/handshake.ts`'s `ClientHandshake`, the same state machine the Node client's interceptor drives).
 *
 * @module
 */
import type { PrivateKey, PeerId } from '@libp2p/interface'

/** Options of {@link nativeFetch}. */
export interface NativeFetchOptions {
  /** The platform's fetch. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch
  /**
   * Our identity key: with it, the server is authenticated with Peer ID Authentication (and we to it),
   * and the response records the server's peer (`serverPeer(response)`).
   */
  privateKey?: PrivateKey
  /** The server's expected peer id (from the address's `/p2p`): a different authenticated peer fails the fetch. */
  peer?: PeerId
  /** Clock and randomness for the handshake (tests). */
  now?: () => number
  randomBytes?: (length: number) => Uint8Array
}

/**
 * Fetch `url` (an `https:` URL made from a peer's native address) with the platform's fetch; with
 * `privateKey`, the exchange is authenticated (Peer ID Authentication, client-initiated).
 *
 * @throws {PeerAuthError} the server's authentication fails, or the server does not offer it
 * @throws {PeerMismatchError} the server authenticated as another peer than `peer`
 */
export async function nativeFetch (url: string | URL, init: RequestInit = {}, options: NativeFetchOptions = {}): Promise<Response> {
  void url; void init; void options
  throw new Error('not yet')
}
