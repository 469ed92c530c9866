/**
 * The library's `dependencies` are exactly what the library imports (issue 17, "Package"): every package
 * named by an import or export in `src/` outside `src/cli/` (type-only ones too: the published `.d.ts`
 * files import them) is a dependency, and every dependency is imported. The command (`src/cli/`) has its
 * libp2p stack bundled into `dist/cli.js` by tsup, so its imports are devDependencies.
 * Imports are read with TypeScript's own scanner (`ts.preProcessFile`), not a regular expression.
 */
import { readFile, readdir } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..')

async function sourceFiles (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter(e => e.isFile() && e.name.endsWith('.ts')).map(e => join(e.parentPath, e.name))
}

/** The package a bare specifier names: `@scope/name` or `name`; undefined for relative paths and Node's builtins. */
export function packageOf (specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || isBuiltin(specifier)) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** Package → the files importing it, over the library's sources (not the command's). */
async function libraryImports (): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>()
  const cli = join(ROOT, 'src', 'cli')
  for (const file of await sourceFiles(join(ROOT, 'src'))) {
    if (file.startsWith(`${cli}/`)) continue
    const { importedFiles } = ts.preProcessFile(await readFile(file, 'utf8'), true, true)
    for (const { fileName } of importedFiles) {
      const pkg = packageOf(fileName)
      if (pkg == null) continue
      found.set(pkg, [...(found.get(pkg) ?? []), relative(ROOT, file)])
    }
  }
  return found
}

describe('package.json dependencies', () => {
  it('names packages from specifiers, leaving relative paths and Node builtins', () => {
    expect(packageOf('@libp2p/interface')).toBe('@libp2p/interface')
    expect(packageOf('@libp2p/crypto/keys')).toBe('@libp2p/crypto')
    expect(packageOf('multiformats/hashes/sha2')).toBe('multiformats')
    expect(packageOf('./host.js')).toBeUndefined()
    expect(packageOf('node:http')).toBeUndefined()
    expect(packageOf('events')).toBeUndefined()
  })

  it('are exactly the packages the library (src/ but src/cli/) imports', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    const imports = await libraryImports()
    const declared = Object.keys(pkg.dependencies).sort()
    const missing = [...imports.keys()].filter(name => !declared.includes(name)).map(name => `${name} (imported by ${imports.get(name)?.join(', ') ?? ''})`)
    const unused = declared.filter(name => !imports.has(name))
    expect({ missing, unused }).toEqual({ missing: [], unused: [] })
  })
})
