import { chmod, lstat } from 'node:fs/promises';
import type { Logger } from '../../common/logger.js';
import { describeError, hasErrorCode } from '../../common/errors.js';

/** Permission bits of group and others. */
const GROUP_AND_OTHERS = 0o077;

/**
 * Makes an existing saved-policy file (`CachePath`) readable by its owner only (0600), as every
 * file Corporal writes there is: a policy holds credentials (password hashes, `plain` passwords).
 * A file that came from elsewhere (a migration from matrix-corporal, a restored backup) could
 * otherwise stay readable by others until the next change of policy rewrote it (red team 11, F7).
 * Only a regular file is changed (a symlink is left alone: the next save replaces it with a
 * 0600 file). Resolves with whether the mode was changed; never rejects (a failure is logged).
 */
export async function restrictPolicyFileMode(path: string, logger: Logger): Promise<boolean> {
  try {
    const stats = await lstat(path);
    if (!stats.isFile() || (stats.mode & GROUP_AND_OTHERS) === 0) return false;
    await chmod(path, 0o600);
    logger.warn({ file: path, was: (stats.mode & 0o777).toString(8) }, 'the saved policy was readable by others; its mode is now 0600');
    return true;
  } catch (err) {
    if (!hasErrorCode(err, 'ENOENT')) logger.warn({ file: path, err: describeError(err) }, 'cannot check the mode of the saved policy');
    return false;
  }
}
