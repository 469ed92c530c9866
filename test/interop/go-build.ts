/**
 * Go programs of the interop tests, built once per version and source into a cache directory:
 * `$XDG_CACHE_HOME/libp2phttp/<cache>/<version>-<hash>/<output>` (else `~/.cache/…`), the hash covering
 * the module's `.go` files, `go.mod`, `go.sum` and the Go version, so a second run does not build again
 * and any change does. Modules come from the Go module proxy (`GOFLAGS=-mod=readonly`: `go.sum` must
 * already cover them).
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { cacheRoot, run } from './child-peer.js'

export { run }

/** Why the Go tests cannot run here (`go` is not on PATH), or undefined when they can. */
export async function goMissing (): Promise<string | undefined> {
  try {
    await run('go', ['version'], { timeout: 30_000 })
    return undefined
  } catch (err) {
    return `go is not on PATH (${(err as Error).message.split('\n')[0]})`
  }
}

export interface GoBuild {
  /** The cache's directory name under `libp2phttp/`. */
  cache: string
  /** The pinned version the cache entry is named for. */
  version: string
  /** The Go module to build in. */
  sourceDir: string
  /** The package to build (`.`, or a package of a dependency). */
  pkg: string
  /** The binary's file name. */
  output: string
  /** `go build -p`: how many packages compile at once. */
  parallel: number
  /** Upper bound on the build, in ms. */
  timeout: number
}

/** The path of the built binary, building it first unless it is in the cache already. */
export async function cachedGoBuild (build: GoBuild): Promise<string> {
  const hash = createHash('sha256')
  hash.update(await run('go', ['env', 'GOVERSION'], { timeout: 30_000 }))
  for (const name of (await readdir(build.sourceDir)).filter(n => /\.go$|^go\.(mod|sum)$/.test(n)).sort()) {
    hash.update(name).update('\0').update(await readFile(join(build.sourceDir, name))).update('\0')
  }
  const dir = join(cacheRoot(build.cache), `${build.version}-${hash.digest('hex').slice(0, 16)}`)
  const binary = join(dir, build.output)
  if (existsSync(binary)) return binary
  await mkdir(dir, { recursive: true })
  // Built beside its final name and renamed: a concurrent run never sees half a binary.
  const partial = `${binary}.${process.pid}.partial`
  try {
    await run('go', ['build', '-p', String(build.parallel), '-trimpath', '-o', partial, build.pkg], {
      cwd: build.sourceDir,
      env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false', CGO_ENABLED: '0' },
      timeout: build.timeout
    })
    await rename(partial, binary)
  } finally {
    await rm(partial, { force: true })
  }
  return binary
}
