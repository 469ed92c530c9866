/**
 * ssh's rule for key and config files, on real files (the tests run as root: another user is a chown).
 */
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileRefusal } from '../../src/cli/file-check.js'

const OTHER = 4242
let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'libp2phttp-files-'))
  await chmod(dir, 0o700)
})
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

async function file (path: string, mode = 0o600): Promise<string> {
  await writeFile(path, 'x')
  await chmod(path, mode)
  return path
}

describe.skipIf(process.getuid == null)('fileRefusal', () => {
  it('a file of ours, mode 600, in a directory of ours: safe', async () => {
    expect(await fileRefusal(await file(join(dir, 'key')), 'the key file')).toBeUndefined()
  })

  it.each([[0o620], [0o602], [0o666]])('a file writable by others (mode %o) is refused, naming the file and chmod go-w', async (mode) => {
    const path = await file(join(dir, 'key'), mode)
    expect(await fileRefusal(path, 'the key file')).toBe(`the key file ${path} is writable by others (mode ${mode.toString(8)}): chmod go-w ${path}`)
  })

  it('a file owned by another user is refused, naming the file and chown', async () => {
    const path = await file(join(dir, 'key'))
    await chown(path, OTHER, OTHER)
    expect(await fileRefusal(path, 'the key file')).toMatch(new RegExp(`^the key file ${path} is owned by uid ${OTHER}, not by this user .*: chown \\d+ ${path}`))
  })

  it('a file owned by root is trusted by another user (as ssh trusts root)', async () => {
    expect(await fileRefusal(await file(join(dir, 'key')), 'the key file', { uid: OTHER })).toBeUndefined()
  })

  it('a directory on the path writable by others (not sticky) is refused', async () => {
    await mkdir(join(dir, 'open'))
    await chmod(join(dir, 'open'), 0o777)
    const path = await file(join(dir, 'open', 'key'))
    expect(await fileRefusal(path, 'the key file')).toBe(`the directory ${join(dir, 'open')} of the key file ${path} is writable by others (mode 777): chmod go-w ${join(dir, 'open')} (or move the file elsewhere)`)
    // a file not yet created there is refused too (it would be created where others can replace it)
    expect(await fileRefusal(join(dir, 'open', 'new', 'key'), 'the key file')).toMatch(/is writable by others/)
  })

  it('a sticky directory writable by others (/tmp) is allowed: only the file\'s owner may replace it there', async () => {
    await mkdir(join(dir, 'sticky'))
    await chmod(join(dir, 'sticky'), 0o1777)
    expect(await fileRefusal(await file(join(dir, 'sticky', 'key')), 'the key file')).toBeUndefined()
  })

  it('a directory owned by another user is refused', async () => {
    await mkdir(join(dir, 'theirs'))
    const path = await file(join(dir, 'theirs', 'key'))
    await chown(join(dir, 'theirs'), OTHER, OTHER)
    expect(await fileRefusal(path, 'the key file')).toMatch(/^the directory .*theirs of the key file .* is owned by uid 4242/)
  })

  it('a symlink is judged by its target: to an unsafe file, refused; from an unsafe directory to a safe file, allowed', async () => {
    const unsafe = await file(join(dir, 'unsafe'), 0o660)
    await symlink(unsafe, join(dir, 'link'))
    expect(await fileRefusal(join(dir, 'link'), 'the key file')).toBe(`the key file ${join(dir, 'link')} (${unsafe}) is writable by others (mode 660): chmod go-w ${unsafe}`)
    await mkdir(join(dir, 'open'))
    await chmod(join(dir, 'open'), 0o777)
    const safe = await file(join(dir, 'safe'))
    await symlink(safe, join(dir, 'open', 'link'))
    expect(await fileRefusal(join(dir, 'open', 'link'), 'the key file')).toBeUndefined()
  })
})
