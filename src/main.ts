#!/usr/bin/env node
/**
 * `corporal` command-line entry point: parse arguments and run one command. Exit codes: 0 success,
 * 1 runtime failure, 2 usage or validation error.
 */
import { parseArgs, USAGE } from './cli/args.js';
import { corporalVersion } from './cli/version.js';
import { runServe } from './cli/serve.js';
import { runCheck } from './cli/check.js';
import { runPlan } from './cli/plan.js';

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`corporal: ${parsed.error}\n\n${USAGE}`);
    return 2;
  }
  const { args } = parsed;
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`corporal ${corporalVersion()}\n`);
    return 0;
  }
  // `corporal check | head`: a reader that went away ends a report command quietly, as Unix
  // tools do, instead of a stack trace. (Not for serve, whose stdout is its log.)
  if (args.command !== 'serve') exitQuietlyOnBrokenPipe();
  switch (args.command) {
    case 'serve':
      return runServe(args);
    case 'check':
      return runCheck(args);
    case 'plan':
      return runPlan(args);
  }
}

function exitQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(process.exitCode ?? 0);
    });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // -1: the command keeps running (serve); it exits from its own signal handling.
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`corporal: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
