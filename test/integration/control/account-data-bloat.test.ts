import t from 'tap';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { planReconciliation } from '../../../src/control/plan/index.js';
import { USER_ACCOUNT_DATA_MAX_BYTES } from '../../../src/control/synapse/admin-users-api.js';
import { createRoom, matrixCall } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { createSilentLogger } from '../../../src/common/logger.js';
import { reconcilerConfig, snapshot } from './fixtures/reconciler.js';

/**
 * Red team 12, F1: a user decides how much account data they have, and the observer reads all of
 * it. More than it reads must cost that user their password and avatar management only: the pass
 * goes on for everyone else, and the user can still be locked.
 */

t.test("one user's oversized account data stops neither the others' reconciliation nor their own lock", async (t) => {
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const reconciler = await startReconciler({ config: reconcilerConfig(hs), planner: planReconciliation, logger: createSilentLogger() });
  t.teardown(() => reconciler.close());
  const admin = await reconciler.session.token();
  const room = await createRoom(hs.baseUrl, admin, { preset: 'private_chat' });
  const users = (aliceActive: boolean, bobName: string) => [
    { id: '@alice:localhost', active: aliceActive, displayName: 'Alice', joinedRooms: (aliceActive ? [[room, 0]] : []) as [string, number][] },
    { id: '@bob:localhost', displayName: bobName, joinedRooms: [[room, 0]] as [string, number][] },
  ];
  reconciler.loop.onPolicy(snapshot(1, [room], users(true, 'Bob')), 'all');
  await reconciler.loop.idle();
  t.equal(reconciler.loop.status().lastRun?.outcome, 'completed');

  // alice fills her account data past what the observer reads, with ordinary keys.
  const aliceToken = (await matrixCall<{ access_token: string }>(hs.baseUrl, 'POST', '/_synapse/admin/v1/users/%40alice%3Alocalhost/login', { token: admin, body: {} })).access_token;
  const pad = 'x'.repeat(900 * 1024);
  for (let i = 0; i * 900 * 1024 <= USER_ACCOUNT_DATA_MAX_BYTES; i += 1) {
    await matrixCall(hs.baseUrl, 'PUT', `/_matrix/client/v3/user/%40alice%3Alocalhost/account_data/org.example.pad${i}`, { token: aliceToken, body: { pad } });
  }

  reconciler.loop.onPolicy(snapshot(2, [room], users(true, 'Bob 2')), 'all');
  await reconciler.loop.idle();
  const run = reconciler.loop.status().lastRun;
  t.equal(run?.outcome, 'completed', 'the full pass completes');
  t.match(run?.warnings, [{ code: 'plan.account_data_unreadable', userId: '@alice:localhost', message: /Synapse's answer exceeds 16777216 bytes/ }]);
  const bob = await matrixCall<{ displayname: string }>(hs.baseUrl, 'GET', '/_synapse/admin/v2/users/%40bob%3Alocalhost', { token: admin });
  t.equal(bob.displayname, 'Bob 2', "the other user's change is applied");

  reconciler.loop.onPolicy(snapshot(3, [room], users(false, 'Bob 2')), new Set(['@alice:localhost']));
  await reconciler.loop.idle();
  t.equal(reconciler.loop.status().lastRun?.outcome, 'completed');
  const alice = await matrixCall<{ locked: boolean }>(hs.baseUrl, 'GET', '/_synapse/admin/v2/users/%40alice%3Alocalhost', { token: admin });
  t.equal(alice.locked, true, 'alice is locked');
  const members = await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}/members`, { token: admin });
  t.notOk(members.members.includes('@alice:localhost'), 'and left the room her policy no longer lists');
});
