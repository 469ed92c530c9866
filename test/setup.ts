// libp2p 3 calls Promise.withResolvers, which Node 20 lacks. Tests (and the CLI) polyfill it; the library
// itself never touches globals.
import '../examples/polyfill.js'
