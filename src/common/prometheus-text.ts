/**
 * Prometheus' text exposition format (version 0.0.4), written by hand: a few families of counters,
 * gauges and histograms per scrape do not need a client library.
 */

/** The `Content-Type` of an exposition. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label name → value. Names are fixed identifiers of the code; values are escaped. */
export type Labels = Readonly<Record<string, string>>;

/** One sample of a counter or gauge family. */
export interface Sample {
  labels?: Labels;
  value: number;
}

/** One series of a histogram family. */
export interface HistogramSeries {
  labels?: Labels;
  /** Upper bounds of the buckets, ascending, without `+Inf`. */
  bounds: readonly number[];
  /** Observations per bucket, not cumulative: one per bound, then the count above the last one. */
  counts: readonly number[];
  /** Sum of the observed values. */
  sum: number;
}

/**
 * Builds one exposition. Each family is written once, with its `# HELP` and `# TYPE` lines; a
 * family without samples is still declared (a dashboard then finds the name). Callers give metric
 * names in Prometheus' syntax (`corporal_…`, counters ending in `_total`).
 */
export class PrometheusText {
  readonly #lines: string[] = [];

  /** A counter family: values that only grow while the process lives. */
  counter(name: string, help: string, samples: readonly Sample[]): this {
    return this.#family(name, help, 'counter', samples);
  }

  /** A gauge family: values that go up and down. */
  gauge(name: string, help: string, samples: readonly Sample[]): this {
    return this.#family(name, help, 'gauge', samples);
  }

  /** A histogram family: cumulative `_bucket` lines (`le`), then `_sum` and `_count`, per series. */
  histogram(name: string, help: string, series: readonly HistogramSeries[]): this {
    this.#header(name, help, 'histogram');
    for (const one of series) {
      let cumulative = 0;
      one.bounds.forEach((bound, i) => {
        cumulative += one.counts[i] ?? 0;
        this.#lines.push(`${name}_bucket${labelText({ ...one.labels, le: numberText(bound) })} ${numberText(cumulative)}`);
      });
      cumulative += one.counts[one.bounds.length] ?? 0;
      this.#lines.push(`${name}_bucket${labelText({ ...one.labels, le: '+Inf' })} ${numberText(cumulative)}`);
      this.#lines.push(`${name}_sum${labelText(one.labels)} ${numberText(one.sum)}`);
      this.#lines.push(`${name}_count${labelText(one.labels)} ${numberText(cumulative)}`);
    }
    return this;
  }

  /** The exposition, ending with a newline. */
  toString(): string {
    return this.#lines.length === 0 ? '' : `${this.#lines.join('\n')}\n`;
  }

  #family(name: string, help: string, type: 'counter' | 'gauge', samples: readonly Sample[]): this {
    this.#header(name, help, type);
    for (const sample of samples) this.#lines.push(`${name}${labelText(sample.labels)} ${numberText(sample.value)}`);
    return this;
  }

  #header(name: string, help: string, type: string): void {
    this.#lines.push(`# HELP ${name} ${help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}`, `# TYPE ${name} ${type}`);
  }
}

/** `{a="x",b="y"}`, or nothing without labels; values escaped as the format asks (`\`, `"`, newline). */
function labelText(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const pairs = entries.map(([name, value]) => `${name}="${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`);
  return `{${pairs.join(',')}}`;
}

/** A sample value as the format writes it (`+Inf`, `-Inf`, `NaN` for the special values). */
function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
