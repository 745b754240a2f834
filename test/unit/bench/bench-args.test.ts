import t from 'tap';
import { parseBenchArgs } from '../../../bench/support/bench-args.js';
import type { Scenario } from '../../../bench/scenarios/scenario.js';

const scenario = (name: string): Scenario => ({ name, description: name, run: async () => ({ rps: 0, p50: 0, p975: 0, p99: 0, errors: 0 }) }) as unknown as Scenario;
const KNOWN = [scenario('cached-get'), scenario('streaming')];

t.test('defaults, named scenarios and --list', async (t) => {
  t.match(parseBenchArgs([], KNOWN), { durationS: 10, connections: 50, threads: 2, accessLog: true, rounds: 1, scenarios: KNOWN });
  const parsed = parseBenchArgs(['streaming', '--rounds=3', '--threads=4', '--connections=100', '--duration=2.5', '--access-log=off'], KNOWN);
  t.match(parsed, { durationS: 2.5, connections: 100, threads: 4, accessLog: false, rounds: 3 });
  t.same(parsed !== 'list' && parsed.scenarios.map((s) => s.name), ['streaming']);
  t.equal(parseBenchArgs(['--list'], KNOWN), 'list');
  t.throws(() => parseBenchArgs(['nope'], KNOWN), /unknown scenario or option nope/);
});

t.test('counts must be positive integers, the duration a positive number', async (t) => {
  for (const arg of ['--rounds=1.5', '--threads=1.5', '--connections=0.5', '--rounds=0', '--threads=-2', '--connections=x', '--rounds=']) {
    t.throws(() => parseBenchArgs([arg], KNOWN), /must be a positive integer/, arg);
  }
  for (const arg of ['--duration=0', '--duration=x']) t.throws(() => parseBenchArgs([arg], KNOWN), /--duration must be a positive number/, arg);
});
