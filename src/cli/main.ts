#!/usr/bin/env node
/**
 * The `libp2phttp` executable. The polyfill comes first: libp2p 3 needs `Promise.withResolvers`, which
 * Node 20 lacks (the library never patches globals; a program may).
 *
 * @module
 */
import { polyfillWithResolvers } from './polyfill.js'
import { runCLI } from './cli.js'
import { processIO } from './commands/io.js'

// called, not only imported: the package is "sideEffects": false, so a bundler drops a bare import;
// libp2p needs it only once a node is created, which is after this line
polyfillWithResolvers()

process.exitCode = await runCLI(process.argv.slice(2), processIO)
