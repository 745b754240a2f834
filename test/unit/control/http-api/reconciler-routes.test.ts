import t from 'tap';
import { startHttpApi } from '../../../../src/control/http-api/api-server.js';
import { reconcileRoutes } from '../../../../src/control/http-api/reconcile-routes.js';
import { statusRoute } from '../../../../src/control/http-api/status-route.js';
import { tokenRoutes } from '../../../../src/control/http-api/token-routes.js';
import { captureLogger, NO_GATEWAY_REQUESTS, testPolicy, testStore, unreachableReconcilerHost, waitFor, TEST_DOMAIN } from '../../../support/control-plane.js';
import { LastSeenProvider } from '../../../../src/control/providers/last-seen-provider.js';

// The reconciler endpoints with a reconciler that cannot reach Synapse: everything these tests
// check is decided before Synapse would be asked (validation, policy, readiness). The paths that
// reach Synapse are covered by test/integration/control-plane/reconciler-api.test.ts.
const TOKEN = 'api-token';
const { logger, lines } = captureLogger();
const { store } = testStore({ logger });
const { host } = await unreachableReconcilerHost({ retryMs: 60_000, retryMaxMs: 60_000, logger });
t.teardown(() => host.close());
host.start();
await waitFor('the first failed attempt', () => host.status().state === 'waiting');
const evicted: string[][] = [];
const server = await startHttpApi({
  host: '127.0.0.1',
  port: 0,
  bearerToken: TOKEN,
  timeoutMs: 5000,
  logger,
  routes: [
    ...reconcileRoutes({ host, store, logger }),
    ...tokenRoutes({ host, store, homeserverDomain: TEST_DOMAIN, evict: (tokens) => evicted.push(tokens), logger }),
    // Never started: it only has to report its (empty) status.
    statusRoute({ store, provider: new LastSeenProvider({ cachePath: '/nonexistent/last-seen.json', store, logger }), gatewayStatus: async () => ({ threadsAlive: 0, threadsConfigured: 0, snapshotGeneration: null, threads: [], metrics: NO_GATEWAY_REQUESTS }), reconcilerStatus: () => host.status() }),
  ],
});
t.teardown(() => server.close(Date.now() + 1000));

async function call(method: string, path: string, body?: string | object, token: string | null = TOKEN) {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, init);
  return { status: response.status, json: (await response.json()) as Record<string, unknown>, headers: response.headers };
}
const NEW = '/_matrix/corporal/user/%40user0%3Aexample.com/access-token/new';
const DELETE = '/_matrix/corporal/user/%40user0%3Aexample.com/access-token';

t.test('every new endpoint needs the API token; wrong methods are 405', async (t) => {
  for (const [method, path] of [['POST', '/_matrix/corporal/reconcile'], ['GET', '/_matrix/corporal/plan'], ['POST', NEW], ['DELETE', DELETE]] as const) {
    t.match(await call(method, path, undefined, null), { status: 401, json: { errcode: 'M_MISSING_TOKEN' } }, `${method} ${path}`);
    t.match(await call(method, path, undefined, 'wrong'), { status: 401, json: { errcode: 'M_UNKNOWN_TOKEN' } });
  }
  for (const [method, path, allow] of [['GET', '/_matrix/corporal/reconcile', 'POST'], ['POST', '/_matrix/corporal/plan', 'GET'], ['GET', NEW, 'POST'], ['POST', DELETE, 'DELETE']] as const) {
    const answer = await call(method, path, undefined, null);
    t.equal(answer.status, 405, `${method} ${path}`);
    t.equal(answer.headers.get('allow'), allow);
  }
});

t.test('reconcile and plan: 503 while the admin session cannot be opened', async (t) => {
  for (const [method, path, prefix] of [['POST', '/_matrix/corporal/reconcile', 'Cannot reconcile'], ['GET', '/_matrix/corporal/plan', 'Cannot plan']] as const) {
    const answer = await call(method, path);
    t.equal(answer.status, 503);
    t.match(answer.json, { errcode: 'M_UNKNOWN', error: new RegExp(`^${prefix}: the admin session could not be opened: admin session: .*cannot reach Synapse`) });
    t.equal(answer.headers.get('access-control-allow-origin'), '*');
  }
});

