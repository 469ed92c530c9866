/**
 * What a command reads and writes besides its arguments, so that tests can run commands in-process.
 *
 * @module
 */

/** A command's standard streams (one line per call) and environment. */
export interface CommandIO {
  /** A line on stdout: what scripts read (peer ids, addresses, the URL to use). */
  out: (line: string) => void
  /** A line on stderr: notices and the request log. */
  err: (line: string) => void
  env: NodeJS.ProcessEnv
}

/** The process's own streams and environment. */
export const processIO: CommandIO = {
  out: (line) => { process.stdout.write(`${line}\n`) },
  err: (line) => { process.stderr.write(`${line}\n`) },
  env: process.env
}
