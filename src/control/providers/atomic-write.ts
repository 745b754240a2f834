import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` with `data` so that a reader (or a crash) only ever sees the old or the new file,
 * never a partial one: write a temporary file in the same directory (same file system, so the
 * rename is atomic), fsync it, rename it over `path`, then fsync the directory so the rename itself
 * survives a power loss. The file is created mode 0600: a policy holds credentials. The temporary
 * file is named `.<basename>.<pid>.<12 hex>.tmp` ({@link isTempFileOf}); a crash can leave one
 * behind, see `removeStaleTempFiles`.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
  await syncDirectory(dir);
}

/** True when `name` (a file name in `path`'s directory) is exactly a temporary file {@link writeFileAtomic} makes for `path`. */
export function isTempFileOf(name: string, path: string): boolean {
  return tempFileWriter(name, path) !== null;
}

/** The pid of the process that made `name`, when it is exactly a temporary file {@link writeFileAtomic} makes for `path`; else null. */
export function tempFileWriter(name: string, path: string): number | null {
  const prefix = `.${basename(path)}.`;
  if (!name.startsWith(prefix)) return null;
  const match = /^([1-9][0-9]{0,9})\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
  return match === null ? null : Number(match[1]);
}

async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the data itself is already synced.
  } finally {
    await handle?.close();
  }
}
