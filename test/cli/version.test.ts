import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packageVersion } from '../../src/cli/version.js'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-version-'))
  // libp2phttp installed inside another project, whose package.json is nearer to nothing here
  await mkdir(join(dir, 'app', 'node_modules', 'libp2phttp', 'dist', 'nested'), { recursive: true })
  await writeFile(join(dir, 'app', 'package.json'), JSON.stringify({ name: 'app', version: '9.9.9' }))
  await writeFile(join(dir, 'app', 'node_modules', 'libp2phttp', 'package.json'), JSON.stringify({ name: 'libp2phttp', version: '1.2.3' }))
  await writeFile(join(dir, 'app', 'node_modules', 'libp2phttp', 'dist', 'nested', 'package.json'), JSON.stringify({ type: 'module' }))
})

afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('packageVersion', () => {
  it('the nearest package.json named libp2phttp above the module, past ones of other names', () => {
    expect(packageVersion(pathToFileURL(join(dir, 'app', 'node_modules', 'libp2phttp', 'dist', 'nested', 'cli.js')).href)).toBe('1.2.3')
  })

  it('none above: undefined', () => {
    expect(packageVersion(pathToFileURL(join(dir, 'app', 'index.js')).href)).toBeUndefined()
  })

  it('this checkout\'s', () => {
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/)
  })
})
