import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Logger } from '../../common/logger.js';
import { describeError, hasErrorCode } from '../../common/errors.js';

/** Permission bits of group and others. */
const GROUP_AND_OTHERS = 0o077;

/**
 * Makes an existing saved-policy file (`CachePath`) readable by its owner only (0600), as every
 * file Corporal writes there is: a policy holds credentials (password hashes, `plain` passwords).
 * A file that came from elsewhere (a migration from matrix-corporal, a restored backup) could
 * otherwise stay readable by others until the next change of policy rewrote it (red team 11, F7).
 * Only a regular file is changed: the file is opened without following a symlink (`O_NOFOLLOW`),
 * and its mode is read and changed through that handle, so a symlink swapped in meanwhile is left
 * alone too (the next save replaces a symlink with a 0600 file). Never rejects (a failure is logged).
 */
export async function restrictPolicyFileMode(path: string, logger: Logger): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    // O_NONBLOCK: opening a FIFO put in its place must not wait for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const stats = await handle.stat();
    if (!stats.isFile() || (stats.mode & GROUP_AND_OTHERS) === 0) return;
    await handle.chmod(0o600);
    logger.warn({ file: path, was: (stats.mode & 0o777).toString(8) }, 'the saved policy was readable by others; its mode is now 0600');
  } catch (err) {
    // ENOENT: nothing saved yet; ELOOP: a symlink, left alone.
    if (!hasErrorCode(err, 'ENOENT') && !hasErrorCode(err, 'ELOOP')) logger.warn({ file: path, err: describeError(err) }, 'cannot check the mode of the saved policy');
  } finally {
    await handle?.close();
  }
}
