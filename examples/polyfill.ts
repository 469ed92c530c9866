/**
 * `Promise.withResolvers` for Node 20 (libp2p 3 calls it): the same polyfill the `libp2phttp` command
 * imports first. Programs import it before creating a libp2p node; the library never patches globals.
 */
import '../src/cli/polyfill.js'