t.test('access-token/new: matrix-corporal\'s validation and messages, real statuses', async (t) => {
  const cases: Array<[string, string | object | undefined, number, Record<string, unknown>]> = [
    ['/_matrix/corporal/user/%40u%3Aother.org/access-token/new', { deviceId: 'd' }, 400, { errcode: 'M_INVALID_USERNAME', error: 'Bad user id (@u:other.org) - not part of the homeserver domain (example.com)' }],
    ['/_matrix/corporal/user/u%3Aexample.com/access-token/new', { deviceId: 'd' }, 400, { errcode: 'M_INVALID_USERNAME', error: 'Bad user id (u:example.com) - not part of the homeserver domain (example.com)' }],
    ['/_matrix/corporal/user/%40u%3Aexample.com.evil/access-token/new', { deviceId: 'd' }, 400, { errcode: 'M_INVALID_USERNAME' }],
    [NEW, undefined, 400, { errcode: 'M_BAD_JSON', error: 'Bad body payload' }],
    [NEW, '{"deviceId": "d",}', 400, { errcode: 'M_BAD_JSON', error: 'Bad body payload' }],
    [NEW, { deviceId: ['d'] }, 400, { errcode: 'M_BAD_JSON', error: 'Bad body payload' }],
    [NEW, { deviceId: 'd', validitySeconds: '60' }, 400, { errcode: 'M_BAD_JSON', error: 'Bad body payload' }],
    [NEW, {}, 400, { errcode: 'M_MISSING_PARAM', error: 'Bad body payload - empty or missing device id' }],
    [NEW, { deviceId: '' }, 400, { errcode: 'M_MISSING_PARAM', error: 'Bad body payload - empty or missing device id' }],
    [NEW, 'null', 400, { errcode: 'M_MISSING_PARAM' }],
    [NEW, { deviceId: 'd', validitySeconds: -5 }, 400, { errcode: 'M_INVALID_PARAM' }],
    [NEW, { deviceId: 'd', validitySeconds: 2 ** 50 }, 400, { errcode: 'M_INVALID_PARAM' }],
    [NEW, { deviceId: 'd', validitySeconds: 60 }, 503, { errcode: 'M_UNKNOWN', error: /^Could not obtain access token: the admin session could not be opened: / }],
  ];
  for (const [path, body, status, expected] of cases) {
    const answer = await call('POST', path, body);
    t.equal(answer.status, status, `${path} ${JSON.stringify(body)}`);
    t.match(answer.json, expected);
  }
});

t.test('access-token/new: a user inactive in the policy is refused at once', async (t) => {
  const policy = testPolicy('inactive');
  (policy['users'] as Array<Record<string, unknown>>)[0]!['active'] = false;
  t.equal((await store.set({ value: policy }, 'test')).kind, 'applied');
  t.match(await call('POST', NEW, { deviceId: 'd' }), {
    status: 403,
    json: { errcode: 'M_USER_DEACTIVATED', error: 'Could not obtain access token: @user0:example.com is inactive in the policy' },
  });
  const active = await call('POST', '/_matrix/corporal/user/%40user1%3Aexample.com/access-token/new', { deviceId: 'd' });
  t.equal(active.status, 503, 'an active policy user gets as far as the reconciler');
});

t.test('access-token DELETE: validation, then 503; nothing is evicted', async (t) => {
  const cases: Array<[string, string | object | undefined, number, Record<string, unknown>]> = [
    ['/_matrix/corporal/user/%40u%3Aother.org/access-token', { accessToken: 't' }, 400, { errcode: 'M_INVALID_USERNAME' }],
    [DELETE, undefined, 400, { errcode: 'M_BAD_JSON', error: 'Bad body payload' }],
    [DELETE, { accessToken: 5 }, 400, { errcode: 'M_BAD_JSON' }],
    [DELETE, { deviceId: 'd' }, 400, { errcode: 'M_MISSING_PARAM', error: 'Bad body payload - empty or missing access token' }],
    [DELETE, { AccessToken: 't' }, 503, { errcode: 'M_UNKNOWN', error: /^Could not destroy access token: the admin session could not be opened: / }],
  ];
  for (const [path, body, status, expected] of cases) {
    const answer = await call('DELETE', path, body);
    t.equal(answer.status, status, `${path} ${JSON.stringify(body)}`);
    t.match(answer.json, expected);
  }
  t.same(evicted, []);
});

t.test('status reports the reconciler that is waiting for Synapse', async (t) => {
  const status = await call('GET', '/_matrix/corporal/status');
  t.equal(status.status, 200);
  t.match(status.json['reconciler'], {
    state: 'waiting',
    readyAt: null,
    failedAttempts: 1,
    lastError: { at: /^\d{4}-\d\d-\d\dT.*Z$/, message: /cannot reach Synapse/ },
    nextAttemptAt: /^\d{4}-\d\d-\d\dT.*Z$/,
    running: false,
    policyGeneration: null,
    current: null,
    lastRun: null,
    nextResyncAt: null,
    retries: [],
  });
});

t.test('request logs name the routes and never carry the body', async (t) => {
  const routes = new Set(lines.filter((line) => line['msg'] === 'HTTP API request').map((line) => line['route']));
  for (const id of ['reconcile.trigger', 'plan.get', 'user.access_token.new', 'user.access_token.delete', 'status.get']) t.ok(routes.has(id), id);
  t.notOk(lines.some((line) => JSON.stringify(line).includes('"accessToken":"t"')));
});
