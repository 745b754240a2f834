import t from 'tap';
import {
  COUNTED_ROUTE_IDS, DURATION_BOUNDS_SECONDS, countRequest, countTokenResolution, createRequestMetricsTable, hookCountersFor, summariseRequestMetrics, threadRegion, type FinishedRequest,
} from '../../../../src/gateway/metrics/request-metrics-layout.js';
import { LOCAL_ROUTE_IDS, ROUTE_IDS } from '../../../../src/gateway/router/index.js';

const request = (overrides: Partial<FinishedRequest>): FinishedRequest => ({
  routeId: 'room.send', status: 200, fromHomeserver: true, durationSeconds: 0.003, aborted: false, cut: false, bytesIn: 0, bytesOut: 0, ...overrides,
});

t.test('each thread counts in its own region; the supervisor sums them', async (t) => {
  const table = createRequestMetricsTable(2);
  const first = threadRegion(table, 1);
  const second = threadRegion(table, 2);
  countRequest(first, request({ bytesIn: 1024, bytesOut: 40 }));
  countRequest(second, request({ bytesOut: 60 }));
  countRequest(second, request({ routeId: 'room.create', status: 403, fromHomeserver: false, durationSeconds: 0.0004 }));
  countRequest(second, request({ routeId: 'sync', durationSeconds: 29.7 }));
  countRequest(first, request({ routeId: 'no such route', status: 0, fromHomeserver: false, aborted: true, durationSeconds: 120 }));
  countTokenResolution(first, 'cached');
  countTokenResolution(second, 'cached');
  countTokenResolution(second, 'whoami');
  const firstHooks = hookCountersFor(first);
  const secondHooks = hookCountersFor(second);
  firstHooks.consulted(true);
  secondHooks.consulted(false);
  secondHooks.consulted(false);
  firstHooks.executed('before', 'consult.RESTServiceURL');
  firstHooks.executed('before', 'reject');
  secondHooks.executed('before', 'reject');
  secondHooks.executed('after', 'pass.modifiedResponse');
  secondHooks.failed('after', 'other');
  firstHooks.failed('before', 'client');
  // Up to rounding: the durations add up in another order.
  const overlap = new Float64Array(table).reduce((a, b) => a + b, 0) - (first.reduce((a, b) => a + b, 0) + second.reduce((a, b) => a + b, 0));
  t.ok(Math.abs(overlap) < 1e-9, 'the regions do not overlap');

  const summary = summariseRequestMetrics(table, 2);
  t.same(summary.requests, [
    { route: 'room.create', source: 'corporal', code: '4xx', count: 1 },
    { route: 'room.send', source: 'homeserver', code: '2xx', count: 2 },
    { route: 'sync', source: 'homeserver', code: '2xx', count: 1 },
    { route: 'other', source: 'corporal', code: 'none', count: 1 },
  ], 'by route (in COUNTED_ROUTE_IDS order), source and class; an unknown route id counts as other, no status as none');
  t.same(summary.durations.map((histogram) => [histogram.route, histogram.kind]), [['room.create', 'request'], ['room.send', 'request'], ['sync', 'long_poll'], ['other', 'request']],
    'one histogram per route that counted a request (in COUNTED_ROUTE_IDS order), with its kind');
  const [create, send, sync, other] = summary.durations;
  t.same(send?.bounds, DURATION_BOUNDS_SECONDS);
  t.equal(send?.counts.length, DURATION_BOUNDS_SECONDS.length + 1, 'one count per bound, then the overflow');
  t.equal(send?.counts[2], 2, 'two 3 ms sends, one per thread: the 5 ms bucket, summed');
  t.equal(send?.counts.reduce((a, b) => a + b), 2, 'nothing else in it');
  t.equal(send?.sum, 0.003 + 0.003);
  t.equal(create?.counts[0], 1, '0.4 ms: the first bucket (1 ms)');
  t.equal(create?.sum, 0.0004);
  t.equal(sync?.counts[DURATION_BOUNDS_SECONDS.indexOf(30)], 1, 'a 29.7 s sync: the 30 s bucket');
  t.equal(other?.counts.at(-1), 1, '120 s: above the last bound');
  t.equal(summary.abortedRequests, 1);
  t.equal(summary.cutRequests, 0);
  t.equal(summary.requestBodyBytes, 1024);
  t.equal(summary.responseBodyBytes, 100);
  t.same(summary.tokenResolutions, { cached: 2, shared: 0, whoami: 1, refused: 0 });
  t.same(summary.hookConsultations, { ok: 1, failed: 2 });
  t.equal(summary.hookExecutions.length, 12, 'every position and action, zeros included');
  t.same(summary.hookExecutions.filter((count) => count.count > 0), [
    { position: 'before', action: 'reject', count: 2 },
    { position: 'before', action: 'consult.RESTServiceURL', count: 1 },
    { position: 'after', action: 'pass.modifiedResponse', count: 1 },
  ], 'by position and action, summed over the threads');
  t.same(summary.hookFailures, [
    { position: 'before', cause: 'client', count: 1 },
    { position: 'before', cause: 'other', count: 0 },
    { position: 'after', cause: 'client', count: 0 },
    { position: 'after', cause: 'other', count: 1 },
  ], 'by position and cause, zeros included');
});

t.test('every route id of the router and of the gateway\'s own answers is counted under its own name', async (t) => {
  // The pipeline names its own answers by the router's decision kind, which LOCAL_ROUTE_IDS lists
  // completely (a record the compiler checks), and requests it never routes `unrouted`.
  for (const id of [...ROUTE_IDS, ...LOCAL_ROUTE_IDS, 'unrouted', 'options', 'info', 'target-too-long']) t.ok(COUNTED_ROUTE_IDS.includes(id), id);
  t.equal(new Set(COUNTED_ROUTE_IDS).size, COUNTED_ROUTE_IDS.length, 'no id twice');
  const table = createRequestMetricsTable(1);
  for (const id of COUNTED_ROUTE_IDS) countRequest(threadRegion(table, 1), request({ routeId: id }));
  const summary = summariseRequestMetrics(table, 1);
  t.same(summary.requests.map((count) => count.route), COUNTED_ROUTE_IDS, 'one series each');
  t.same(summary.durations.map((histogram) => histogram.route), COUNTED_ROUTE_IDS, 'one histogram each');
  t.same(summary.durations.filter((histogram) => histogram.kind === 'long_poll').map((histogram) => histogram.route), ['sync', 'sync.sliding', 'events'], 'the long-polls');
  t.ok(summary.durations.every((histogram) => histogram.counts[2] === 1), 'each in its own slots');
});

t.test('review 22, #8: an exchange the gateway cut is counted apart from the clients that left', async (t) => {
  const table = createRequestMetricsTable(1);
  countRequest(threadRegion(table, 1), request({ routeId: 'media.download', status: 0, fromHomeserver: false, cut: true }));
  countRequest(threadRegion(table, 1), request({ routeId: 'media.download', aborted: true }));
  const summary = summariseRequestMetrics(table, 1);
  t.equal(summary.cutRequests, 1);
  t.equal(summary.abortedRequests, 1);
});
