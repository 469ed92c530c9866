/**
 * Run the bench as the library runs in production. tsx turns on source maps for stack traces, which
 * makes every `Error` whose stack is read (Node's streams read it on `destroy(err)`, and undici ends
 * each `Connection: close` exchange with one) cost about 50 µs more than in compiled code.
 */
process.setSourceMapsEnabled(false)
