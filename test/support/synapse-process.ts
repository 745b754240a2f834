import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { onProcessExit, signalProcessGroup } from './process-reaper.js';
import { moduleArgsDyingWithParent } from './python-bootstrap.js';
import { within } from '../../src/common/within.js';

/**
 * One running Synapse process, spawned as the leader of its own process group so that stopping
 * it (or reaping it when the test process dies) takes every thread and any helper with it.
 */

/** How a process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned homeserver. */
export interface SynapseProcess {
  pid: number;
  /** Settles when the process has exited (never rejects). */
  exited: Promise<ProcessExit>;
  /** The exit, once it has happened; undefined while running. */
  exitStatus(): ProcessExit | undefined;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the leader has exited. Idempotent. */
  stop(graceMs: number): Promise<ProcessExit>;
}

/**
 * Starts `python -m synapse.app.homeserver -c <configPath>` in `cwd` with stdout and stderr
 * appended to `logPath`. Until the leader exits, the reaper kills the group if the test process
 * ends, and the kernel kills Synapse if the test process dies outright (python-bootstrap.ts; so
 * call this from the main thread). The child does not keep the test process alive on its own.
 */
export function spawnSynapse(python: string, configPath: string, logPath: string, cwd: string): SynapseProcess {
  const logFd = openSync(logPath, 'a');
  let child;
  try {
    child = spawn(python, moduleArgsDyingWithParent('synapse.app.homeserver', ['-c', configPath]), {
      cwd,
      detached: true, // setsid(): own session and process group, pgid = pid
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start Synapse with ${python}`);
  const forget = onProcessExit(() => signalProcessGroup(pid, 'SIGKILL'));
  child.unref();

  let status: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      // Synapse starts no helpers, but anything left in its group goes with the leader.
      signalProcessGroup(pid, 'SIGKILL');
      forget();
      resolve(status);
    });
  });

  let stopping: Promise<ProcessExit> | undefined;
  const stop = (graceMs: number): Promise<ProcessExit> =>
    (stopping ??= (async () => {
      if (status !== undefined) return status;
      signalProcessGroup(pid, 'SIGTERM');
      // The timer also keeps the event loop alive while we wait for an unref'd child; `within`
      // cancels it once Synapse has exited (a plain sleep held every test file open for graceMs).
      const graceful = await within(exited, graceMs);
      if (graceful !== undefined) return graceful;
      signalProcessGroup(pid, 'SIGKILL');
      const killed = await within(exited, graceMs);
      if (killed === undefined) throw new Error(`Synapse pid ${pid} survived SIGKILL for ${graceMs} ms`);
      return killed;
    })());

  return { pid, exited, exitStatus: () => status, stop };
}
