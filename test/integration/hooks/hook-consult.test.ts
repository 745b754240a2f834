import t from 'tap';
import { startHookScenario } from '../../support/hook-scenario.js';

/**
 * REST consultations through the real gateway (the consultation runs in each gateway thread's
 * offload pool) against the real hook service: retries and their wait, per-attempt timeouts that
 * cover the whole answer, every failure kind, contingency hooks, async mode, chained consultations.
 */

const scenario = await startHookScenario();
t.teardown(() => scenario.stop());
const { users, service } = scenario;

const HOOK_FAILED = { errcode: 'M_UNKNOWN', error: 'Hook execution failed, cannot proceed' };
const AFTER_HOOK_FAILED = { errcode: 'M_UNKNOWN', error: 'Afer-hook execution failed, cannot proceed' };
const CONTINGENCY = { id: 'contingency', action: 'respond', responseStatusCode: 200, responsePayload: { contingency: true } };

let counter = 0;
function accountDataPath(): { type: string; path: string } {
  const type = `m.consulttest.${++counter}`;
  return { type, path: `/_matrix/client/v3/user/${encodeURIComponent(users.alice.userId)}/account_data/${type}` };
}

/** A before consult hook on account-data PUTs. */
function consultHook(route: string, fields: object = {}, eventType = 'beforeAuthenticatedRequest'): object {
  return {
    id: `consult-${counter}`, eventType, action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}${route}`,
    matchRules: [{ type: 'method', regex: '^PUT$' }, { type: 'route', regex: '/account_data/m\\.consulttest\\.' }], ...fields,
  };
}

function callsTo(prefix: string, from: number) {
  return service.requests.slice(from).filter((call) => call.path.startsWith(prefix));
}

t.test('retries: up to 1 + RESTServiceRetryAttempts attempts, waiting in between', async (t) => {
  await scenario.setHooks([consultHook('/flaky/r1/2', { RESTServiceRetryAttempts: 2, RESTServiceRetryWaitTimeMilliseconds: 200 })]);
  let from = service.requests.length;
  let { type, path } = accountDataPath();
  let answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
  t.equal(answer.status, 403, 'the third attempt succeeded: its reject hook ran');
  t.same(answer.json, { errcode: 'M_FORBIDDEN', error: 'Rejected by the hook REST service' });
  const calls = callsTo('/flaky/r1/', from);
  t.equal(calls.length, 3);
  for (let i = 1; i < calls.length; i++) t.ok(calls[i]!.receivedAt - calls[i - 1]!.receivedAt >= 200, `attempt ${i + 1} waited RESTServiceRetryWaitTimeMilliseconds`);
  t.same(calls[0]!.json, calls[2]!.json, 'the same payload on every attempt');
  t.equal(await scenario.accountData('alice', type), null);

  await scenario.setHooks([consultHook('/flaky/r2/2', { RESTServiceRetryAttempts: 1 })]);
  from = service.requests.length;
  ({ type, path } = accountDataPath());
  answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
  t.equal(answer.status, 503, 'out of attempts, no contingency: fail closed');
  t.same(answer.json, HOOK_FAILED);
  t.equal(callsTo('/flaky/r2/', from).length, 2);
  t.equal(await scenario.accountData('alice', type), null);
});

t.test('every kind of failed attempt: the contingency hook runs (or 503 without one)', async (t) => {
  const failing: Array<[string, string, object]> = [
    ['a status other than 200', '/status/201', {}],
    ['a 500', '/status/500', {}],
    ['not JSON', '/garbled', {}],
    ['JSON that is not a valid hook', '/invalid-hook', {}],
    ['no answer within the timeout', '/slow/5000', { RESTServiceRequestTimeoutMilliseconds: 300 }],
    ['headers in time, the body never complete', '/stall-body', { RESTServiceRequestTimeoutMilliseconds: 300 }],
    ['nobody listening', '/', { RESTServiceURL: 'http://127.0.0.1:9/hook' }],
  ];
  for (const [label, route, fields] of failing) {
    await scenario.setHooks([consultHook(route, { ...fields, RESTServiceContingencyHook: CONTINGENCY })]);
    const started = performance.now();
    const { type, path } = accountDataPath();
    const answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 200, label);
    t.same(answer.json, { contingency: true }, `${label}: the contingency hook answered`);
    t.ok(performance.now() - started < 4000, `${label}: not held longer than the attempt timeout`);
    t.equal(await scenario.accountData('alice', type), null);

    await scenario.setHooks([consultHook(route, fields)]);
    const failed = await scenario.viaGateway('alice', 'PUT', accountDataPath().path, { body: { a: 1 } });
    t.equal(failed.status, 503, `${label}, no contingency`);
    t.same(failed.json, HOOK_FAILED);
  }
});

t.test('a contingency hook may consult too; a pass contingency lets the request through', async (t) => {
  await scenario.setHooks([consultHook('/status/500', { RESTServiceContingencyHook: { action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}/inject-something-into-request` } })]);
  const { type, path } = accountDataPath();
  t.equal((await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } })).status, 200);
  t.same(await scenario.accountData('alice', type), { a: 1, customKey: 'value' });
});

