import t, { type Test } from 'tap';
import { startHttpApi } from '../../../../src/control/http-api/api-server.js';
import { metricsRoute } from '../../../../src/control/http-api/metrics-route.js';
import { statusRoute } from '../../../../src/control/http-api/status-route.js';
import { policyRoutes } from '../../../../src/control/http-api/policy-routes.js';
import type { GatewayStatus } from '../../../../src/control/gateway-status.js';
import type { ReconcilerHostStatus } from '../../../../src/control/reconciler-host.js';
import type { RunSummary } from '../../../../src/control/loop/run-summary.js';
import { LastSeenProvider } from '../../../../src/control/providers/last-seen-provider.js';
import { captureLogger, testPolicyText, testStore } from '../../../support/control-plane.js';

const TOKEN = 'api-secret-token-0123456789';
const METRICS_TOKEN = 'metrics-only-token-9876543210';

const GATEWAY: GatewayStatus = {
  threadsAlive: 2,
  threadsConfigured: 2,
  snapshotGeneration: 1,
  threads: [{ index: 1, alive: true, generation: 1, restarts: 0 }, { index: 2, alive: true, generation: 1, restarts: 0 }],
  metrics: {
    requests: [{ route: 'room.create', source: 'corporal', code: '4xx', count: 3 }, { route: 'sync', source: 'homeserver', code: '2xx', count: 40 }],
    durations: [
      { route: 'room.create', kind: 'request', bounds: [0.1, 1], counts: [2, 1, 0], sum: 0.6 },
      { route: 'sync', kind: 'long_poll', bounds: [0.1, 1], counts: [0, 0, 40], sum: 1200 },
    ],
    abortedRequests: 1,
    cutRequests: 2,
    requestBodyBytes: 100,
    responseBodyBytes: 2000,
    tokenResolutions: { cached: 50, shared: 2, whoami: 7, refused: 1 },
    hookConsultations: { ok: 4, failed: 2 },
    hookExecutions: [{ position: 'before', action: 'reject', count: 3 }, { position: 'after', action: 'pass.modifiedResponse', count: 5 }],
    hookFailures: [{ position: 'before', cause: 'client', count: 2 }, { position: 'before', cause: 'other', count: 1 }, { position: 'after', cause: 'other', count: 0 }],
  },
};

const FULL_RUN: RunSummary = {
  kind: 'full', generation: 1, startedAt: 1_000, finishedAt: 5_000, outcome: 'completed', usersObserved: 2, usersTotal: 2, actionsPlanned: 3,
  actionsDone: 2, actionsFailed: 1, actionsSkipped: 0, failures: [], warnings: [], skippedRooms: [], requests: 9,
};

const RECONCILER: ReconcilerHostStatus = {
  state: 'ready', readyAt: 0, failedAttempts: 0, lastError: null, nextAttemptAt: null,
  loop: {
    running: false, policyGeneration: 1, current: null, lastRun: FULL_RUN, lastFullRun: FULL_RUN, nextResyncAt: null,
    retries: [{ userId: '@a:example.com', attempt: 1, dueAt: 9_000 }],
    totals: {
      runs: [{ kind: 'full', outcome: 'completed', count: 2 }],
      actions: { done: 5, failed: 1, skipped: 0 },
      failures: [{ actionType: 'room.join', code: 'CORP_ERR_UPSTREAM', count: 1 }],
    },
  },
};

async function api(t: Test, gateway: () => Promise<GatewayStatus>) {
  const { logger, lines } = captureLogger('info');
  const { store } = testStore({ logger });
  await store.set({ text: testPolicyText('a') }, 'api');
  const provider = new LastSeenProvider({ cachePath: '/nonexistent/last-seen.json', store, logger });
  const observed = { store, provider, gatewayStatus: gateway, reconcilerStatus: () => RECONCILER };
  const server = await startHttpApi({
    host: '127.0.0.1', port: 0, bearerToken: TOKEN, metricsBearerToken: METRICS_TOKEN, timeoutMs: 5000, logger,
    routes: [statusRoute(observed), metricsRoute(observed), ...policyRoutes({ store, provider, logger, maxPolicyBytes: 64 * 1024 })],
  });
  t.teardown(() => server.close(Date.now() + 1000));
  const get = async (path: string, token: string | null = TOKEN, method = 'GET') => {
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  };
  return { get, lines, store };
}

