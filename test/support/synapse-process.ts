import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { onProcessExit, signalProcessGroup } from './process-reaper.js';

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
 * Runs the homeserver module under a small bootstrap that first sets `PR_SET_PDEATHSIG` (SIGKILL),
 * so the kernel kills Synapse if the test process dies without running any handler (SIGKILL, OOM
 * kill). The bootstrap then checks that its parent is still the spawner (the parent may have died
 * before the prctl) and hands over to `synapse.app.homeserver` in the same interpreter, so the
 * setting stays in force (it would not survive an exec). Off Linux the prctl is skipped.
 */
const BOOTSTRAP = `
import ctypes, os, runpy, signal, sys
spawner = int(sys.argv[1])
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != spawner:
    sys.exit("synapse bootstrap: the test process that started this homeserver is gone")
sys.argv = ["synapse.app.homeserver"] + sys.argv[2:]
runpy.run_module("synapse.app.homeserver", run_name="__main__", alter_sys=True)
`;

/**
 * Starts `python -m synapse.app.homeserver -c <configPath>` (through the bootstrap above) in `cwd`
 * with stdout and stderr appended to `logPath`. Until the leader exits, the reaper kills the group
 * if the test process ends; the child does not keep the test process alive on its own.
 *
 * PDEATHSIG fires when the spawning *thread* ends, so call this from the main thread.
 */
export function spawnSynapse(python: string, configPath: string, logPath: string, cwd: string): SynapseProcess {
  const logFd = openSync(logPath, 'a');
  let child;
  try {
    child = spawn(python, ['-c', BOOTSTRAP, String(process.pid), '-c', configPath], {
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
      // The timer also keeps the event loop alive while we wait for an unref'd child.
      const graceful = await Promise.race([exited, sleep(graceMs, undefined)]);
      if (graceful !== undefined) return graceful;
      signalProcessGroup(pid, 'SIGKILL');
      return Promise.race([exited, sleep(graceMs, undefined).then(() => Promise.reject(new Error(`Synapse pid ${pid} survived SIGKILL for ${graceMs} ms`)))]);
    })());

  return { pid, exited, exitStatus: () => status, stop };
}
