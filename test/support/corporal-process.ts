import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