t.test('the metrics: policy, reconciler and gateway families in the text format', async (t) => {
  const { get } = await api(t, async () => GATEWAY);
  const answer = await get('/_matrix/corporal/metrics');
  t.equal(answer.status, 200);
  t.equal(answer.type, 'text/plain; version=0.0.4; charset=utf-8');
  const lines = answer.text.split('\n');
  for (const expected of [
    'corporal_policy_generation 1',
    'corporal_policy_users{state="active"} 2',
    'corporal_policy_provider_failing 0',
    'corporal_reconciler_state{state="ready"} 1',
    'corporal_reconciler_state{state="waiting"} 0',
    'corporal_reconciler_runs_total{kind="full",outcome="completed"} 2',
    'corporal_reconciler_actions_total{result="done"} 5',
    'corporal_reconciler_failures_total{action="room.join",code="CORP_ERR_UPSTREAM"} 1',
    'corporal_reconciler_last_full_run_timestamp_seconds 5',
    'corporal_reconciler_last_full_run_success 0',
    'corporal_reconciler_retries_pending 1',
    'corporal_gateway_status_available 1',
    'corporal_gateway_threads{state="alive"} 2',
    'corporal_gateway_requests_total{route="room.create",source="corporal",code="4xx"} 3',
    'corporal_gateway_requests_total{route="sync",source="homeserver",code="2xx"} 40',
    'corporal_gateway_request_duration_seconds_bucket{route="room.create",kind="request",le="1"} 3',
    'corporal_gateway_request_duration_seconds_count{route="room.create",kind="request"} 3',
    'corporal_gateway_request_duration_seconds_bucket{route="sync",kind="long_poll",le="+Inf"} 40',
    'corporal_gateway_request_duration_seconds_sum{route="sync",kind="long_poll"} 1200',
    'corporal_gateway_aborted_requests_total 1',
    'corporal_gateway_cut_requests_total 2',
    'corporal_gateway_response_body_bytes_total 2000',
    'corporal_gateway_token_resolutions_total{result="cached"} 50',
    'corporal_gateway_token_resolutions_total{result="whoami"} 7',
    'corporal_gateway_token_resolutions_total{result="refused"} 1',
    'corporal_gateway_hook_consultations_total{result="ok"} 4',
    'corporal_gateway_hook_consultations_total{result="failed"} 2',
    'corporal_gateway_hook_executions_total{position="before",action="reject"} 3',
    'corporal_gateway_hook_executions_total{position="after",action="pass.modifiedResponse"} 5',
    'corporal_gateway_hook_failures_total{position="before",cause="client"} 2',
    'corporal_gateway_hook_failures_total{position="before",cause="other"} 1',
    'corporal_gateway_hook_failures_total{position="after",cause="other"} 0',
  ]) t.ok(lines.includes(expected), expected);
  t.notMatch(answer.text, /@a:example\.com|example\.com/, 'no user or room id, nor the domain, in any label');
});

t.test('the token is needed; scrapes are logged at debug, the status at info', async (t) => {
  const { get, lines } = await api(t, async () => GATEWAY);
  t.equal((await get('/_matrix/corporal/metrics', null)).status, 401);
  t.equal((await get('/_matrix/corporal/metrics', 'wrong')).status, 401);
  t.equal((await get('/_matrix/corporal/metrics')).status, 200);
  t.equal((await get('/_matrix/corporal/status')).status, 200);
  const logged = lines.filter((line) => line['msg'] === 'HTTP API request').map((line) => line['route']);
  t.same(logged, ['metrics.get', 'metrics.get', 'status.get'], 'the refused scrapes are logged at info, the answered one is not');
});

t.test('the metrics token opens /metrics and nothing else (review 20, #2)', async (t) => {
  const { get } = await api(t, async () => GATEWAY);
  t.equal((await get('/_matrix/corporal/metrics', METRICS_TOKEN)).status, 200);
  t.equal((await get('/_matrix/corporal/status', METRICS_TOKEN)).status, 401);
  t.equal((await get('/_matrix/corporal/policy', METRICS_TOKEN)).status, 401, 'it cannot read the policy');
  t.equal((await get('/_matrix/corporal/policy/provider/reload', METRICS_TOKEN, 'POST')).status, 401);
  t.equal((await get('/_matrix/corporal/policy', TOKEN)).status, 200, 'the API token still opens everything');
});

t.test('the status leaves the request counters out', async (t) => {
  const { get } = await api(t, async () => GATEWAY);
  const gateway = (JSON.parse((await get('/_matrix/corporal/status')).text) as { gateway: Record<string, unknown> }).gateway;
  t.equal(gateway['threadsAlive'], 2);
  t.notOk('metrics' in gateway);
});

t.test('a supervisor that does not answer: the rest of the scrape still answers', async (t) => {
  const { get } = await api(t, async () => {
    throw new Error('no answer from the supervisor');
  });
  const answer = await get('/_matrix/corporal/metrics');
  t.equal(answer.status, 200);
  t.match(answer.text, /^corporal_gateway_status_available 0$/m);
  t.notMatch(answer.text, /corporal_gateway_requests_total\{/);
  t.match(answer.text, /^corporal_reconciler_state\{state="ready"\} 1$/m);
});
