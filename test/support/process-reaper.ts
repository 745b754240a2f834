import { readFileSync } from 'node:fs';

/**
 * Last-resort cleanup for test processes, so that a failing or interrupted test never leaves a
 * homeserver running or its temp dir behind. Each running Synapse registers "kill my process
 * group" and "remove my data dir"; these run, newest first, when the process exits without having
 * stopped them. The registry is process-wide by nature (exit and signal handlers are), which is
 * why it lives at module scope.
 *
 * Covered: normal exit, an uncaught exception (Node still emits 'exit'), SIGINT, SIGTERM and SIGHUP
 * (tap's timeout sends SIGTERM). Not coverable from here: SIGKILL of the test process; for that the
 * child itself asks the kernel to kill it when its parent dies (see synapse-process.ts).
 */
const cleanups = new Set<() => void>();
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Registers a synchronous cleanup to run if this process ends first; returns its deregistration.
 * Cleanups must not throw for "already gone" (a failure is swallowed: nothing more can be done
 * while exiting).
 */
export function onProcessExit(cleanup: () => void): () => void {
  if (!process.listeners('exit').includes(runCleanups)) {
    process.on('exit', runCleanups);
    for (const signal of FORWARDED_SIGNALS) process.once(signal, onSignal);
  }
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/** Sends `signal` to every process in the group `pgid`; false when the group no longer exists. */
export function signalProcessGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** True while `pid` names a process that has not exited (a zombie awaiting its reaper counts as gone). */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: kill(0) is all we know
  }
}

function runCleanups(): void {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      cleanup();
    } catch {
      // Exiting: nothing more can be done.
    }
  }
  cleanups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  runCleanups();
  for (const other of FORWARDED_SIGNALS) process.removeListener(other, onSignal);
  // Re-raise so that the default action (or another handler, such as tap's) still happens.
  process.kill(process.pid, signal);
}
