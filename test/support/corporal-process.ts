import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findFreePort } from './free-port.js';

/** `dist/src/main.js`, the compiled CLI. */
export const CORPORAL_MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
/** `dist/src/healthcheck.js`, the compiled container health check. */
export const HEALTHCHECK_SCRIPT = fileURLToPath(new URL('../../src/healthcheck.js', import.meta.url));

/** One JSON log line written by Corporal. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number; component?: string };

/** A `corporal` subprocess whose stdout JSON logs are collected. */
export interface CorporalProcess {
  process: ChildProcess;
  /** Every log line so far, in order. */
  readonly logs: LogLine[];
  /** Non-JSON output (stderr and stray stdout), for failure messages. */
  readonly text: string[];
  /** Resolves with the first log line (past or future) matching `predicate`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
}

/** Starts `node dist/src/main.js <args>` and collects its logs. The caller must end it. */
export function startCorporalProcess(args: readonly string[], env: NodeJS.ProcessEnv = process.env): CorporalProcess {
  const child = spawn(process.execPath, [CORPORAL_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const logs: LogLine[] = [];
  const text: string[] = [];
  const waiters = new Set<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const raw = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        text.push(raw);
        continue;
      }
      logs.push(line);
      for (const waiter of waiters) {
        if (waiter.predicate(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => text.push(chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return {
    process: child,
    logs,
    text,
    exited,
    waitForLog(predicate, timeoutMs = 15_000) {
      const found = logs.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { predicate, resolve: (line: LogLine) => { clearTimeout(timer); resolve(line); } };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching log line within ${timeoutMs} ms; output so far:\n${logs.map((l) => JSON.stringify(l)).join('\n')}\n${text.join('')}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}

/**
 * Stops the process if it still runs: SIGTERM (the graceful stop a test did not ask for), then
 * SIGKILL after `timeoutMs`; resolves with its exit code or signal.
 */
export async function ensureStopped(corporal: CorporalProcess, timeoutMs = 15_000): Promise<number | string> {
  if (corporal.process.exitCode === null && corporal.process.signalCode === null) {
    corporal.process.kill('SIGTERM');
    const timer = setTimeout(() => corporal.process.kill('SIGKILL'), timeoutMs);
    const result = await corporal.exited;
    clearTimeout(timer);
    return result;
  }
  return corporal.exited;
}

/**
 * `corporal serve --config <path>` on `portCount` free ports, where `writeConfig(ports)` writes the
 * configuration and returns its path; stopped at the end of `t`. Resolves once it has started, or
 * failed, or exited. Another process can take a port between `findFreePort` and the listen (test
 * files run in parallel): a start that cannot listen is tried again on other ports, twice. Not for
 * a file's top level between two `t.test` calls: tap ends the file's root test when its subtests
 * are done and none is queued, and waiting for a start can outlast them (serveAgainst does not wait).
 */
export async function startServeOnFreePorts(
  t: { teardown(fn: () => unknown): void },
  portCount: number,
  writeConfig: (ports: readonly number[]) => string,
): Promise<{ ports: number[]; corporal: CorporalProcess }> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < portCount; i++) ports.push(await findFreePort());
    const corporal = startCorporalProcess(['serve', '--config', writeConfig(ports)]);
    t.teardown(() => ensureStopped(corporal));
    const first = await Promise.race([
      corporal.waitForLog((line) => line.msg === 'corporal started' || line.msg === 'start-up failed', 60_000),
      corporal.exited.then(() => null),
    ]);
    const cannotListen = first?.msg === 'start-up failed' && /cannot listen|already in use/.test(String(first['err']));
    if (!cannotListen || attempt === 3) return { ports, corporal };
    await corporal.exited;
  }
}
