import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isProcessRunning } from './process-reaper.js';
import type { StartSynapseOptions } from './start-synapse.js';

const CHILD_SCRIPT = fileURLToPath(new URL('./start-synapse-child.js', import.meta.url));

/** How {@link orphanSynapse} ends the test process: a signal, or a plain `process.exit(0)`. */
export type TestProcessEnding = 'SIGKILL' | 'SIGTERM' | 'exit';

/** What the ended test process had started (start-synapse-child.ts), and whether it was all running before the end. */
export interface OrphanedSynapse {
  pid: number;
  dataDir: string;
  postgres?: { pid: number; dir: string };
  /** Synapse (and its postmaster) were running just before the test process was signalled; undefined for `exit` (it exits on its own at once). */
  ranBefore?: boolean;
}

/**
 * Starts a Synapse with `options` in a separate test process (start-synapse-child.ts), which then
 * ends by `ending` without calling `stop()`; resolves once that process has exited. Throws with
 * the child's stderr if it never reported a started Synapse. Whatever it leaves on disk is removed
 * at teardown.
 */
export async function orphanSynapse(t: { teardown(fn: () => unknown): void }, options: StartSynapseOptions, ending: TestProcessEnding): Promise<OrphanedSynapse> {
  const child = spawn(process.execPath, [CHILD_SCRIPT, JSON.stringify(options), ending === 'exit' ? 'exit' : 'idle'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const [line] = await Promise.race([
    (async () => {
      for await (const first of createInterface({ input: child.stdout })) return [first];
      return [undefined];
    })(),
    exited.then(() => [undefined]),
  ]);
  if (!line) throw new Error(`the child did not start Synapse; its stderr:\n${stderr}`);
  const started = JSON.parse(line) as Omit<OrphanedSynapse, 'ranBefore'>;
  t.teardown(() => {
    rmSync(started.dataDir, { recursive: true, force: true });
    if (started.postgres) rmSync(started.postgres.dir, { recursive: true, force: true });
  });
  if (ending === 'exit') {
    await exited;
    return started;
  }
  const ranBefore = isProcessRunning(started.pid) && (started.postgres === undefined || isProcessRunning(started.postgres.pid));
  child.kill(ending);
  await exited;
  return { ...started, ranBefore };
}

/** Polls until `pid` is gone; returns false if it is still running at the deadline. */
export async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessRunning(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}
