import t from 'tap';
import { corporalLevel, kickRefusal, missingActionLevels } from '../../../../src/control/plan/corporal-standing.js';
import type { ActionLevels, ObservedRoom } from '../../../../src/control/state.js';

const CORPORAL = '@corporal:example.com';
const A = '@a:example.com';

function room(powerLevelUsers: Record<string, number>, options: { usersDefault?: number; creators?: string[]; joined?: string[]; levels?: Partial<ActionLevels>; nonInteger?: string[] } = {}): ObservedRoom {
  return {
    roomId: '!r:example.com',
    readable: true,
    error: null,
    joinedMembers: new Set(options.joined ?? [CORPORAL, A]),
    bannedMembers: new Set(),
    invitedMembers: new Set(),
    powerLevelUsers,
    usersDefault: options.usersDefault ?? 0,
    actionLevels: { kick: 50, invite: 0, setPowerLevels: 50, ...options.levels },
    nonIntegerLevels: options.nonInteger ?? [],
    creators: new Set(options.creators ?? []),
    hasPowerLevels: true,
    replacementRoom: null,
    joinRule: 'invite',
  };
}

t.test("the corporal user's level: its entry, else users_default; unlimited as a v12 creator", async (t) => {
  t.equal(corporalLevel(room({ [CORPORAL]: 70 }, { usersDefault: 5 }), CORPORAL), 70);
  t.equal(corporalLevel(room({}, { usersDefault: 5 }), CORPORAL), 5);
  t.equal(corporalLevel(room({ [CORPORAL]: 70 }, { creators: [CORPORAL] }), CORPORAL), Number.POSITIVE_INFINITY);
});

t.test('missing action levels, in the order kick, invite, m.room.power_levels (red team 12, F2)', async (t) => {
  t.same(missingActionLevels(room({ [CORPORAL]: 100 }), CORPORAL), []);
  t.same(missingActionLevels(room({ [CORPORAL]: 50 }, { levels: { invite: 50 } }), CORPORAL), [], 'equal is enough');
  t.same(missingActionLevels(room({ [CORPORAL]: 10 }, { levels: { kick: 20, invite: 30, setPowerLevels: 40 } }), CORPORAL), ['kick (20)', 'invite (30)', 'send m.room.power_levels (40)']);
  t.same(missingActionLevels(room({}, { levels: { invite: 1 } }), CORPORAL), ['kick (50)', 'invite (1)', 'send m.room.power_levels (50)'], 'users_default 0');
  t.same(missingActionLevels(room({}, { creators: [CORPORAL], levels: { kick: 9000 } }), CORPORAL), [], 'a creator has them all');
});

t.test('kicks follow Synapse: joined, at least kick, above the target (red team 12, F3)', async (t) => {
  t.equal(kickRefusal(room({ [CORPORAL]: 100, [A]: 99 }), CORPORAL, A), null);
  t.equal(kickRefusal(room({ [CORPORAL]: 50 }), CORPORAL, A), null, 'exactly at kick, above users_default');
  t.equal(kickRefusal(room({ [CORPORAL]: 100, [A]: 100 }), CORPORAL, A), "their level 100 is not below the corporal user's own (100)");
  t.equal(kickRefusal(room({ [CORPORAL]: 100 }, { usersDefault: 100 }), CORPORAL, A), "their level 100 is not below the corporal user's own (100)", 'users_default counts for a kick');
  t.equal(kickRefusal(room({ [CORPORAL]: 49 }), CORPORAL, A), "the corporal user's own level (49) is below the level to kick (50)");
  t.equal(kickRefusal(room({ [CORPORAL]: 100 }, { joined: [A] }), CORPORAL, A), 'the corporal user is not joined to the room');
  t.equal(kickRefusal(room({ [A]: 9000 }, { creators: [CORPORAL], levels: { kick: 9000 } }), CORPORAL, A), null, 'a creator kicks anyone who is not one');
  t.equal(kickRefusal(room({}, { creators: [CORPORAL, A] }), CORPORAL, A), 'they are a creator of the room (room v12), whom nobody can kick');
});

t.test('with levels that are not all integers, only membership and creators decide a kick (red team 12, F4)', async (t) => {
  t.equal(kickRefusal(room({ [CORPORAL]: 10, [A]: 100 }, { nonInteger: ['users["@q:example.com"]'] }), CORPORAL, A), null, 'the levels are not compared: the kick is tried');
  t.equal(kickRefusal(room({}, { nonInteger: ['kick'], joined: [A] }), CORPORAL, A), 'the corporal user is not joined to the room');
  t.match(kickRefusal(room({}, { nonInteger: ['kick'], creators: [A] }), CORPORAL, A), /creator/);
});
