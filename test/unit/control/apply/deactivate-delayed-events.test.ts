import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { DELAYED_EVENTS_BUDGET_SPENT, cancelPendingDelayedEvents } from '../../../../src/control/apply/cancel-delayed-events.js';
import { DELAYED_EVENTS_NOT_CANCELLED, DEVICES_NOT_DELETED, finishLock, deactivateUser } from '../../../../src/control/apply/user-handlers.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import { scriptedApplyContext } from '../fixtures/apply-context.js';
import { json, startScriptedServer } from '../fixtures/scripted-server.js';

/** F5 (red-team 3): a locked user's delayed events still fire, so `user.deactivate` cancels them first. */

const server = await startScriptedServer(json(200, {}));
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 2, logger: createSilentLogger() });
t.teardown(() => http.close());

const LIST = 'GET /_matrix/client/unstable/org.matrix.msc4140/delayed_events';
const cancel = (id: string) => `POST /_matrix/client/unstable/org.matrix.msc4140/delayed_events/${id}/cancel`;
const ALICE = '%40alice%3Aexample.com';

function reset(): void {
  server.requests.length = 0;
  server.queue.length = 0;
}
const calls = () => server.requests.map((r) => `${r.method} ${r.url.split('?')[0]} ${r.authorization ?? ''}`.trim());

t.test('every pending delayed event is cancelled as the user; one already gone counts as done', async (t) => {
  reset();
  server.queue.push(json(200, { delayed_events: [{ delay_id: 'syd_a', room_id: '!r:x' }, { delay_id: 'syd/b', room_id: '!r:x' }] }), json(200, {}), json(404, { errcode: 'M_NOT_FOUND', error: 'gone' }));
  t.equal(await cancelPendingDelayedEvents(http, 'user-token'), 1);
  t.same(calls(), [`${LIST} Bearer user-token`, `${cancel('syd_a')} Bearer user-token`, `${cancel('syd%2Fb')} Bearer user-token`]);
});

t.test('a homeserver without delayed events is handled quietly', async (t) => {
  for (const answer of [json(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }), json(405, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }), json(400, { errcode: 'M_UNRECOGNIZED', error: 'x' })]) {
    reset();
    server.queue.push(answer);
    t.equal(await cancelPendingDelayedEvents(http, 'user-token'), 0);
    t.same(calls(), [`${LIST} Bearer user-token`]);
  }
});

t.test('any other failure is thrown', async (t) => {
  reset();
  server.queue.push(json(200, { delayed_events: [{ delay_id: 'syd_a' }] }), json(500, { errcode: 'M_UNKNOWN', error: 'boom' }));
  await t.rejects(cancelPendingDelayedEvents(http, 'user-token'), { code: 'CORP_ERR_UPSTREAM_STATUS', status: 500 });
});

const ctx = scriptedApplyContext(http);
const scope = { userToken: () => ({ token: async () => 'user-token', renew: async () => 'user-token' }) };
const locked = json(200, { name: '@alice:example.com', locked: true });
const action = { type: 'user.deactivate', userId: '@alice:example.com' } as const;

t.test('user.deactivate cancels the delayed events before it locks the account', async (t) => {
  reset();
  server.queue.push(json(200, { delayed_events: [{ delay_id: 'syd_a' }] }), json(200, {}), locked, json(200, { devices: [] }));
  await deactivateUser(action, ctx, scope);
  t.same(calls(), [`${LIST} Bearer user-token`, `${cancel('syd_a')} Bearer user-token`, `PUT /_synapse/admin/v2/users/${ALICE} Bearer admin-token`, `GET /_synapse/admin/v2/users/${ALICE}/devices Bearer admin-token`]);
  t.same(JSON.parse(server.requests[2]?.body ?? ''), { locked: true });
});

t.test('a failed cancellation does not hold up the lock, and fails the action afterwards', async (t) => {
  reset();
  server.queue.push(json(500, { errcode: 'M_UNKNOWN', error: 'boom' }), locked, json(200, { devices: [{ device_id: 'D' }] }), json(200, {}));
  await t.rejects(deactivateUser(action, ctx, scope), { code: DELAYED_EVENTS_NOT_CANCELLED, message: /@alice:example.com is locked, but its pending delayed events could not be cancelled/ });
  t.same(calls(), [`${LIST} Bearer user-token`, `PUT /_synapse/admin/v2/users/${ALICE} Bearer admin-token`, `GET /_synapse/admin/v2/users/${ALICE}/devices Bearer admin-token`, `POST /_synapse/admin/v2/users/${ALICE}/delete_devices Bearer admin-token`]);
});

t.test('a failed cancellation still wins when the devices cannot be deleted either: the code makes the reconciler come back', async (t) => {
  reset();
  server.queue.push(json(500, { errcode: 'M_UNKNOWN', error: 'boom' }), locked, json(500, { errcode: 'M_UNKNOWN', error: 'devices down' }));
  await t.rejects(deactivateUser(action, ctx, scope), { code: DELAYED_EVENTS_NOT_CANCELLED, message: /could not be cancelled: .*; its devices could not be deleted either: .*devices down/ });
});

