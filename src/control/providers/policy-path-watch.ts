import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Logger } from '../../common/logger.js';
import { describeError } from '../../common/errors.js';
import { watchPlanOf } from './watch-plan.js';

/** What {@link PolicyPathWatch} needs. */
export interface PolicyPathWatchOptions {
  /** The absolute policy path. */
  path: string;
  logger: Logger;
  /** An event that can concern the policy file. */
  onEvent: () => void;
  /** A watch failed (the directory went away, inotify gave up): it was dropped; the caller re-checks. */
  onFailure: () => void;
}

interface DirectoryWatch {
  watcher: FSWatcher;
  /** The directory's dev:inode when the watch was set: a directory removed and re-created is watched again. */
  identity: string;
  /** Names in the directory that can concern the policy (see {@link watchPlanOf}). */
  names: Set<string>;
}

/**
 * Watches the directories a policy path goes through — its own, each symlink's, the resolved
 * file's — and reports only the events that can concern the policy: one on a name from
 * {@link watchPlanOf}, on any name starting with `..` (a Kubernetes ConfigMap's swap: `..data`,
 * `..2024_…`), or without a name (the platform did not say; assume it matters). Why filter: every
 * event re-arms the reload debounce, and unrelated activity next to the policy (a log file) would
 * otherwise only cost work and delay loads.
 *
 * {@link PolicyPathWatch.resync | resync()} re-resolves the path and moves the watches: the caller
 * runs it before every load, since a link can be re-pointed at another directory at any time.
 */
export class PolicyPathWatch {
  private readonly watches = new Map<string, DirectoryWatch>();
  /** Directories whose watch failed and was logged, so that a re-check every few seconds does not log it again. */
  private readonly reportedFailures = new Set<string>();
  private closed = false;

  constructor(private readonly options: PolicyPathWatchOptions) {}

  /**
   * Re-resolves the path and watches exactly the directories of its current plan. Resolves to
   * whether every one of them is watched (false: one is missing or cannot be watched, so the
   * caller should re-check by itself). Never rejects.
   */
  async resync(): Promise<boolean> {
    const plan = await watchPlanOf(this.options.path);
    if (this.closed) return false;
    for (const [directory, current] of this.watches) {
      if (!plan.has(directory)) this.drop(directory, current);
    }
    let all = true;
    for (const [directory, names] of plan) {
      const identity = await directoryIdentity(directory);
      if (this.closed) return false;
      const current = this.watches.get(directory);
      if (current && current.identity === identity) {
        current.names = names;
        continue;
      }
      if (current) this.drop(directory, current);
      if (identity === null || !this.add(directory, identity, names)) all = false;
    }
    return all;
  }

  /** Stops every watch; later resyncs do nothing. */
  close(): void {
    this.closed = true;
    for (const [directory, current] of this.watches) this.drop(directory, current);
  }

  /** Watches `directory`; false when it cannot be watched. */
  private add(directory: string, identity: string, names: Set<string>): boolean {
    const { logger } = this.options;
    let watcher: FSWatcher;
    try {
      watcher = watch(directory, { persistent: false }, (_event, filename) => {
        if (isRelevant(filename, entry.names)) this.options.onEvent();
      });
    } catch (err) {
      if (!this.reportedFailures.has(directory)) {
        this.reportedFailures.add(directory);
        logger.warn({ dir: directory, err: describeError(err) }, 'cannot watch a policy directory; re-checking periodically');
      }
      return false;
    }
    const entry: DirectoryWatch = { watcher, identity, names };
    watcher.on('error', (err) => {
      logger.warn({ dir: directory, err: describeError(err) }, 'policy directory watch failed; re-checking periodically');
      if (this.watches.get(directory) === entry) this.drop(directory, entry);
      this.options.onFailure();
    });
    this.reportedFailures.delete(directory);
    this.watches.set(directory, entry);
    return true;
  }

  private drop(directory: string, entry: DirectoryWatch): void {
    entry.watcher.close();
    this.watches.delete(directory);
  }
}

function isRelevant(filename: string | null, names: Set<string>): boolean {
  return filename === null || names.has(filename) || filename.startsWith('..');
}

/** `dev:inode` of a directory, or null when it is not there (or not a directory). */
async function directoryIdentity(directory: string): Promise<string | null> {
  try {
    const stats = await stat(directory);
    return stats.isDirectory() ? `${stats.dev}:${stats.ino}` : null;
  } catch {
    return null;
  }
}
