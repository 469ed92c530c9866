import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keyPath, loadOrCreateKey, readKey } from '../../src/cli/identity.js'
import { KeyFileError } from '../../src/errors.js'

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'libp2phttp-key-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('the key file', () => {
  it('--key wins over $LIBP2PHTTP_KEY, which wins over ~/.libp2phttp/key', () => {
    expect(keyPath('/a', { LIBP2PHTTP_KEY: '/b', HOME: '/h' })).toBe('/a')
    expect(keyPath(undefined, { LIBP2PHTTP_KEY: '/b' })).toBe('/b')
    expect(keyPath(undefined, {})).toMatch(/\.libp2phttp\/key$/)
  })

  it('is created once (0600, directory 0700) and read back as the same identity', async () => {
    const path = join(dir, 'sub', 'key')
    const first = await loadOrCreateKey(path)
    expect(first.created).toBe(true)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await stat(join(dir, 'sub'))).mode & 0o777).toBe(0o700)
    const again = await loadOrCreateKey(path)
    expect(again.created).toBe(false)
    expect(peerIdFromPrivateKey(again.key).equals(peerIdFromPrivateKey(first.key))).toBe(true)
  })

  it('a command starting while another creates the key never reads half a key file', async () => {
    for (let round = 0; round < 20; round++) {
      const path = join(dir, `raced-${round}`, 'key')
      const seen = new Set<number>()
      let done = false
      // what a second command would read at any moment: no file, or the whole key
      const watch = (async () => {
        while (!done) {
          try { seen.add((await readFile(path)).length) } catch {}
        }
      })()
      const [a, b] = await Promise.all([loadOrCreateKey(path), loadOrCreateKey(path)])
      done = true
      await watch
      const size = (await readFile(path)).length
      expect([...seen].filter(n => n !== size)).toEqual([])
      expect([a, b].filter(r => r.created)).toHaveLength(1)
      expect(peerIdFromPrivateKey(b.key).equals(peerIdFromPrivateKey(a.key))).toBe(true)
      expect(await readdir(join(dir, `raced-${round}`))).toEqual(['key'])
    }
  })

  it('is 0600 whatever the umask (set on the open descriptor)', async () => {
    const previous = process.umask(0)
    try {
      const path = join(dir, 'open-umask', 'key')
      await loadOrCreateKey(path)
      expect((await stat(path)).mode & 0o777).toBe(0o600)
    } finally {
      process.umask(previous)
    }
  })

  it('no file: undefined; a file others can read, or not a key: KeyFileError (ERR_KEY_FILE)', async () => {
    expect(await readKey(join(dir, 'none'))).toBeUndefined()
    const { key } = await loadOrCreateKey(join(dir, 'open'))
    expect(key).toBeDefined()
    await chmod(join(dir, 'open'), 0o644)
    await expect(readKey(join(dir, 'open'))).rejects.toMatchObject({ code: 'ERR_KEY_FILE', message: expect.stringMatching(/chmod 600/) })
    await writeFile(join(dir, 'junk'), 'not a key', { mode: 0o600 })
    await expect(readKey(join(dir, 'junk'))).rejects.toBeInstanceOf(KeyFileError)
  })
})