t.test('a devices failure alone has its own code, which also makes the reconciler come back', async (t) => {
  reset();
  server.queue.push(json(200, { delayed_events: [] }), locked, json(500, { errcode: 'M_UNKNOWN', error: 'devices down' }));
  await t.rejects(deactivateUser(action, ctx, scope), { code: DEVICES_NOT_DELETED, message: /@alice:example.com is locked, but its devices could not be deleted: .*devices down/ });
});

const cancelAction = { type: 'user.finish_lock', userId: '@alice:example.com' } as const;
const unlocked = json(200, { name: '@alice:example.com', locked: false });
const bodies = () => server.requests.filter((r) => r.method === 'PUT').map((r) => JSON.parse(r.body ?? ''));

const noDevices = json(200, { devices: [] });

t.test('user.finish_lock unlocks, cancels as the user, and locks again', async (t) => {
  reset();
  server.queue.push(noDevices, unlocked, json(200, { delayed_events: [{ delay_id: 'syd_a' }] }), json(200, {}), locked);
  await finishLock(cancelAction, ctx, scope);
  t.same(calls(), [`GET /_synapse/admin/v2/users/${ALICE}/devices Bearer admin-token`, `PUT /_synapse/admin/v2/users/${ALICE} Bearer admin-token`, `${LIST} Bearer user-token`, `${cancel('syd_a')} Bearer user-token`, `PUT /_synapse/admin/v2/users/${ALICE} Bearer admin-token`]);
  t.same(bodies(), [{ locked: false }, { locked: true }]);
});

t.test('user.finish_lock deletes the devices a failed deactivation left before it unlocks, and does not unlock while it cannot', async (t) => {
  reset();
  server.queue.push(json(200, { devices: [{ device_id: 'PHONE' }] }), json(200, {}), unlocked, json(200, { delayed_events: [] }), locked);
  await finishLock(cancelAction, ctx, scope);
  t.same(calls().slice(0, 3), [`GET /_synapse/admin/v2/users/${ALICE}/devices Bearer admin-token`, `POST /_synapse/admin/v2/users/${ALICE}/delete_devices Bearer admin-token`, `PUT /_synapse/admin/v2/users/${ALICE} Bearer admin-token`], 'the devices go before the unlock');
  reset();
  server.queue.push(json(500, { errcode: 'M_UNKNOWN', error: 'devices down' }));
  await t.rejects(finishLock(cancelAction, ctx, scope), { code: 'CORP_ERR_UPSTREAM_STATUS' });
  t.same(bodies(), [], 'never unlocked');
});

t.test('user.finish_lock locks again when the cancellation fails, and fails', async (t) => {
  reset();
  server.queue.push(noDevices, unlocked, json(200, { delayed_events: [{ delay_id: 'syd_a' }] }), json(503, { errcode: 'M_UNKNOWN', error: 'busy' }), locked);
  await t.rejects(finishLock(cancelAction, ctx, scope), { code: 'CORP_ERR_UPSTREAM_STATUS', status: 503 });
  t.same(bodies(), [{ locked: false }, { locked: true }]);
  t.equal(calls().at(-1), `PUT /_synapse/admin/v2/users/${ALICE} Bearer admin-token`, 'the lock comes last');
});

t.test('user.finish_lock does nothing more when the unlock fails', async (t) => {
  reset();
  server.queue.push(noDevices, json(500, { errcode: 'M_UNKNOWN', error: 'boom' }));
  await t.rejects(finishLock(cancelAction, ctx, scope), { code: 'CORP_ERR_UPSTREAM_STATUS' });
  t.equal(calls().length, 2);
});

t.test('user.finish_lock abandoned by its run (its deadline passed) does not lock again: a newer run may have unlocked an active user', async (t) => {
  reset();
  server.queue.push(noDevices, unlocked, json(200, { delayed_events: [] }));
  const released = { ...scope, isReleased: () => true };
  await finishLock(cancelAction, ctx, released);
  t.same(bodies(), [{ locked: false }], 'unlocked, and left to the next observation');
});

t.test('user.finish_lock that can neither cancel nor lock again names both causes', async (t) => {
  reset();
  server.queue.push(noDevices, unlocked, json(500, { errcode: 'M_UNKNOWN', error: 'list down' }), json(500, { errcode: 'M_UNKNOWN', error: 'lock down' }));
  await t.rejects(finishLock(cancelAction, ctx, scope), { code: DELAYED_EVENTS_NOT_CANCELLED, message: /could not be cancelled \(.*list down.*\), and the account could not be locked again: .*lock down/ });
});

t.test('a cancellation stops at its time budget, before the next call', async (t) => {
  reset();
  server.queue.push(json(200, { delayed_events: [{ delay_id: 'syd_a' }, { delay_id: 'syd_b' }] }));
  await t.rejects(cancelPendingDelayedEvents(http, 'user-token', -1), { code: DELAYED_EVENTS_BUDGET_SPENT, message: /^0 of 2 pending delayed events cancelled within -1 ms/ });
  t.same(calls(), [`${LIST} Bearer user-token`], 'no cancellation started');
});
