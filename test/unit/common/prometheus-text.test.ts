import t from 'tap';
import { PrometheusText } from '../../../src/common/prometheus-text.js';

t.test('counters and gauges: one HELP and TYPE per family, labels escaped', async (t) => {
  const text = new PrometheusText()
    .counter('x_total', 'Things.\nMore \\ help.', [{ value: 3 }, { labels: { a: 'q"uo\\te\nd', b: 'plain' }, value: 1.5 }])
    .gauge('y', 'A gauge.', [])
    .gauge('z', 'Specials.', [{ labels: { v: 'inf' }, value: Number.POSITIVE_INFINITY }, { labels: { v: 'nan' }, value: Number.NaN }])
    .toString();
  t.equal(text, [
    '# HELP x_total Things.\\nMore \\\\ help.',
    '# TYPE x_total counter',
    'x_total 3',
    'x_total{a="q\\"uo\\\\te\\nd",b="plain"} 1.5',
    '# HELP y A gauge.',
    '# TYPE y gauge',
    '# HELP z Specials.',
    '# TYPE z gauge',
    'z{v="inf"} +Inf',
    'z{v="nan"} NaN',
    '',
  ].join('\n'));
});

t.test('histograms: cumulative buckets up to +Inf, then sum and count', async (t) => {
  const text = new PrometheusText()
    .histogram('d_seconds', 'Durations.', [{ labels: { kind: 'request' }, bounds: [0.1, 1], counts: [2, 3, 4], sum: 12.5 }])
    .toString();
  t.equal(text, [
    '# HELP d_seconds Durations.',
    '# TYPE d_seconds histogram',
    'd_seconds_bucket{kind="request",le="0.1"} 2',
    'd_seconds_bucket{kind="request",le="1"} 5',
    'd_seconds_bucket{kind="request",le="+Inf"} 9',
    'd_seconds_sum{kind="request"} 12.5',
    'd_seconds_count{kind="request"} 9',
    '',
  ].join('\n'));
  t.equal(new PrometheusText().toString(), '', 'nothing written, nothing sent');
});
