import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSilentLogger } from '../../../src/common/logger.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { createRoom, matrixCall, roomMessageLines } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { reconcilerConfig, snapshot, startInterceptingProxy } from './fixtures/reconciler.js';
import { waitFor } from '../../support/control-plane.js';

/**
 * Red-team round 3, F5: Synapse cancels a user's delayed events (MSC4140) when it deactivates the
 * account, not when it locks it, and sends them later without a lock check. Corporal's
 * `user.deactivate` locks, so it must cancel them itself: a message alice scheduled before she was
 * made inactive must never appear. Also: a retry after a failed cancellation, and a delayed event
 * too large for the gateway, scheduled past it.
 */

// Delayed events are off unless the server sets a maximum delay. The harness's admin is the corporal user.
const hs = await startSynapse({ extraConfig: { max_event_delay_duration: '24h' } });
t.teardown(() => hs.stop());
const admin = hs.admin.accessToken;
const reconciler = await startReconciler({ config: reconcilerConfig(hs, { corporal: { AccessToken: admin } }), logger: createSilentLogger() });
t.teardown(() => reconciler.close());
const { loop } = reconciler;
const room = await createRoom(hs.baseUrl, admin, { preset: 'public_chat' });
const alice = '@alice:localhost';

/** Long enough for the reconcile run in between; the test waits for it without a timing threshold (below). */
const DELAY_MS = 15_000;

async function reconcile(generation: number, active: boolean, userId = alice) {
  loop.onPolicy(snapshot(generation, [room], [{ id: userId, active, joinedRooms: [[room, 0]] }]), 'all');
  await loop.idle();
  const run = loop.status().lastRun;
  if (run === null) throw new Error('no run recorded');
  return run;
}
async function scheduleMessage(token: string, body: string): Promise<string> {
  return scheduleMessageIn(room, token, body);
}
async function scheduleMessageIn(roomId: string, token: string, body: string): Promise<string> {
  const roomPath = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
  const path = `${roomPath}/send/m.room.message/${encodeURIComponent(body)}?org.matrix.msc4140.delay=${DELAY_MS}`;
  return (await matrixCall<{ delay_id: string }>(hs.baseUrl, 'PUT', path, { token, body: { msgtype: 'm.text', body } })).delay_id;
}
/**
 * A second reconciler, reaching Synapse through a proxy that answers 503 to its delayed-event calls
 * while `failing()` (the others are recorded in `passed` as `"<method> <path>"`), retrying failed
 * users every `retryMs`. Both are closed at the end of `t`.
 */
async function reconcilerFailingDelayedEvents(t: { teardown(fn: () => unknown): void }, failing: () => boolean, passed: string[], retryMs: number) {
  const proxy = await startInterceptingProxy(hs.baseUrl, (req, res) => {
    if (!req.url?.startsWith('/_matrix/client/unstable/org.matrix.msc4140/delayed_events')) return false;
    if (!failing()) {
      passed.push(`${req.method} ${req.url.split('?')[0]}`);
      return false;
    }
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ errcode: 'M_UNKNOWN', error: 'busy' }));
    return true;
  });
  t.teardown(() => proxy.close());
  const reconciler = await startReconciler({
    config: reconcilerConfig(hs, { baseUrl: proxy.url, corporal: { AccessToken: admin }, reconciliation: { RetryIntervalMilliseconds: retryMs, RetryMaxIntervalMilliseconds: 2 * retryMs } }),
    logger: createSilentLogger(),
  });
  t.teardown(() => reconciler.close());
  return reconciler;
}
/** The room's message bodies by sender, as the admin API sees them. */
const messages = (roomId = room): Promise<string[]> => roomMessageLines(hs.baseUrl, admin, roomId);

