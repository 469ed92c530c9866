/**
 * ssh's rule for the files that decide who this machine is or whom it serves (the identity key,
 * `serve --config`, the TLS key): refused when anyone but their owner could have written them. A file
 * is unsafe when it is writable by group or others, or owned by a user other than this process's (or
 * root); so is a directory on its path (up to `/`) that is owned by another user, or writable by group
 * or others without the sticky bit (whoever can write a directory can replace what is in it). A
 * sticky directory, `/tmp` among them, is allowed: there only a file's owner may rename or remove it,
 * and the file itself must still be ours. A symlink is judged by its target (its real path).
 *
 * @module
 */
import { realpath, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Stats } from 'node:fs'

/** Options for {@link fileRefusal}; the user is passed in so tests can take another one's place. */
export interface FileCheckOptions {
  /** The user the file must belong to (besides root). @default process.getuid() */
  uid?: number
}

const mode = (st: Stats): string => (st.mode & 0o7777).toString(8)

/**
 * Why `path` (a `what`, e.g. "the key file") is unsafe to trust, or `undefined` when it is safe or there
 * is nothing to judge (no such file: its nearest existing directory is judged; Windows: nothing).
 */
export async function fileRefusal (path: string, what: string, options: FileCheckOptions = {}): Promise<string | undefined> {
  const uid = options.uid ?? process.getuid?.()
  if (uid == null) return undefined
  const real = await realPath(path)
  if (real.file != null) {
    const st = await stat(real.file)
    const shown = real.file === path ? path : `${path} (${real.file})`
    if (st.uid !== uid && st.uid !== 0) return `${what} ${shown} is owned by uid ${st.uid}, not by this user (uid ${uid}) or root: chown ${uid} ${real.file}, or use another file`
    if ((st.mode & 0o022) !== 0) return `${what} ${shown} is writable by others (mode ${mode(st)}): chmod go-w ${real.file}`
  }
  for (let dir = real.dir; ; dir = dirname(dir)) {
    const st = await stat(dir)
    if (st.uid !== uid && st.uid !== 0) return `the directory ${dir} of ${what} ${path} is owned by uid ${st.uid}, not by this user (uid ${uid}) or root: move the file elsewhere`
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return `the directory ${dir} of ${what} ${path} is writable by others (mode ${mode(st)}): chmod go-w ${dir} (or move the file elsewhere)`
    if (dirname(dir) === dir) return undefined
  }
}

/** The real path of `path` (symlinks resolved), or of its nearest existing directory when it does not exist. */
async function realPath (path: string): Promise<{ file?: string, dir: string }> {
  try {
    const file = await realpath(path)
    return { file, dir: dirname(file) }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      return { dir: await realpath(dir) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(dir) === dir) throw err
    }
  }
}
