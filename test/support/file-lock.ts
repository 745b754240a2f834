import { open, readFile, stat, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A cross-process exclusive lock made of one file created with `O_CREAT|O_EXCL` (`'wx'`), so that
 * concurrent test processes (tap runs several files at once) never install the same virtualenv
 * twice. The file records who holds it; a lock whose holder is gone (process dead, or its pid
 * reused by another process) is stale and gets broken. Breaking is itself serialised by a second
 * `.break` file, so two waiters that both saw the same stale lock cannot end up deleting a fresh
 * lock that one of them has just taken.
 */

/** Options of {@link acquireFileLock}. */
export interface FileLockOptions {
  /** Give up (throw) after waiting this long for a live holder. */
  timeoutMs: number;
  /** How often to look again while a live holder has it. Default 250 ms. */
  pollMs?: number;
  /** Called once when the caller starts waiting for another holder. */
  onWait?: (holder: LockHolder) => void;
}

/** The content of a lock file. */
export interface LockHolder {
  pid: number;
  /** `/proc/<pid>/stat` start time, to tell a live holder from a reused pid; null off Linux. */
  startTime: string | null;
  hostname: string;
  acquiredAt: string;
}

/** A held lock. `release()` removes the file if it is still this holder's, and is idempotent. */
export interface FileLock {
  path: string;
  release(): Promise<void>;
}

/** A lock file with no readable holder (its creator died between create and write) is stale after this. */
const UNWRITTEN_LOCK_STALE_MS = 10_000;
/** Breaking takes a few syscalls; a `.break` file older than this was left by a crashed breaker. */
const BREAK_LOCK_STALE_MS = 30_000;

/**
 * Takes the lock at `lockPath`, waiting while a live process holds it. Throws when
 * `options.timeoutMs` passes, naming the holder and how to clear the lock by hand.
 */
export async function acquireFileLock(lockPath: string, options: FileLockOptions): Promise<FileLock> {
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 250;
  let announced = false;
  for (;;) {
    const mine = await tryCreate(lockPath);
    if (mine !== null) return { path: lockPath, release: onceAsync(() => releaseIfMine(lockPath, mine)) };
    const seen = await inspect(lockPath);
    if (seen === null) continue;
    if (seen.stale) {
      await breakStaleLock(lockPath);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = seen.holder === null ? 'an unknown holder' : `pid ${seen.holder.pid} on ${seen.holder.hostname} since ${seen.holder.acquiredAt}`;
      throw new Error(
        `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for the lock ${lockPath}, held by ${who}. ` +
          'If no such process is still working, delete that file and run again.',
      );
    }
    if (!announced && seen.holder !== null) {
      announced = true;
      options.onWait?.(seen.holder);
    }
    await sleep(pollMs);
  }
}

/** Runs `fn` while holding the lock at `lockPath`; the lock is released however `fn` ends. */
export async function withFileLock<T>(lockPath: string, options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireFileLock(lockPath, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** This process's holder record. */
export function currentHolder(): LockHolder {
  return { pid: process.pid, startTime: processStartTime(process.pid), hostname: hostname(), acquiredAt: new Date().toISOString() };
}

/** True while the process named by `holder` still runs (and is the same process, not a reused pid). */
export function isHolderAlive(holder: LockHolder): boolean {
  // On another host the pid means nothing here: assume alive and let the timeout speak.
  if (holder.hostname !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = processStartTime(holder.pid);
  return holder.startTime === null || now === null || now === holder.startTime;
}

function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses; fields after the last ')' are plain.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 overall = index 19 after "pid (comm)"
  } catch {
    return null;
  }
}

async function tryCreate(lockPath: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(lockPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
  const content = JSON.stringify(currentHolder());
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
  return content;
}

interface SeenLock {
  content: string;
  holder: LockHolder | null;
  stale: boolean;
}

/** Reads and judges the lock file; null when it has disappeared meanwhile. */
async function inspect(lockPath: string): Promise<SeenLock | null> {
  let content: string;
  let mtimeMs: number;
  try {
    content = await readFile(lockPath, 'utf8');
    mtimeMs = (await stat(lockPath)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const holder = parseHolder(content);
  const stale = holder === null ? Date.now() - mtimeMs > UNWRITTEN_LOCK_STALE_MS : !isHolderAlive(holder);
  return { content, holder, stale };
}

function parseHolder(content: string): LockHolder | null {
  try {
    const value = JSON.parse(content) as Partial<LockHolder>;
    if (typeof value.pid !== 'number' || typeof value.hostname !== 'string') return null;
    return {
      pid: value.pid,
      startTime: typeof value.startTime === 'string' ? value.startTime : null,
      hostname: value.hostname,
      acquiredAt: String(value.acquiredAt),
    };
  } catch {
    return null;
  }
}

/** Removes the lock if it is (still) stale, judged again under the `.break` lock. */
async function breakStaleLock(lockPath: string): Promise<void> {
  const breakPath = `${lockPath}.break`;
  let handle;
  try {
    handle = await open(breakPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const age = await stat(breakPath).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > BREAK_LOCK_STALE_MS) await unlinkIfPresent(breakPath);
    else await sleep(20);
    return;
  }
  try {
    const seen = await inspect(lockPath);
    if (seen !== null && seen.stale) await unlinkIfPresent(lockPath);
  } finally {
    await handle.close();
    await unlinkIfPresent(breakPath);
  }
}

async function releaseIfMine(lockPath: string, content: string): Promise<void> {
  const current = await readFile(lockPath, 'utf8').catch(() => null);
  if (current === content) await unlinkIfPresent(lockPath);
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function onceAsync(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
