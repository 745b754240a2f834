/**
 * Gateway benchmarks (`npm run bench`): a fast fake homeserver in its own process (uWS), Corporal
 * run as `corporal serve` in front of it, and each scenario run twice in the same run — straight at
 * the fake homeserver, then through the gateway — so that every gateway figure comes with its ratio
 * to the direct one. Prints one table and writes `bench/results/<timestamp>.json`.
 *
 * Usage: `node dist/bench/run.js [scenario…] [--duration=S] [--connections=N] [--threads=N]
 * [--access-log=on|off] [--rounds=N] [--list]`. Scenarios: see scenarios/index.ts (default: all).
 *
 * `--rounds=N` runs each scenario's direct and gateway halves N times, alternating, and reports
 * the median of each figure (errors summed, RSS at its largest): on a small machine consecutive
 * runs of the same load differ by ±10 %, more than the effects one wants to see.
 *
 * A scenario with `ownCorporal` (e.g. a policy with hooks) runs its gateway half against a Corporal
 * started for it with that policy, and stopped after it; one with `ownGateway` (the `floor-*`
 * scenarios) against a featureless comparison proxy instead. The direct half is unchanged.
 *
 * Targets reported, not asserted (docs/gateway.md): cached GET ≥ 0.5 × direct with p99 ≤ direct
 * p99 + 2 ms; streaming RSS growth < 64 MiB; 5,000 long-polls without errors and RSS < 400 MiB;
 * `cached-get-20-hooks` within 10 % of `cached-get` (docs/hooks.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { SCENARIOS } from './scenarios/index.js';
import type { BenchSettings, Measurement, Scenario, Target, UpstreamSettings } from './scenarios/scenario.js';
import { startCorporal, startFakeHomeserver, type BenchProcess, type CorporalOptions } from './support/processes.js';
import { ProcessSampler, rssMiB, type ProcessUsage } from './support/process-sampler.js';
import { combineRounds, median } from './support/rounds.js';
import { parseBenchArgs } from './support/bench-args.js';

/** One line of the table: a scenario against one target. */
interface Row extends Measurement {
  scenario: string;
  target: Target['kind'];
  /** Gateway rows: RSS of the Corporal process (MiB) at the peak, and its growth during the run. */
  rssPeakMiB?: number;
  rssGrowthMiB?: number;
  /** Gateway rows: rps ratio to the direct row, and p99 minus the direct p99 (ms). */
  ratio?: number;
  p99DeltaMs?: number;
  /**
   * CPU time (µs, all threads) the serving process spent per request: the fake homeserver on
   * direct rows, the gateway process on gateway rows — Corporal's supervisor and gateway threads
   * (with their pools), not its control child, which does no per-request work (a comparison proxy
   * has none). Unlike req/s it hardly depends on what else competes for the cores, so it is the
   * figure to compare proxies by.
   */
  cpuUsPerRequest?: number;
}

/** Makes every gateway thread cache the benchmark token (new connections spread over the threads). */
async function warmToken(target: Target, token: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const response = await request(`${target.url}/_matrix/client/v3/joined_rooms`, { headers: { authorization: `Bearer ${token}` }, reset: true });
    await response.body.dump();
  }
}

const fixed = (value: number | undefined, digits = 1): string => (value === undefined || Number.isNaN(value) ? '' : value.toFixed(digits));

