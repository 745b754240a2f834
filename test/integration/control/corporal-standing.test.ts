import t, { type Test } from 'tap';
import { createSilentLogger } from '../../../src/common/logger.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { planReconciliation } from '../../../src/control/plan/index.js';
import { createRoom, joinRoom, matrixCall, registerUser } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { reconcilerConfig, snapshot } from './fixtures/reconciler.js';

/**
 * Red team 12, F2: a room's v12 creator, acting straight on Synapse (as a remote server or an
 * appservice could; the gateway protects the corporal user only on requests that pass through it),
 * demotes and then kicks the corporal user in a managed room. Every full pass must say so.
 * F3: a locked user raised to the corporal user's level cannot be kicked; the pass must say so
 * instead of failing the kick on every retry.
 */

const corporal = '@corporal:localhost';

/**
 * A Synapse and a reconciler, and a v12 room created by the unmanaged user `owner` (so a creator
 * with unlimited power), with the corporal user joined at 100. `setLevels` changes the room's
 * power levels as `owner`, straight on Synapse.
 */
async function roomOwnedByAnotherUser(t: Test) {
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const reconciler = await startReconciler({ config: reconcilerConfig(hs), planner: planReconciliation, logger: createSilentLogger() });
  t.teardown(() => reconciler.close());
  const corporalToken = await reconciler.session.token();
  const owner = await registerUser(hs, { localpart: 'owner', password: 'owner password' });
  const room = await createRoom(hs.baseUrl, owner.accessToken, { preset: 'public_chat', room_version: '12' });
  const stateUrl = `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.power_levels/`;
  const setLevels = async (change: (content: Record<string, unknown>) => Record<string, unknown>) => {
    const content = await matrixCall<Record<string, unknown>>(hs.baseUrl, 'GET', stateUrl, { token: owner.accessToken });
    await matrixCall(hs.baseUrl, 'PUT', stateUrl, { token: owner.accessToken, body: change(content) });
  };
  await setLevels((content) => ({ ...content, users: { [corporal]: 100 } }));
  await joinRoom(hs.baseUrl, corporalToken, room);
  const members = async () => (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}/members`, { token: corporalToken })).members;
  return { hs, loop: reconciler.loop, owner, room, stateUrl, setLevels, members };
}

t.test("the full pass reports the corporal user's demotion, then its removal", async (t) => {
  const { hs, loop, owner, room, stateUrl, setLevels, members } = await roomOwnedByAnotherUser(t);

  let generation = 0;
  const fullPass = async (aliceLevel: number) => {
    loop.onPolicy(snapshot(++generation, [room], [{ id: '@alice:localhost', joinedRooms: [[room, aliceLevel]] }]), 'all');
    await loop.idle();
    const run = loop.status().lastRun;
    if (run === null) throw new Error('no run recorded');
    t.equal(run.kind, 'full');
    return run;
  };
  const roomWarnings = (run: { warnings: { code: string; userId: string; roomId: string | null; message: string }[] }) =>
    run.warnings.filter((w) => w.roomId === room).map((w) => [w.code, w.userId, w.message]);

  let run = await fullPass(0);
  t.equal(run.outcome, 'completed');
  t.same(run.warnings, [], 'baseline: the corporal user is joined at 100, nothing to report');

  // Demoted to 0, kick and invite raised to 50, straight on Synapse.
  await setLevels((content) => ({ ...content, users: { [corporal]: 0 }, kick: 50, invite: 50 }));
  const levels = await matrixCall<{ users: Record<string, number> }>(hs.baseUrl, 'GET', stateUrl, { token: owner.accessToken });
  t.equal(levels.users[corporal], 0, 'Synapse: the corporal user is at 0');
  run = await fullPass(0);
  t.equal(run.outcome, 'completed');
  t.same(roomWarnings(run), [
    ['plan.corporal_lacks_power', corporal, `the corporal user's level in ${room} (0) is below the level to kick (50), to invite (50), to send m.room.power_levels (100); the reconciler's actions that need it will fail there`],
  ], 'the demotion is reported, naming what is missing');

  // Kicked, straight on Synapse.
  await matrixCall(hs.baseUrl, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/kick`, { token: owner.accessToken, body: { user_id: corporal } });
  t.notOk((await members()).includes(corporal), 'Synapse: the corporal user is no longer a member');
  run = await fullPass(50);
  t.equal(run.outcome, 'completed');
  t.same(roomWarnings(run).map(([code, userId]) => [code, userId]), [
    ['plan.corporal_not_joined', corporal],
    ['plan.corporal_lacks_power', corporal],
    ['plan.level_not_settable', '@alice:localhost'],
  ], 'the removal is reported');
  t.match(run.warnings.find((w) => w.code === 'plan.level_not_settable')?.message, /Synapse would refuse it: the corporal user is not joined to the room$/, 'and a level change says why it cannot be made');
  t.same(run.failures, [], 'no power-levels write was attempted');
});

