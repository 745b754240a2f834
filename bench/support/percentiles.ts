/** Latency summary of a set of durations (ms). */
export interface LatencySummary {
  p50: number;
  p975: number;
  p99: number;
}

/** Nearest-rank percentiles of `values` (ms); zeros for an empty set. */
export function percentiles(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { p50: 0, p975: 0, p99: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { p50: at(50), p975: at(97.5), p99: at(99) };
}
