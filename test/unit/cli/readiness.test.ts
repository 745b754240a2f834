import t from 'tap';
import { readinessOf, STATUS_PATH, type Readiness } from '../../../src/cli/readiness.js';
import type { GatewayStatus } from '../../../src/control/gateway-status.js';
import { statusRoute } from '../../../src/control/http-api/status-route.js';
import type { ApiRequest } from '../../../src/control/http-api/route.js';
import type { ReconcilerHostStatus } from '../../../src/control/reconciler-host.js';
import { LastSeenProvider } from '../../../src/control/providers/last-seen-provider.js';
import { captureLogger, NO_GATEWAY_REQUESTS, testPolicyText, testStore } from '../../support/control-plane.js';

/** A status body as a healthy Corporal answers it (the parts readiness reads, and some it ignores). */
function healthy(): Record<string, unknown> {
  return {
    policy: { generation: 3, hash: 'h', source: 'api', loadedAt: '2025-01-01T12:00:00.000Z' },
    lastRejection: null,
    provider: { type: 'last_seen_store_policy', lastSuccessAt: null, lastError: null },
    gateway: {
      threadsAlive: 2, threadsConfigured: 2, snapshotGeneration: 3,
      threads: [{ index: 1, alive: true, generation: 3, restarts: 0 }, { index: 2, alive: true, generation: 3, restarts: 0 }],
    },
    reconciler: { state: 'ready', readyAt: '2025-01-01T12:00:00.000Z', failedAttempts: 0, lastError: null, nextAttemptAt: null, running: false },
  };
}

/** {@link healthy} with one section's fields replaced (or the whole section, for non-objects). */
function withSection(section: string, value: unknown): Record<string, unknown> {
  const body = healthy();
  const current = body[section];
  body[section] = typeof value === 'object' && value !== null && typeof current === 'object' && current !== null
    ? { ...current, ...value }
    : value;
  return body;
}

function reasonsOf(readiness: Readiness): string[] {
  return readiness.ready ? [] : readiness.reasons;
}

/** The real status route over a fresh store, reporting what the given functions say. */
function realStatusRoute(gatewayStatus: () => Promise<GatewayStatus>, reconcilerStatus: () => ReconcilerHostStatus) {
  const { store } = testStore();
  const provider = new LastSeenProvider({ cachePath: '/nonexistent/last-seen.json', store, logger: captureLogger().logger });
  return { store, route: statusRoute({ store, provider, gatewayStatus, reconcilerStatus }) };
}

t.test('the status path is the HTTP API status route', async (t) => {
  const { route } = realStatusRoute(async () => { throw new Error('unused'); }, () => { throw new Error('unused'); });
  t.equal(STATUS_PATH, route.pattern);
});

t.test('ready: a policy, every thread alive with a policy, the reconciler ready', async (t) => {
  t.same(readinessOf(healthy()), { ready: true, summary: 'policy generation 3, 2/2 gateway threads alive, reconciler ready' });
});

