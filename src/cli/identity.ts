/**
 * The command's persistent identity: one libp2p private key in a file, protobuf-encoded as libp2p
 * encodes keys (`privateKeyToProtobuf`), so go-libp2p and Kubo tooling can read it too.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { KeyFileError } from '../errors.js'
import { fileRefusal } from './file-check.js'
import type { PrivateKey } from '@libp2p/interface'

/** The environment variable that names the key file when `--key` is not given. */
export const KEY_ENV = 'LIBP2PHTTP_KEY'

/** Where the key lives: `--key`, else `$LIBP2PHTTP_KEY`, else `~/.libp2phttp/key`. */
export function keyPath (option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return option ?? env[KEY_ENV] ?? join(homedir(), '.libp2phttp', 'key')
}

/** The key in `path`, or `undefined` when there is no file. */
export async function readKey (path: string): Promise<PrivateKey | undefined> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new KeyFileError(path, `cannot read the key file ${path}: ${(err as Error).message}`, { cause: err })
  }
  // a key someone else could have written is not ours to trust (ssh's rule: see file-check.ts)
  const unsafe = await fileRefusal(path, 'the key file')
  if (unsafe != null) throw new KeyFileError(path, unsafe)
  // a key others can read is someone else's identity too: refuse it rather than use it (ssh's rule)
  const mode = (await stat(path)).mode & 0o077
  if (mode !== 0 && process.platform !== 'win32') {
    throw new KeyFileError(path, `the key file ${path} is readable by others (mode ${((await stat(path)).mode & 0o777).toString(8)}): chmod 600 it`)
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new KeyFileError(path, `the key file ${path} is not a protobuf-encoded libp2p private key: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * The key in `path`, created (Ed25519, mode 0600, its directory 0700) when there is none.
 * `created` says which.
 */
export async function loadOrCreateKey (path: string): Promise<{ key: PrivateKey, created: boolean }> {
  const existing = await readKey(path)
  if (existing != null) return { key: existing, created: false }
  // nor is one created where someone else could replace it
  const unsafe = await fileRefusal(path, 'the key file')
  if (unsafe != null) throw new KeyFileError(path, unsafe)
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch((err: unknown) => {
    throw new KeyFileError(path, `cannot write the key file ${path}: ${(err as Error).message}`, { cause: err })
  })
  // Written whole under a name of its own, then linked into place: another command started at the same
  // moment with the same new key file (two commands pasted together) never reads half a key, and
  // `link` never replaces a key that another process put there meanwhile
  const partial = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.partial`
  try {
    // the mode is set at creation, so the key is never readable by others, not even for an instant
    const file = await open(partial, 'wx', 0o600)
    try {
      // by the descriptor, not the path: the path may name another file by now
      await file.chmod(0o600) // the umask may have narrowed it further; never wider
      await file.writeFile(privateKeyToProtobuf(key))
    } finally {
      await file.close()
    }
    await link(partial, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const raced = await readKey(path)
      if (raced != null) return { key: raced, created: false }
    }
    throw new KeyFileError(path, `cannot write the key file ${path}: ${(err as Error).message}`, { cause: err })
  } finally {
    await rm(partial, { force: true })
  }
  return { key, created: true }
}
