import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSilentLogger } from '../../../src/common/logger.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { matrixCall } from '../../support/matrix-client.js';
import { carolWithDelayedEvents } from './fixtures/carol-delayed-events.js';
import { reconcilerConfig, snapshot, startInterceptingProxy } from '../control/fixtures/reconciler.js';

/**
 * Red team 23, F1: a managed user about to be made inactive schedules, through the gateway, one
 * delayed event whose content is larger than the reconciler accepts for one element of the
 * delayed-events list (1 MiB; Synapse checks no event size when it stores a delayed event, and
 * the gateway streams `room.send` bodies unbounded). Once the policy makes the user inactive, the
 * reconciler's list of their delayed events fails, so none is cancelled: the user is locked, yet
 * a message they scheduled next to the padding is still sent. Every retry then unlocks the
 * account again to try once more, without end.
 */

const { scenario, hs, admin, carol, room, messages } = await carolWithDelayedEvents(t);

// The reconciler talks to Synapse through a proxy that records the account's lock changes.
const lockChanges: boolean[] = [];
const proxy = await startInterceptingProxy(hs.baseUrl, (req) => {
  if (req.method === 'PUT' && req.url === `/_synapse/admin/v2/users/${encodeURIComponent(carol)}`) {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { locked?: unknown };
      if (typeof body.locked === 'boolean') lockChanges.push(body.locked);
    });
  }
  return false;
});
t.teardown(() => proxy.close());
const reconciler = await startReconciler({
  config: reconcilerConfig(hs, { baseUrl: proxy.url, corporal: { AccessToken: admin }, reconciliation: { RetryIntervalMilliseconds: 500, RetryMaxIntervalMilliseconds: 1_000 } }),
  logger: createSilentLogger(),
});
t.teardown(() => reconciler.close());
const { loop } = reconciler;

/** Long enough for the reconcile run in between; the test waits for a control message, not a time. */
const DELAY_MS = 15_000;


t.test('a delayed message of a user made inactive is sent after the lock when a padded delayed event makes the list unreadable', async (t) => {
  const joined = await scenario.viaGateway('carol', 'POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {});
  t.equal(joined.status, 200, 'carol joins an unmanaged room through the gateway');
  const roomPath = `/_matrix/client/v3/rooms/${encodeURIComponent(room)}`;
  const message = await scenario.viaGateway('carol', 'PUT', `${roomPath}/send/m.room.message/m1?org.matrix.msc4140.delay=${DELAY_MS}`, { msgtype: 'm.text', body: 'sent by a locked user' });
  t.equal(message.status, 200, 'a delayed message is scheduled through the gateway');
  // The largest bodies the gateway lets through, in the encodings Synapse lists largest: they must
  // leave the list readable.
  const floats = `{"n":[${'1e15,'.repeat(39_000)}1e15]}`;
  const accents = JSON.stringify({ pad: 'é'.repeat(98_000) });
  for (const [name, rawBody] of [['floats', floats], ['accents', accents]] as const) {
    t.ok(Buffer.byteLength(rawBody) <= 192 * 1024, `${name}: ${Buffer.byteLength(rawBody)} bytes`);
    const answer = await scenario.viaGateway('carol', 'PUT', `${roomPath}/send/org.example.${name}/b1?org.matrix.msc4140.delay=86400000`, undefined, rawBody);
    t.equal(answer.status, 200, `a delayed event of ${name} at the bound is scheduled`);
  }
  // The padding, by event send and by state write (Synapse escapes each `é` to six bytes when it
  // lists them). Whether the gateway lets them through is not asserted: Synapse's state is, below.
  const sent = await scenario.viaGateway('carol', 'PUT', `${roomPath}/send/org.example.padding/p1?org.matrix.msc4140.delay=86400000`, { pad: 'x'.repeat(1_200_000) });
  const state = await scenario.viaGateway('carol', 'PUT', `${roomPath}/state/org.example.padding/p2?org.matrix.msc4140.delay=86400000`, { pad: 'é'.repeat(200_000) });
  t.comment(`padding scheduled through the gateway: send ${sent.status}, state ${state.status}`);

  // The policy makes carol inactive: the gateway refuses her at once, the reconciler locks her.
  await scenario.setPolicy({}, { carol: { active: false } });
  loop.onPolicy(snapshot(1, [], [{ id: carol, active: false, authType: 'passthrough' }]), 'all');
  await loop.idle();
  const user = await matrixCall<{ locked: boolean }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(carol)}`, { token: admin });
  t.equal(user.locked, true, 'carol is locked');
  t.comment(`failures of the run: ${JSON.stringify(loop.status().lastRun?.failures.map((f) => f.code))}`);

  // A control message with the same delay, scheduled after carol's, is due after it.
  await matrixCall(hs.baseUrl, 'PUT', `${roomPath}/send/m.room.message/control?org.matrix.msc4140.delay=${DELAY_MS}`, { token: admin, body: { msgtype: 'm.text', body: 'control' } });
  while (!(await messages()).includes(`${hs.admin.userId} control`)) await sleep(250);
  t.comment(`lock changes of carol's account seen so far: ${JSON.stringify(lockChanges)}`);
  t.notOk((await messages()).includes(`${carol} sent by a locked user`), "carol's delayed message never appeared");
  t.notOk(lockChanges.slice(1).includes(false), 'the reconciler does not keep unlocking carol');
});
