/**
 * The package's version, for `libp2phttp --version`: read from the `package.json` above the running
 * module, which is `src/cli/` from a checkout (tsx) and `dist/` once built (tsup bundles the command
 * into `dist/cli.js`), so one lookup serves both without a copy of the number to keep in step.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package name whose `package.json` holds the version (another one found first is a parent project's). */
const NAME = 'libp2phttp'

/** The version in the nearest `package.json` named `libp2phttp` above `from` (a module URL); `undefined` when there is none. */
export function packageVersion (from: string = import.meta.url): string | undefined {
  let dir = dirname(fileURLToPath(from))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown, version?: unknown }
      if (pkg.name === NAME && typeof pkg.version === 'string') return pkg.version
    } catch {
      // no package.json here (or not JSON): keep looking upwards
    }
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}
