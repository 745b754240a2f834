import t from 'tap';
import { createSilentLogger } from '../../../src/common/logger.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { planReconciliation } from '../../../src/control/plan/index.js';
import { createRoom, matrixCall, registerUser } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { reconcilerConfig, snapshot } from './fixtures/reconciler.js';

/**
 * Day-2 review 19, finding 1: an operator adopts into `managedRoomIds` an invite-only room that a
 * managed user created and the corporal user is not in, with a policy that does not list the user
 * there. The user's leave (as the user) would work, and would leave the room with nobody in it for
 * good; the full pass must hold it and say so instead.
 */
t.test('adopting a room the corporal user is not in holds its members\' leaves, with a warning', async (t) => {
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const reconciler = await startReconciler({ config: reconcilerConfig(hs), planner: planReconciliation, logger: createSilentLogger() });
  t.teardown(() => reconciler.close());
  const corporal = '@corporal:localhost';
  const alice = await registerUser(hs, { localpart: 'alice', password: 'alice password' });
  const room = await createRoom(hs.baseUrl, alice.accessToken, { name: 'alice-private', preset: 'private_chat' });
  const adminRoom = async () => matrixCall<{ joined_members: number }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}`, { token: await reconciler.session.token() });
  const members = async () => (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}/members`, { token: await reconciler.session.token() })).members;
  t.same(await members(), [alice.userId], 'Synapse: alice is the room\'s only member, the corporal user is not in it');

  reconciler.loop.onPolicy(snapshot(1, [room], [{ id: alice.userId, joinedRooms: [] }]), 'all');
  await reconciler.loop.idle();
  const run = reconciler.loop.status().lastRun;
  if (run === null) throw new Error('no run recorded');
  t.match(run, { kind: 'full', outcome: 'completed', actionsFailed: 0 });
  t.same(run.warnings.filter((w) => w.roomId === room).map((w) => [w.code, w.userId]), [
    ['plan.corporal_not_joined', corporal],
    ['plan.corporal_lacks_power', corporal],
    ['plan.leaves_held', corporal],
  ], 'the run reports the held leave next to the corporal user\'s standing');
  t.match(run.warnings.find((w) => w.code === 'plan.leaves_held')?.message, `1 leave from ${room} held: the corporal user ${corporal} is not joined to it`);

  t.same(await members(), [alice.userId], 'Synapse: alice is still joined');
  t.equal((await adminRoom()).joined_members, 1, 'Synapse: the room still has its member');
});