t.test('a delayed message scheduled before alice is made inactive never appears', async (t) => {
  t.same((await reconcile(1, true)).failures, [], 'alice created and joined');
  const aliceToken = (await matrixCall<{ access_token: string }>(hs.baseUrl, 'POST', `/_synapse/admin/v1/users/${encodeURIComponent(alice)}/login`, { token: admin, body: {} })).access_token;
  await scheduleMessage(aliceToken, 'sent by a locked user');
  const pending = await matrixCall<{ delayed_events: unknown[] }>(hs.baseUrl, 'GET', '/_matrix/client/unstable/org.matrix.msc4140/delayed_events', { token: aliceToken });
  t.equal(pending.delayed_events.length, 1, 'alice has one pending delayed message');

  const run = await reconcile(2, false);
  t.same(run.failures, []);
  t.ok(run.actionsDone >= 1, 'user.deactivate ran');
  const user = await matrixCall<{ locked: boolean }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(alice)}`, { token: admin });
  t.equal(user.locked, true, 'alice is locked');
  t.notOk((await messages()).includes(`${alice} sent by a locked user`), 'not sent before the lock (the delay covers the run)');

  // A control message with the same delay, scheduled after alice's, is due after it: once it has
  // been sent, alice's would have been too (Synapse sends due delayed events in send-time order).
  await scheduleMessage(admin, 'control');
  while (!(await messages()).includes('@corporal:localhost control')) await sleep(250);
  t.notOk((await messages()).includes(`${alice} sent by a locked user`), "alice's delayed message never appeared");
});

t.test('when the cancellation fails at the lock, a retry unlocks, cancels and locks again', async (t) => {
  const bob = '@bob:localhost';
  const bobsRoom = await createRoom(hs.baseUrl, admin, { preset: 'public_chat' });
  let failing = false;
  const delayedCalls: string[] = [];
  const retrying = await reconcilerFailingDelayedEvents(t, () => failing, delayedCalls, 500);
  const bobLoop = retrying.loop;
  const policy = (generation: number, active: boolean) => snapshot(generation, [bobsRoom], [{ id: bob, active, joinedRooms: [[bobsRoom, 0]] }]);

  bobLoop.onPolicy(policy(1, true), 'all');
  await bobLoop.idle();
  t.same(bobLoop.status().lastRun?.failures, [], 'bob created and joined');
  const bobToken = (await matrixCall<{ access_token: string }>(hs.baseUrl, 'POST', `/_synapse/admin/v1/users/${encodeURIComponent(bob)}/login`, { token: admin, body: {} })).access_token;
  await scheduleMessageIn(bobsRoom, bobToken, 'sent after a failed cancellation');

  failing = true;
  bobLoop.onPolicy(policy(2, false), 'all');
  await bobLoop.idle();
  t.match(bobLoop.status().lastRun?.failures, [{ actionType: 'user.deactivate', userId: bob, code: 'CORP_ERR_DELAYED_EVENTS_NOT_CANCELLED' }], 'the lock went ahead; the cancellation failed');
  const locked = async () => (await matrixCall<{ locked: boolean }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(bob)}`, { token: admin })).locked;
  t.equal(await locked(), true, 'bob is locked');

  failing = false;
  await waitFor('the retry cancels the delayed message', () => delayedCalls.some((call) => call.startsWith('POST')), 10_000);
  await waitFor('the retry run is over', () => bobLoop.status().retries.length === 0 && !bobLoop.status().running, 10_000);
  t.match(bobLoop.status().lastRun, { kind: 'users', outcome: 'completed', failures: [] }, 'the retry succeeded');
  t.equal(await locked(), true, 'bob is locked again');
  t.notOk((await messages(bobsRoom)).includes(`${bob} sent after a failed cancellation`), 'not sent before the retry');

  t.equal(delayedCalls.length, 2, 'one list, one cancellation');
  bobLoop.trigger();
  await bobLoop.idle();
  t.equal(bobLoop.status().lastRun?.kind, 'full');
  t.equal(delayedCalls.length, 2, 'a later pass leaves locked bob alone');

  await scheduleMessageIn(bobsRoom, admin, 'control');
  while (!(await messages(bobsRoom)).includes('@corporal:localhost control')) await sleep(250);
  t.notOk((await messages(bobsRoom)).includes(`${bob} sent after a failed cancellation`), "bob's delayed message never appeared");
});