function table(rows: readonly Row[]): string {
  const header = ['scenario', 'target', 'req/s', 'p50 ms', 'p97.5 ms', 'p99 ms', 'errors', 'CPU µs/req', 'RSS MiB', 'RSS +MiB', '× direct', 'Δp99 ms', 'notes'];
  const lines = rows.map((row) => [
    row.scenario, row.target, fixed(row.rps), fixed(row.p50), fixed(row.p975), fixed(row.p99), String(row.errors),
    fixed(row.cpuUsPerRequest), fixed(row.rssPeakMiB, 0), fixed(row.rssGrowthMiB, 0), fixed(row.ratio, 2), fixed(row.p99DeltaMs),
    Object.entries(row.extra ?? {}).map(([key, value]) => `${key} ${fixed(value)}`).join(', '),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: string[]): string => cells.map((cell, i) => (i < 2 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [format(header), widths.map((width) => '-'.repeat(width)).join('  '), ...lines.map(format)].join('\n');
}

const upstreamPortOf = (upstream: string): number => Number(new URL(upstream).port);

/** CPU µs per request of a run, or NaN for a scenario that does not count its requests. */
function cpuPerRequest(usage: ProcessUsage, measurement: Measurement): number {
  return measurement.requests !== undefined && measurement.requests > 0 ? (usage.cpuSeconds * 1e6) / measurement.requests : Number.NaN;
}

/** Runs `scenario` against `target` while sampling process `pid` (the one serving it). */
async function runSampled(scenario: Scenario, target: Target, settings: BenchSettings, pid: number): Promise<{ result: Measurement; usage: ProcessUsage }> {
  const sampler = new ProcessSampler(pid);
  const result = await scenario.run(target, settings);
  return { result, usage: sampler.stop() };
}

/**
 * The gateway run of `scenario`, with the RSS and CPU time of the gateway process it ran against
 * (Corporal's control child not included): the shared Corporal,
 * one started for it with its policy (`ownCorporal`), or a comparison proxy (`ownGateway`); the
 * last two are stopped afterwards.
 */
async function runThroughGateway(
  scenario: Scenario, settings: BenchSettings, shared: BenchProcess, sharedTarget: Target, options: CorporalOptions, homeserver: BenchProcess,
): Promise<{ result: Measurement; usage: ProcessUsage }> {
  const upstream: UpstreamSettings = { upstreamPort: upstreamPortOf(options.upstream), upstreamSocketPath: homeserver.socketPath ?? '', threads: options.threads };
  if (scenario.ownGateway !== undefined) {
    const own = await scenario.ownGateway(upstream);
    try {
      return await runSampled(scenario, own.target, settings, own.pid);
    } finally {
      await own.close();
    }
  }
  if (scenario.ownCorporal === undefined) return runSampled(scenario, sharedTarget, settings, shared.pid);
  const own = await scenario.ownCorporal(upstream);
  try {
    const corporal = await startCorporal({
      ...options,
      policy: own.policy,
      ...(own.env ? { env: own.env } : {}),
      ...(own.socketPath ? { socketPath: own.socketPath } : {}),
    });
    try {
      const target: Target = { kind: 'gateway', url: `http://127.0.0.1:${corporal.port}`, port: corporal.port };
      await warmToken(target, settings.token);
      return await runSampled(scenario, target, settings, corporal.pid);
    } finally {
      await corporal.stop();
    }
  } finally {
    await own.close();
  }
}

/** What a scenario runs against: the fake homeserver, and the shared Corporal in front of it. */
interface Targets {
  direct: Target;
  homeserver: BenchProcess;
  gateway: Target;
  corporal: BenchProcess;
  corporalOptions: CorporalOptions;
}

/** Runs `scenario` straight and through the gateway, `rounds` times alternating: its two table rows. */
async function measureScenario(scenario: Scenario, rounds: number, settings: BenchSettings, targets: Targets): Promise<[Row, Row]> {
  const directRounds: Measurement[] = [];
  const gatewayRounds: Measurement[] = [];
  const directCpu: number[] = [];
  const gatewayCpu: number[] = [];
  let rss = { peakMiB: 0, growthMiB: 0 };
  for (let round = 0; round < rounds; round++) {
    process.stderr.write(' direct…');
    const straight = await runSampled(scenario, targets.direct, settings, targets.homeserver.pid);
    directRounds.push(straight.result);
    directCpu.push(cpuPerRequest(straight.usage, straight.result));
    process.stderr.write(' gateway…');
    const measured = await runThroughGateway(scenario, settings, targets.corporal, targets.gateway, targets.corporalOptions, targets.homeserver);
    gatewayRounds.push(measured.result);
    gatewayCpu.push(cpuPerRequest(measured.usage, measured.result));
    rss = { peakMiB: Math.max(rss.peakMiB, measured.usage.peakMiB), growthMiB: Math.max(rss.growthMiB, measured.usage.growthMiB) };
  }
  const directResult = combineRounds(directRounds);
  const gatewayResult = combineRounds(gatewayRounds);
  return [
    { scenario: scenario.name, target: 'direct', ...directResult, cpuUsPerRequest: median(directCpu) },
    {
      scenario: scenario.name,
      target: 'gateway',
      ...gatewayResult,
      cpuUsPerRequest: median(gatewayCpu),
      rssPeakMiB: rss.peakMiB,
      rssGrowthMiB: rss.growthMiB,
      ratio: directResult.rps > 0 ? gatewayResult.rps / directResult.rps : Number.NaN,
      p99DeltaMs: gatewayResult.p99 - directResult.p99,
    },
  ];
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), SCENARIOS);
  if (args === 'list') {
    for (const scenario of SCENARIOS) process.stdout.write(`${scenario.name.padEnd(16)} ${scenario.description}\n`);
    return;
  }
  const settings: BenchSettings = { durationS: args.durationS, connections: args.connections, token: 'bench-cached-token' };
  const homeserver = await startFakeHomeserver();
  const corporalOptions: CorporalOptions = { upstream: `http://127.0.0.1:${homeserver.port}`, threads: args.threads, accessLog: args.accessLog };
  const corporal = await startCorporal(corporalOptions);
  const direct: Target = { kind: 'direct', url: `http://127.0.0.1:${homeserver.port}`, port: homeserver.port };
  const gateway: Target = { kind: 'gateway', url: `http://127.0.0.1:${corporal.port}`, port: corporal.port };
  process.stderr.write(`fake homeserver pid ${homeserver.pid}, corporal pid ${corporal.pid} (${args.threads} gateway threads, access log ${args.accessLog ? 'on' : 'off'}), idle RSS ${rssMiB(corporal.pid).toFixed(0)} MiB\n`);
  const rows: Row[] = [];
  try {
    await warmToken(gateway, settings.token);
    for (const scenario of args.scenarios) {
      process.stderr.write(`${scenario.name}:`);
      rows.push(...await measureScenario(scenario, args.rounds, settings, { direct, homeserver, gateway, corporal, corporalOptions }));
      process.stderr.write(' done\n');
    }
  } finally {
    await corporal.stop();
    await homeserver.stop();
  }
  process.stdout.write(`${table(rows)}\n`);
  const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: { durationS: args.durationS, connections: args.connections, threads: args.threads, accessLog: args.accessLog, rounds: args.rounds },
    rows,
  }, null, 2)}\n`);
  process.stdout.write(`results: ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
