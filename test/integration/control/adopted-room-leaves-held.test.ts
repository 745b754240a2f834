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
 *
 * Then the room is adopted as one adds a bot: its creator invites the corporal user and raises it.
 * matrix-corporal needed the corporal user joined by hand; Corporal accepts the invitation once it
 * has the power to manage the room, and plans the room on the pass right after, with itself inside:
 * the held leave is made, the policy's join and level written.
 */
t.test('adopting a room the corporal user is not in holds its members\' leaves until it accepts an invitation there', async (t) => {
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const reconciler = await startReconciler({ config: reconcilerConfig(hs), planner: planReconciliation, logger: createSilentLogger() });
  t.teardown(() => reconciler.close());
  const corporal = '@corporal:localhost';
  const alice = await registerUser(hs, { localpart: 'alice', password: 'alice password' });
  const bob = await registerUser(hs, { localpart: 'bob', password: 'bob password' });
  const room = await createRoom(hs.baseUrl, alice.accessToken, { name: 'alice-private', preset: 'private_chat' });
  const roomPath = (suffix: string): string => `/_matrix/client/v3/rooms/${encodeURIComponent(room)}${suffix}`;
  const adminRoom = async () => matrixCall<{ joined_members: number }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}`, { token: await reconciler.session.token() });
  const members = async () => (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}/members`, { token: await reconciler.session.token() })).members.sort();
  t.same(await members(), [alice.userId], 'Synapse: alice is the room\'s only member, the corporal user is not in it');

  // The policy takes alice out of her room and puts bob in it at 50.
  reconciler.loop.onPolicy(snapshot(1, [room], [{ id: alice.userId, joinedRooms: [] }, { id: bob.userId, joinedRooms: [[room, 50]] }]), 'all');
  await reconciler.loop.idle();
  const run = reconciler.loop.status().lastRun;
  if (run === null) throw new Error('no run recorded');
  t.match(run, { kind: 'full', outcome: 'completed', actionsFailed: 0 }, 'nothing failed: bob\'s join, which the corporal user could not make from outside, is held too');
  t.same(run.warnings.filter((w) => w.roomId === room).map((w) => [w.code, w.userId]), [
    ['plan.corporal_not_joined', corporal],
    ['plan.corporal_lacks_power', corporal],
    ['plan.level_not_settable', bob.userId],
    ['plan.leaves_held', corporal],
    ['plan.joins_held', corporal],
  ], 'the run reports the held leave and join next to the corporal user\'s standing');
  t.match(run.warnings.find((w) => w.code === 'plan.leaves_held')?.message, `1 leave from ${room} held (${alice.userId}): the corporal user ${corporal} is not joined to it`);
  t.same(await members(), [alice.userId], 'Synapse: alice is still joined');
  t.equal((await adminRoom()).joined_members, 1, 'Synapse: the room still has its member');

  // Alice invites the corporal user. Without power it does not accept: once in, it would take alice
  // out, and then nobody could invite anyone back (review 20, finding 1).
  await matrixCall(hs.baseUrl, 'POST', roomPath('/invite'), { token: alice.accessToken, body: { user_id: corporal } });
  reconciler.loop.trigger();
  await reconciler.loop.idle();
  t.match(reconciler.loop.status().lastFullRun?.warnings.find((w) => w.roomId === room && w.code === 'plan.corporal_not_joined')?.message,
    'it is invited, but Corporal accepts the invitation only once its level there reaches kick, invite and m.room.power_levels', 'invited without power: held, and told why');
  t.same(await members(), [alice.userId], 'Synapse: the corporal user did not join, alice is still in');

  // Alice gives it her level: the invitation is accepted.
  const content = await matrixCall<Record<string, unknown>>(hs.baseUrl, 'GET', roomPath('/state/m.room.power_levels/'), { token: alice.accessToken });
  await matrixCall(hs.baseUrl, 'PUT', roomPath('/state/m.room.power_levels/'), { token: alice.accessToken, body: { ...content, users: { ...(content['users'] as object), [corporal]: 100 } } });
  reconciler.loop.trigger();
  await reconciler.loop.idle();
  const status = reconciler.loop.status();
  t.match(status.lastFullRun, { kind: 'full', outcome: 'completed', actionsFailed: 0 }, 'the pass after the join completed');
  t.same(status.lastFullRun?.warnings.filter((w) => w.roomId === room), [], 'no warning about the room any more');
  t.same(status.retries, [], 'nothing left to retry');
  t.same(await members(), [bob.userId, corporal].sort(), 'Synapse: the corporal user joined, bob was joined, alice left');
  // Read as bob, who is in the room: alice, who left it, would see the state of the time she left.
  const levels = await matrixCall<{ users: Record<string, number> }>(hs.baseUrl, 'GET', roomPath('/state/m.room.power_levels/'), { token: bob.accessToken });
  t.equal(levels.users[bob.userId], 50, 'Synapse: bob has the policy\'s level');
});
