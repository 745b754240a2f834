import t from 'tap';
import { createSilentLogger } from '../../../src/common/logger.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { createRoom, matrixCall } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { reconcilerConfig, snapshot, type UserSpec } from './fixtures/reconciler.js';

/**
 * Red-team round 3, F3: Synapse refuses the corporal user a change of a level that is not below its
 * own, or to a level above its own. Such a change must be a planner warning, and must not take the
 * other users' changes in the same room down with it (one write carries every user of a room).
 */

// The harness's admin is the corporal user; Corporal uses its token.
const hs = await startSynapse();
t.teardown(() => hs.stop());
const admin = hs.admin.accessToken;
const reconciler = await startReconciler({ config: reconcilerConfig(hs, { corporal: { AccessToken: admin } }), logger: createSilentLogger() });
t.teardown(() => reconciler.close());
const { loop } = reconciler;

// v11: the corporal user (the creator) is at 100 in `users`. v12: it is a creator, unlimited power.
const v11 = await createRoom(hs.baseUrl, admin, { preset: 'public_chat', room_version: '11' });
const v12 = await createRoom(hs.baseUrl, admin, { preset: 'public_chat', room_version: '12' });
const alice = '@alice:localhost';
const pat = '@pat:localhost';

let generation = 0;
async function reconcile(aliceLevel: number, patLevel: number) {
  const users: UserSpec[] = [
    { id: alice, joinedRooms: [[v11, aliceLevel], [v12, aliceLevel]] },
    { id: pat, joinedRooms: [[v11, patLevel], [v12, patLevel]] },
  ];
  loop.onPolicy(snapshot(++generation, [v11, v12], users), 'all');
  await loop.idle();
  const status = loop.status();
  if (status.lastRun === null) throw new Error('no run recorded');
  return { run: status.lastRun, retries: status.retries };
}
async function levels(roomId: string): Promise<Record<string, number>> {
  return (await matrixCall<{ users: Record<string, number> }>(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.power_levels/`, { token: admin })).users;
}

t.test('a user raised to the corporal level cannot be lowered; the others in the room still change', async (t) => {
  let { run } = await reconcile(50, 0);
  t.same(run.failures, [], 'baseline: no failures');
  ({ run } = await reconcile(100, 0));
  t.same(run.failures, [], 'alice raised to 100 (equal to the corporal user) is allowed');
  t.equal((await levels(v11))[alice], 100);
  t.same(
    run.warnings.map((w) => [w.code, w.userId, w.roomId]),
    [['plan.level_irreversible', alice, v11]],
    'the run says the grant cannot be taken back; not in the v12 room, where the corporal user is a creator',
  );

  const lowered = await reconcile(50, 20);
  t.same(lowered.run.failures, [], 'no failed power-level write');
  t.same(lowered.retries, [], 'nothing left to retry');
  t.same(
    lowered.run.warnings.map((w) => [w.code, w.userId, w.roomId]),
    [['plan.level_not_settable', alice, v11]],
    'alice in the v11 room is a warning',
  );
  const inV11 = await levels(v11);
  t.equal(inV11[alice], 100, 'alice keeps 100 in the v11 room');
  t.equal(inV11[pat], 20, "pat's change in the same room landed");
  const inV12 = await levels(v12);
  t.equal(inV12[alice], 50, 'in the v12 room the corporal user is a creator and lowers alice');
  t.equal(inV12[pat], 20);
});

t.test('a level above the corporal user is a warning too', async (t) => {
  const { run, retries } = await reconcile(150, 30);
  t.same(run.failures, []);
  t.same(retries, []);
  t.same(
    run.warnings.map((w) => [w.code, w.userId, w.roomId]),
    [['plan.level_not_settable', alice, v11]],
  );
  t.equal((await levels(v11))[pat], 30);
  t.equal((await levels(v12))[alice], 150, 'a creator may set any level');
});
