import t from 'tap';
import { createSilentLogger } from '../../../src/common/logger.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { planReconciliation } from '../../../src/control/plan/index.js';
import { createRoom, matrixCall, registerUser } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { reconcilerConfig, snapshot } from './fixtures/reconciler.js';

/**
 * A `room.corporal_join` that Synapse refuses (the success case: adopted-room-leaves-held.test.ts).
 */
t.test('an invitation gone by the time of the join: Synapse refuses the join, no retry is scheduled, and the room stays held', async (t) => {
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const corporal = '@corporal:localhost';
  const alice = await registerUser(hs, { localpart: 'alice', password: 'alice password' });
  const room = await createRoom(hs.baseUrl, alice.accessToken, { name: 'alice-private', preset: 'private_chat' });
  // The planner is shown an invitation, with the power to accept it, that Synapse does not hold
  // (as when it was withdrawn after the room was observed); the join then meets Synapse's refusal.
  const planner: typeof planReconciliation = (observed, policy, options) => {
    const seen = observed.rooms.get(room);
    const rooms = new Map(observed.rooms);
    if (seen !== undefined) rooms.set(room, { ...seen, invitedMembers: new Set([corporal]), powerLevelUsers: { ...seen.powerLevelUsers, [corporal]: 100 } });
    return planReconciliation({ ...observed, rooms }, policy, options);
  };
  const config = reconcilerConfig(hs, { reconciliation: { RetryIntervalMilliseconds: 60_000 } });
  const reconciler = await startReconciler({ config, planner, logger: createSilentLogger() });
  t.teardown(() => reconciler.close());

  reconciler.loop.onPolicy(snapshot(1, [room], [{ id: alice.userId, joinedRooms: [] }]), 'all');
  await reconciler.loop.idle();
  const status = reconciler.loop.status();
  t.match(status.lastFullRun, { outcome: 'completed', actionsFailed: 1, failures: [{ actionType: 'room.corporal_join', roomId: room, error: /HTTP 403 M_FORBIDDEN/ }] });
  t.same(status.retries, [], 'a refusal is not retried: the next full pass tries again if an invitation is there');
  const members = (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}/members`, { token: await reconciler.session.token() })).members;
  t.same(members, [alice.userId], 'Synapse: the corporal user is not in, and alice was not taken out of the room');
});
