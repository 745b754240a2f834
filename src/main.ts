#!/usr/bin/env node
/**
 * `corporal` command-line entry point: parse arguments and run one command. Exit codes: 0 success,
 * 1 runtime failure, 2 usage or validation error, 3 `plan --exit-code` found pending actions.
 */
import { parseArgs, USAGE } from './cli/args.js';
import { corporalVersion } from './cli/version.js';
import { runServe } from './cli/serve.js';
import { runCheck } from './cli/check.js';
import { runPlan } from './cli/plan.js';
import { dropOutputOnBrokenPipe } from './cli/broken-pipe.js';

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
  // `corporal check | head`: a reader that went away silences a report command instead of a stack
  // trace; the command still finishes and exits with its own code.
  if (args.command !== 'serve') dropOutputOnBrokenPipe();
  switch (args.command) {
    case 'serve':
      return runServe(args);
    case 'check':
      return runCheck(args);
    case 'plan':
      return runPlan(args);
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