const notReady: Array<[string, unknown, RegExp]> = [
  ['no policy', withSection('policy', null), /^no policy loaded yet$/],
  ['no policy: the last one was refused', { ...withSection('policy', null), lastRejection: {
    at: 'x', source: 'static_file:/etc/matrix-corporal/policy.json', stage: 'validation', warnings: [], errorCount: 3,
    errors: [{ pointer: '/users/0/id', message: 'policy user `@a:example.org` is not hosted on the managed homeserver domain (example.com)' }],
  } }, /^no policy loaded yet \(the last policy was refused: \/users\/0\/id: policy user `@a:example\.org` is not hosted on the managed homeserver domain \(example\.com\) \(and 2 more errors\)\)$/],
  ['no policy: a syntax error at the top', { ...withSection('policy', null), lastRejection: {
    at: 'x', source: 'api', stage: 'syntax', warnings: [], errorCount: 1, errors: [{ pointer: '', message: 'unexpected end of input', line: 1, column: 2 }],
  } }, /^no policy loaded yet \(the last policy was refused: 1:2: unexpected end of input\)$/],
  ['no policy: the provider failed', { ...withSection('policy', null), provider: {
    type: 'static_file', lastSuccessAt: null, lastError: { at: 'x', message: 'policy file /etc/matrix-corporal/policy.json does not exist' },
  } }, /^no policy loaded yet \(policy file \/etc\/matrix-corporal\/policy\.json does not exist\)$/],
  ['a thread down', withSection('gateway', { threadsAlive: 1 }), /^1\/2 gateway threads alive$/],
  ['no thread configured', withSection('gateway', { threadsAlive: 0, threadsConfigured: 0 }), /^0\/0 gateway threads alive$/],
  ['a thread without a policy', withSection('gateway', { snapshotGeneration: null }), /^a gateway thread enforces no policy yet$/],
  ['the supervisor did not answer', withSection('gateway', { error: 'no answer from the supervisor within 2000 ms' }),
    /^gateway threads unknown: no answer from the supervisor within 2000 ms$/],
  ['reconciler waiting', withSection('reconciler', {
    state: 'waiting', failedAttempts: 3, nextAttemptAt: '2025-01-01T12:00:05.000Z',
    lastError: { at: '2025-01-01T12:00:04.000Z', message: 'admin session: cannot reach Synapse: ECONNREFUSED' },
  }), /^reconciler waiting: admin session: cannot reach Synapse: ECONNREFUSED \(3 failed attempts, next at 2025-01-01T12:00:05\.000Z\)$/],
  ['reconciler waiting after one attempt', withSection('reconciler', {
    state: 'waiting', failedAttempts: 1, nextAttemptAt: null, lastError: { at: 'x', message: 'M_FORBIDDEN' },
  }), /^reconciler waiting: M_FORBIDDEN \(1 failed attempt\)$/],
  ['reconciler waiting, a message of several lines', withSection('reconciler', {
    state: 'waiting', failedAttempts: 1, nextAttemptAt: null, lastError: { at: 'x', message: 'Synapse answered:\n  500\tInternal' },
  }), /^reconciler waiting: Synapse answered: 500 Internal \(1 failed attempt\)$/],
  ['reconciler starting', withSection('reconciler', { state: 'starting' }), /^reconciler starting: the admin session is being opened$/],
  ['reconciler retrying', withSection('reconciler', { state: 'starting', failedAttempts: 2, lastError: { at: 'x', message: 'ECONNREFUSED' } }),
    /^reconciler starting: retrying the admin session after 2 failed attempts \(last: ECONNREFUSED\)$/],
  ['reconciler stopped', withSection('reconciler', { state: 'stopped' }), /^reconciler stopped \(Corporal is shutting down\)$/],
  ['reconciler in an unknown state', withSection('reconciler', { state: 'dreaming' }), /^reconciler state "dreaming" is not understood$/],
  ['no reconciler', withSection('reconciler', null), /^status\.reconciler is not understood$/],
  ['policy without a generation', withSection('policy', { generation: 'three' }), /^status\.policy is not understood$/],
  ['gateway without counts', withSection('gateway', { threadsAlive: undefined }), /^status\.gateway is not understood$/],
  ['gateway missing', withSection('gateway', undefined), /^status\.gateway is not understood$/],
];
for (const [name, body, reason] of notReady) {
  t.test(`not ready: ${name}`, async (t) => {
    const readiness = readinessOf(body);
    t.equal(readiness.ready, false);
    t.match(reasonsOf(readiness), [reason]);
    t.equal(reasonsOf(readiness).length, 1, 'only that reason');
  });
}

t.test('not a JSON object: one reason', async (t) => {
  for (const body of [null, [], 'ready', 42]) {
    t.same(readinessOf(body), { ready: false, reasons: ['the status answer is not a JSON object'] }, JSON.stringify(body));
  }
});

t.test('every reason is given, policy then gateway then reconciler', async (t) => {
  const body = { ...healthy(), policy: null, gateway: { error: 'timeout' }, reconciler: { state: 'starting', failedAttempts: 0 } };
  t.same(reasonsOf(readinessOf(body)), ['no policy loaded yet', 'gateway threads unknown: timeout', 'reconciler starting: the admin session is being opened']);
});

// The body the real status route builds: field names on both sides must agree.
t.test('judges what the status route answers', async (t) => {
  let reconciler: ReconcilerHostStatus = { state: 'ready', readyAt: 1, failedAttempts: 0, lastError: null, nextAttemptAt: null, loop: null };
  let gateway: GatewayStatus = { threadsAlive: 1, threadsConfigured: 1, snapshotGeneration: null, threads: [{ index: 1, alive: true, generation: null, restarts: 0 }], metrics: NO_GATEWAY_REQUESTS };
  const { store, route } = realStatusRoute(async () => gateway, () => reconciler);
  const judge = async () => readinessOf((await route.methods['GET']!.handle({} as ApiRequest)).body);

  t.same(reasonsOf(await judge()), ['no policy loaded yet'], 'no second reason for the threads without it');
  await store.set({ text: testPolicyText('a') }, 'api');
  t.same(reasonsOf(await judge()), ['a gateway thread enforces no policy yet']);
  gateway = { ...gateway, snapshotGeneration: 1, threads: [{ index: 1, alive: true, generation: 1, restarts: 0 }] };
  t.same(await judge(), { ready: true, summary: 'policy generation 1, 1/1 gateway threads alive, reconciler ready' });
  reconciler = { state: 'waiting', readyAt: null, failedAttempts: 2, lastError: { at: 0, message: 'cannot reach Synapse' }, nextAttemptAt: 5000, loop: null };
  t.same(reasonsOf(await judge()), ['reconciler waiting: cannot reach Synapse (2 failed attempts, next at 1970-01-01T00:00:05.000Z)']);
});