t.test("a locked user at the corporal user's level is a warning, not a kick failing on every retry", async (t) => {
  const { loop, room, setLevels, members } = await roomOwnedByAnotherUser(t);
  const xavier = '@xavier:localhost';

  let generation = 0;
  const fullPass = async (active: boolean, inRoom: boolean) => {
    loop.onPolicy(snapshot(++generation, [room], [{ id: xavier, active, joinedRooms: inRoom ? [[room, 0]] : [] }]), 'all');
    await loop.idle();
    const run = loop.status().lastRun;
    if (run === null) throw new Error('no run recorded');
    return run;
  };
  t.match(await fullPass(true, true), { outcome: 'completed', failures: [] }, 'xavier is created and joined');
  t.match(await fullPass(false, true), { outcome: 'completed', failures: [] }, 'xavier is locked and stays');
  await setLevels((content) => ({ ...content, users: { [corporal]: 100, [xavier]: 100 } }));

  const run = await fullPass(false, false);
  t.equal(run.outcome, 'completed');
  t.same(run.failures, [], 'no kick is attempted');
  t.same(run.warnings.map((w) => [w.code, w.userId, w.roomId, w.message]), [
    ['plan.kick_not_possible', xavier, room, `${xavier} should not be in ${room}, but their account is locked and Synapse would refuse the corporal user's kick: their level 100 is not below the corporal user's own (100)`],
  ]);
  t.same(loop.status().retries, [], 'nothing to retry');
  t.ok((await members()).includes(xavier), 'Synapse: xavier is still a member, as the warning says');
});

t.test('a tombstone sent around the gateway is reported on every full pass (red team 12)', async (t) => {
  const { hs, loop, owner, room } = await roomOwnedByAnotherUser(t);
  const replacement = await createRoom(hs.baseUrl, owner.accessToken, { preset: 'public_chat', room_version: '12' });
  const fullPass = async (generation: number) => {
    loop.onPolicy(snapshot(generation, [room], [{ id: '@alice:localhost', joinedRooms: [[room, 0]] }]), 'all');
    await loop.idle();
    const run = loop.status().lastRun;
    if (run === null) throw new Error('no run recorded');
    return run;
  };
  t.same((await fullPass(1)).warnings, [], 'baseline: nothing to report');

  await matrixCall(hs.baseUrl, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.tombstone/`, {
    token: owner.accessToken,
    body: { body: 'This room has moved', replacement_room: replacement },
  });
  const run = await fullPass(2);
  t.equal(run.outcome, 'completed');
  t.same(run.warnings.map((w) => [w.code, w.userId, w.roomId]), [['plan.room_replaced', corporal, room]]);
  t.match(run.warnings[0]?.message, `naming ${replacement} as its replacement`, 'the warning names the new room');
  t.same(run.failures, [], 'the old room is still managed as before');
});