t.test('a delayed event of 2.4 MB scheduled past the gateway does not stop the cancellation at the lock', async (t) => {
  // An appservice, or a client before Corporal was deployed, reaches Synapse directly: Synapse
  // stores a delayed event's content whatever its size, and the gateway's 192 KiB bound never saw it.
  const dave = '@dave:localhost';
  t.same((await reconcile(3, true, dave)).failures, [], 'dave created and joined');
  const daveToken = (await matrixCall<{ access_token: string }>(hs.baseUrl, 'POST', `/_synapse/admin/v1/users/${encodeURIComponent(dave)}/login`, { token: admin, body: {} })).access_token;
  // Each `é` is listed as six bytes (`\u00e9`); nested arrays and objects are skipped as well.
  const padding = { pad: 'é'.repeat(400_000), nested: [{ deeper: ['] } [ {'] }] };
  await matrixCall(hs.baseUrl, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/org.example.padding/p1?org.matrix.msc4140.delay=86400000`, { token: daveToken, body: padding });
  await scheduleMessage(daveToken, 'sent by dave after the lock');
  const listed = await fetch(`${hs.baseUrl}/_matrix/client/unstable/org.matrix.msc4140/delayed_events`, { headers: { authorization: `Bearer ${daveToken}` } });
  const listedBytes = (await listed.arrayBuffer()).byteLength;
  t.ok(listedBytes > 2_000_000, `Synapse lists dave's delayed events in ${listedBytes} bytes`);

  t.same((await reconcile(4, false, dave)).failures, [], 'user.deactivate cancels every delayed event and locks dave, with no failure');
  const user = await matrixCall<{ locked: boolean }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(dave)}`, { token: admin });
  t.equal(user.locked, true, 'dave is locked');

  await scheduleMessage(admin, 'control after dave');
  while (!(await messages()).includes('@corporal:localhost control after dave')) await sleep(250);
  t.notOk((await messages()).includes(`${dave} sent by dave after the lock`), "dave's delayed message never appeared");
});

t.test('a restart between a failed cancellation and its follow-up does not forget the user', async (t) => {
  const erin = '@erin:localhost';
  const erinsRoom = await createRoom(hs.baseUrl, admin, { preset: 'public_chat' });
  const policy = (generation: number, active: boolean) => snapshot(generation, [erinsRoom], [{ id: erin, active, joinedRooms: [[erinsRoom, 0]] }]);
  // The first reconciler fails every delayed-event call, and retries nothing before it stops.
  const first = await reconcilerFailingDelayedEvents(t, () => true, [], 600_000);
  first.loop.onPolicy(policy(1, true), 'all');
  await first.loop.idle();
  const erinToken = (await matrixCall<{ access_token: string }>(hs.baseUrl, 'POST', `/_synapse/admin/v1/users/${encodeURIComponent(erin)}/login`, { token: admin, body: {} })).access_token;
  await scheduleMessageIn(erinsRoom, erinToken, 'sent by erin after a restart');
  first.loop.onPolicy(policy(2, false), 'all');
  await first.loop.idle();
  t.match(first.loop.status().lastRun?.failures, [{ actionType: 'user.deactivate', userId: erin, code: 'CORP_ERR_DELAYED_EVENTS_NOT_CANCELLED' }], 'erin is locked; the cancellation failed');
  await first.close();

  const recordPath = `/_matrix/client/v3/user/${encodeURIComponent(hs.admin.userId)}/account_data/io.corporal.unfinished_locks`;
  const recorded = await matrixCall<{ users: Record<string, number> }>(hs.baseUrl, 'GET', recordPath, { token: admin });
  t.equal(recorded.users[erin], 0, "erin is in the corporal user's record");

  // Corporal starts again, reaching Synapse directly: its first pass finishes erin's lock.
  const second = await startReconciler({ config: reconcilerConfig(hs, { corporal: { AccessToken: admin } }), logger: createSilentLogger() });
  t.teardown(() => second.close());
  second.loop.onPolicy(policy(2, false), 'all');
  await second.loop.idle();
  t.same(second.loop.status().lastRun?.failures, [], 'the first pass after the restart succeeds');
  const locked = (await matrixCall<{ locked: boolean }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(erin)}`, { token: admin })).locked;
  t.equal(locked, true, 'erin is locked again');
  const after = await matrixCall<{ users: Record<string, number> }>(hs.baseUrl, 'GET', recordPath, { token: admin });
  t.notOk(erin in after.users, 'and no longer in the record');

  await scheduleMessageIn(erinsRoom, admin, 'control after erin');
  while (!(await messages(erinsRoom)).includes('@corporal:localhost control after erin')) await sleep(250);
  t.notOk((await messages(erinsRoom)).includes(`${erin} sent by erin after a restart`), "erin's delayed message never appeared");
});
