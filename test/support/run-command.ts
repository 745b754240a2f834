import { spawn } from 'node:child_process';
import { signalProcessGroup } from './process-reaper.js';

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Hard limit; the command is killed (SIGKILL) when it runs longer. */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How to show the command in results and messages; default: the command line as run. */
  displayAs?: string;
  /** How many bytes of combined stdout+stderr to keep (the tail). Default 64 KiB. */
  maxOutputBytes?: number;
}

/** What a finished (or killed) command did. `output` is the tail of stdout and stderr interleaved. */
export interface RunCommandResult {
  command: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  output: string;
  durationMs: number;
}

/**
 * Runs a command to completion and never throws for a non-zero exit: the caller decides what a
 * failure means and words the error. Throws only when the executable cannot be started at all
 * (ENOENT, EACCES), with the command line in the message.
 *
 * The command leads its own process group, and the time limit kills the whole group: a wrapper
 * that forks (`runuser`, `initdb` starting `postgres --single`, a shell) would otherwise leave its
 * children holding the output pipes, and the run would not end before they did.
 */
export function runCommand(file: string, args: readonly string[], options: RunCommandOptions): Promise<RunCommandResult> {
  const maxBytes = options.maxOutputBytes ?? 64 * 1024;
  const command = options.displayAs ?? [file, ...args].join(' ');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // setsid(): its own process group, pgid = pid, so that a timeout can end it all
    });
    const chunks: Buffer[] = [];
    let kept = 0;
    const keep = (chunk: Buffer): void => {
      chunks.push(chunk);
      kept += chunk.length;
      while (kept > maxBytes && chunks.length > 1) kept -= chunks.shift()!.length;
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid === undefined || !signalProcessGroup(child.pid, 'SIGKILL')) child.kill('SIGKILL');
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start \`${command}\`: ${err.message}`, { cause: err }));
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      let output = Buffer.concat(chunks).toString('utf8');
      if (output.length > maxBytes) output = output.slice(-maxBytes);
      resolve({ command, exitCode, signal, timedOut, output, durationMs: Date.now() - started });
    });
  });
}

/** A one-line account of how a command ended, for error messages. */
export function describeExit(result: RunCommandResult): string {
  if (result.timedOut) return `\`${result.command}\` was killed after running ${Math.round(result.durationMs / 1000)} s (timeout)`;
  if (result.signal !== null) return `\`${result.command}\` was killed by ${result.signal}`;
  return `\`${result.command}\` exited with code ${result.exitCode}`;
}

/** The last `lines` lines of a text, for error messages that quote a log. */
export function tailLines(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}