t.test('async: the request goes on at once with the async-result hook; the service is still called', async (t) => {
  await scenario.setHooks([consultHook('/slow/3000?async-default', { RESTServiceAsync: true })]);
  let started = performance.now();
  let { type, path } = accountDataPath();
  let answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
  t.equal(answer.status, 200, 'default async result: pass.unmodified (the service would have rejected)');
  t.ok(performance.now() - started < 2500, 'not waiting for the service');
  t.same(await scenario.accountData('alice', type), { a: 1 });
  const call = await service.waitForRequest('/slow/3000?async-default');
  t.match(call.json, { meta: { authenticatedMatrixUserId: users.alice.userId }, request: { method: 'PUT', payload: '{"a":1}' } });

  await scenario.setHooks([consultHook('/slow/3000?async-result', {
    RESTServiceAsync: true,
    RESTServiceAsyncResultHook: { action: 'reject', rejectionErrorCode: 'M_LIMIT_EXCEEDED', rejectionErrorMessage: 'Try later', responseStatusCode: 429 },
  })]);
  started = performance.now();
  ({ type, path } = accountDataPath());
  answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
  t.equal(answer.status, 429);
  t.same(answer.json, { errcode: 'M_LIMIT_EXCEEDED', error: 'Try later' });
  t.ok(performance.now() - started < 2500);
  t.equal(await scenario.accountData('alice', type), null);
  await service.waitForRequest('/slow/3000?async-result');

  // A failing async consultation is only logged: the request is not affected.
  await scenario.setHooks([consultHook('/status/500?async-failing', { RESTServiceAsync: true, RESTServiceRetryAttempts: 1 })]);
  const from = service.requests.length;
  ({ type, path } = accountDataPath());
  t.equal((await scenario.viaGateway('alice', 'PUT', path, { body: { a: 2 } })).status, 200);
  t.same(await scenario.accountData('alice', type), { a: 2 });
  await service.waitForRequest('/status/500?async-failing');
  const deadline = Date.now() + 5000;
  while (callsTo('/status/500?async-failing', from).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(callsTo('/status/500?async-failing', from).length, 2, 'retried in the background');
});

t.test('after-hook consultations: retries and contingency; a failure is the after-hook error', async (t) => {
  await scenario.setHooks([consultHook('/flaky/a1/1', { RESTServiceRetryAttempts: 1 }, 'afterAuthenticatedRequest')]);
  let { type, path } = accountDataPath();
  let answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
  t.equal(answer.status, 403, 'second attempt: reject replaces the response');
  t.same(await scenario.accountData('alice', type), { a: 1 }, 'Synapse executed the request before');

  await scenario.setHooks([consultHook('/garbled', { RESTServiceContingencyHook: { action: 'pass.modifiedResponse', injectJSONIntoResponse: { contingency: 'after' } } }, 'afterAuthenticatedRequest')]);
  ({ path } = accountDataPath());
  answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
  t.equal(answer.status, 200);
  t.same(answer.json, { contingency: 'after' });

  await scenario.setHooks([consultHook('/garbled', {}, 'afterAuthenticatedRequest')]);
  ({ type, path } = accountDataPath());
  answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
  t.equal(answer.status, 503);
  t.same(answer.json, AFTER_HOOK_FAILED);
  t.same(await scenario.accountData('alice', type), { a: 1 });
});

t.test('consultations chain, up to 8 deep', async (t) => {
  const second = scenario.serviceHook('chain-2', { action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'from the second service' });
  const first = scenario.serviceHook('chain-1', { id: 'returned-consult', action: 'consult.RESTServiceURL', RESTServiceURL: second });
  await scenario.setHooks([consultHook('/', { RESTServiceURL: first })]);
  let from = service.requests.length;
  let answer = await scenario.viaGateway('alice', 'PUT', accountDataPath().path, { body: { a: 1 } });
  t.equal(answer.status, 403);
  t.match(answer.json, { error: 'from the second service' });
  t.match(callsTo('/hook/chain-2', from)[0]?.json, { meta: { hookId: 'returned-consult' } }, 'the returned hook consults under its own id');

  const loop = `${service.origin}/hook/loop`;
  service.defineHook('loop', { action: 'consult.RESTServiceURL', RESTServiceURL: loop });
  await scenario.setHooks([consultHook('/', { RESTServiceURL: loop })]);
  from = service.requests.length;
  answer = await scenario.viaGateway('alice', 'PUT', accountDataPath().path, { body: { a: 1 } });
  t.equal(answer.status, 503, 'a service that answers with itself forever: fail closed');
  t.same(answer.json, HOOK_FAILED);
  t.equal(callsTo('/hook/loop', from).length, 8);
});
