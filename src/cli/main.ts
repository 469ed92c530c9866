#!/usr/bin/env node
/**
 * The `libp2phttp` executable. The polyfill comes first: libp2p 3 needs `Promise.withResolvers`, which
 * Node 20 lacks (the library never patches globals; a program may).
 *
 * @module
 */
import './polyfill.js'
import { runCLI } from './cli.js'
import { processIO } from './commands/io.js'

process.exitCode = await runCLI(process.argv.slice(2), processIO)
