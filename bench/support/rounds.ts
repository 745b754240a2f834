import type { Measurement } from '../scenarios/scenario.js';

/** The median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Several rounds of one scenario against one target as one measurement: the median of each
 * figure (rate, latency percentiles, extras) and the sum of the errors. One round is returned as is.
 */
export function combineRounds(rounds: readonly Measurement[]): Measurement {
  if (rounds.length === 1) return rounds[0]!;
  const extraKeys = Object.keys(rounds[0]!.extra ?? {});
  const combined: Measurement = {
    rps: median(rounds.map((round) => round.rps)),
    p50: median(rounds.map((round) => round.p50)),
    p975: median(rounds.map((round) => round.p975)),
    p99: median(rounds.map((round) => round.p99)),
    errors: rounds.reduce((sum, round) => sum + round.errors, 0),
  };
  if (extraKeys.length > 0) {
    combined.extra = Object.fromEntries(extraKeys.map((key) => [key, median(rounds.map((round) => round.extra?.[key] ?? Number.NaN))]));
  }
  return combined;
}
