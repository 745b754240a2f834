import type { Scenario } from '../scenarios/scenario.js';

/** The parsed command line of `bench/run.ts`. */
export interface BenchArgs {
  scenarios: Scenario[];
  durationS: number;
  connections: number;
  threads: number;
  accessLog: boolean;
  rounds: number;
}

/**
 * Parses `[scenario…] [--duration=S] [--connections=N] [--threads=N] [--access-log=on|off]
 * [--rounds=N]` against `known` scenarios (none named: all of them). `--list` → `'list'`. Throws on
 * an unknown scenario or option, and on a count that is not a positive integer — `--rounds=1.5`
 * would run 2 rounds, `--threads=1.5` would make Corporal refuse its configuration mid-run — or a
 * duration that is not a positive number.
 */
export function parseBenchArgs(argv: readonly string[], known: readonly Scenario[]): BenchArgs | 'list' {
  const args: BenchArgs = { scenarios: [], durationS: 10, connections: 50, threads: 2, accessLog: true, rounds: 1 };
  for (const arg of argv) {
    const [flag, value = ''] = arg.split('=', 2) as [string, string?];
    if (flag === '--list') return 'list';
    else if (flag === '--duration') args.durationS = Number(value);
    else if (flag === '--connections') args.connections = Number(value);
    else if (flag === '--threads') args.threads = Number(value);
    else if (flag === '--access-log') args.accessLog = value !== 'off';
    else if (flag === '--rounds') args.rounds = Number(value);
    else {
      const scenario = known.find((candidate) => candidate.name === arg);
      if (!scenario) throw new Error(`unknown scenario or option ${arg} (--list shows the scenarios)`);
      args.scenarios.push(scenario);
    }
  }
  if (args.scenarios.length === 0) args.scenarios = [...known];
  if (!Number.isFinite(args.durationS) || args.durationS <= 0) throw new Error('--duration must be a positive number');
  for (const [name, value] of [['connections', args.connections], ['threads', args.threads], ['rounds', args.rounds]] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  }
  return args;
}
