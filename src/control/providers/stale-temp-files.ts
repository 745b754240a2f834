import { lstat, readdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { describeError } from '../../common/errors.js';
import { tempFileWriter } from './atomic-write.js';

/**
 * Removes the temporary files that `writeFileAtomic` calls for `path` left behind when their
 * process died mid-write (a crashed or killed control child): only regular files whose name is
 * exactly `.<basename of path>.<pid>.<12 hex>.tmp` in `path`'s directory, whose writer (the pid)
 * no longer runs: never one of a write still running, in this process (the old control child in its
 * shutdown grace, a second instance, the CLI) or another. Resolves with how many were removed;
 * never rejects (a failure is a warning: the leftovers only cost disk space).
 *
 * Why: each leftover is a whole policy (up to 256 MiB), mode 0600 but full of credentials, and one
 * more accumulates per crash; nothing else would ever remove them. A reused pid only makes a
 * leftover stay until the next start.
 */
export async function removeStaleTempFiles(path: string, logger: Logger): Promise<number> {
  const dir = dirname(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    logger.debug({ dir, err: describeError(err) }, 'cannot list the directory for leftover temporary files');
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const tempPath = join(dir, name);
    const writer = tempFileWriter(name, path);
    if (writer === null || isRunning(writer)) continue;
    try {
      if (!(await lstat(tempPath)).isFile()) continue;
      await unlink(tempPath);
      removed += 1;
    } catch (err) {
      logger.warn({ file: tempPath, err: describeError(err) }, 'cannot remove a leftover temporary policy file');
    }
  }
  if (removed > 0) logger.info({ dir, removed }, 'removed temporary policy files left behind by a crashed process');
  return removed;
}

/** Whether a process with this pid exists (signal 0 checks without sending; EPERM: it exists, not ours). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
