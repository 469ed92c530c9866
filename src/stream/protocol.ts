/**
 * The stream protocol id, on its own so that the browser build (`src/web/`) reads it without the Node
 * stream server.
 *
 * @module
 */

/** The protocol id of HTTP/1.1 over libp2p streams (libp2p+HTTP spec, "Using HTTP semantics over stream transports"). */
export const HTTP_STREAM_PROTOCOL = '/http/1.1'
