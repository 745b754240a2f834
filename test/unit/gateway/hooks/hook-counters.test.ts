import t from 'tap';
import { Agent } from 'undici';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { createDirectConsultor } from '../../../../src/gateway/hooks/consultor.js';
import type { HookCounters } from '../../../../src/gateway/hooks/hook-counters.js';
import { POLICY_CHECKED_AUTHENTICATED } from '../../../../src/gateway/hooks/hook-events.js';
import { HookEngine } from '../../../../src/gateway/hooks/hook-engine.js';
import { startHookRestService } from '../../../support/hook-rest-service.js';
import { hookRequest, snapshotWith, upstream } from './fixtures/hook-fixtures.js';

const dispatcher = new Agent({ connect: { timeout: 2000 }, keepAliveTimeout: 1000 });
t.teardown(() => dispatcher.close());
const service = await startHookRestService({ rejectProbability: 1 });
t.teardown(() => service.close());

/** An engine whose counters write what they are told into `seen`. */
function countingEngine(): { engine: HookEngine; seen: string[] } {
  const seen: string[] = [];
  const counters: HookCounters = {
    consulted: (ok) => seen.push(`consulted ${ok ? 'ok' : 'failed'}`),
    executed: (position, action) => seen.push(`${position} ${action}`),
    failed: (position, cause) => seen.push(`failed ${position} ${cause}`),
  };
  return { engine: new HookEngine({ consultor: createDirectConsultor(dispatcher), logger: createSilentLogger(), maxInspectedBodyBytes: 1 << 20, counters }), seen };
}

const { before: BEFORE, after: AFTER } = POLICY_CHECKED_AUTHENTICATED;
const JSON_HEADERS = ['Content-Type', 'application/json'];

t.test('before: every executed hook, a yielded one too; a failure counted once', async (t) => {
  const { engine, seen } = countingEngine();
  await engine.runBefore(snapshotWith([
    { id: 'pass', eventType: 'beforeAnyRequest', action: 'pass.unmodified' },
    { id: 'c', eventType: 'beforeAnyRequest', action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}/reject/forbidden` },
  ]), BEFORE, hookRequest({ body: '{}' }));
  t.same(seen, ['before pass.unmodified', 'before consult.RESTServiceURL', 'consulted ok', 'before reject'], 'the consultation yields a reject, which runs and counts');

  seen.length = 0;
  const outcome = await engine.runBefore(snapshotWith([
    { id: 'm', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: 1 } },
  ]), BEFORE, hookRequest({ body: 'not json' }));
  t.match(outcome, { kind: 'respond', status: 503, failed: true });
  t.same(seen, ['before pass.modifiedRequest', 'failed before client'], 'a body that is not JSON: the client\'s doing');

  seen.length = 0;
  await engine.runBefore(snapshotWith([
    { id: 'c', eventType: 'beforeAnyRequest', action: 'consult.RESTServiceURL', RESTServiceURL: 'http://127.0.0.1:1/refused' },
  ]), BEFORE, hookRequest({ body: '{}' }));
  t.same(seen, ['before consult.RESTServiceURL', 'consulted failed', 'failed before other'], 'a consultation without a contingency hook fails closed');
});

t.test('after: executions and the failure that replaces the response', async (t) => {
  const { engine, seen } = countingEngine();
  const plan = engine.scheduleAfter(snapshotWith([
    { id: 'r', eventType: 'afterAnyRequest', action: 'respond', responseStatusCode: 200, responsePayload: { a: 1 } },
    { id: 'm', eventType: 'afterAnyRequest', action: 'pass.modifiedResponse', injectJSONIntoResponse: { b: 2 } },
  ]), AFTER, hookRequest({ body: '{}' }));
  if (plan === null) throw new Error('expected an after-plan');
  t.equal((await plan.apply(upstream(200, JSON_HEADERS, '{}'))).status, 200);
  t.same(seen, ['after respond', 'after pass.modifiedResponse']);

  seen.length = 0;
  const failing = engine.scheduleAfter(snapshotWith([
    { id: 'm', eventType: 'afterAnyRequest', action: 'pass.modifiedResponse', injectJSONIntoResponse: { b: 2 } },
  ]), AFTER, hookRequest({ body: '{}' }));
  if (failing === null) throw new Error('expected an after-plan');
  t.equal((await failing.apply(upstream(200, JSON_HEADERS, 'text'))).status, 503);
  t.same(seen, ['after pass.modifiedResponse', 'failed after other'], 'Synapse\'s answer is not JSON: not the client\'s doing');
});

t.test('a response modification a REST service yields to a before-hook: executed before, failing after', async (t) => {
  const { engine, seen } = countingEngine();
  const request = hookRequest({ body: '{}' });
  await engine.runBefore(snapshotWith([
    { id: 'c', eventType: 'beforeAnyRequest', action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}/inject-something-into-response` },
  ]), BEFORE, request);
  const plan = engine.scheduleAfter(snapshotWith([]), AFTER, request);
  if (plan === null) throw new Error('expected an after-plan for the modification');
  t.equal((await plan.apply(upstream(200, JSON_HEADERS, 'text'))).status, 503);
  t.same(seen, ['before consult.RESTServiceURL', 'consulted ok', 'before pass.modifiedResponse', 'failed after other']);
});
