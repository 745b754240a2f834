import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { describeError, hasErrorCode } from '../../common/errors.js';

/** The configuration key naming the saved-policy file of the `http` and `last_seen_store_policy` providers. */
export const CACHE_PATH_KEY = 'PolicyProvider.CachePath';

/**
 * Why a policy cannot be saved at `path` — `path` is a directory, or its directory does not exist,
 * is not a directory, or is not writable by this user (`access(W_OK)`) — or null when it can be. Creates nothing. Why: the
 * save writes a temporary file next to `path` and renames it, so a missing directory is otherwise
 * found only at the first save (a push answered 500; operator review 19, finding 9).
 */
export async function cacheDirectoryProblem(path: string): Promise<string | null> {
  // The save renames a temporary file over `path`: a directory there makes every save fail (EISDIR).
  if (await isDirectory(resolve(path))) return `${resolve(path)} is a directory, not a file`;
  const directory = dirname(resolve(path));
  try {
    if (!(await stat(directory)).isDirectory()) return `${directory} is not a directory`;
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT')) return `the directory ${directory} does not exist`;
    return `the directory ${directory} cannot be inspected: ${describeError(err)}`;
  }
  try {
    await access(directory, constants.W_OK);
  } catch {
    return `the directory ${directory} is not writable by this user`;
  }
  return null;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * At a provider's start: logs an error naming {@link CACHE_PATH_KEY} and `cachePath` when the
 * policy cannot be saved there, with `consequence` (what that costs). Never rejects and does not
 * stop the start (matrix-corporal did not refuse to start either).
 */
export async function reportCacheDirectory(cachePath: string, logger: Logger, consequence: string): Promise<void> {
  const problem = await cacheDirectoryProblem(cachePath);
  if (problem !== null) logger.error({ key: CACHE_PATH_KEY, cachePath, problem }, `the policy cannot be saved at ${CACHE_PATH_KEY}; ${consequence}`);
}
