import t from 'tap';
import { levelChangeRefusal } from '../../../../src/control/plan/level-settable.js';
import { DEFAULT_ACTION_LEVELS, type ObservedRoom } from '../../../../src/control/state.js';

const CORPORAL = '@corporal:example.com';
const A = '@a:example.com';

function room(powerLevelUsers: Record<string, number>, usersDefault = 0, creators: string[] = [], joined = [CORPORAL], setPowerLevels = 0, nonIntegerLevels: string[] = []): ObservedRoom {
  const actionLevels = { ...DEFAULT_ACTION_LEVELS, setPowerLevels };
  return { roomId: '!r:example.com', readable: true, error: null, joinedMembers: new Set(joined), bannedMembers: new Set(), invitedMembers: new Set(), powerLevelUsers, usersDefault, actionLevels, nonIntegerLevels, creators: new Set(creators), hasPowerLevels: true, replacementRoom: null, joinRule: 'invite' };
}

t.test('follows Synapse _check_power_levels for another user', async (t) => {
  const r = room({ [CORPORAL]: 100, [A]: 50 });
  t.equal(levelChangeRefusal(r, CORPORAL, A, 100), null, 'raising to the corporal level itself is allowed');
  t.equal(levelChangeRefusal(r, CORPORAL, A, 0), null, 'lowering from below is allowed');
  t.match(levelChangeRefusal(r, CORPORAL, A, 101), /above the corporal user's own \(100\)/, 'above the corporal level');
  t.match(levelChangeRefusal(room({ [CORPORAL]: 100, [A]: 100 }), CORPORAL, A, 50), /current level 100 is not below/, 'equal current entry');
  t.match(levelChangeRefusal(room({ [CORPORAL]: 50, [A]: 60 }), CORPORAL, A, 0), /current level 60 is not below the corporal user's own \(50\)/, 'current entry above');
});

t.test('only the current users entry counts, not users_default', async (t) => {
  // Synapse compares the old entry only: a user at users_default (no entry) can be changed.
  t.equal(levelChangeRefusal(room({ [CORPORAL]: 50 }, 50), CORPORAL, A, 10), null);
});

t.test("the corporal user's level falls back to users_default", async (t) => {
  t.match(levelChangeRefusal(room({}, 20), CORPORAL, A, 30), /above the corporal user's own \(20\)/);
  t.equal(levelChangeRefusal(room({}, 20), CORPORAL, A, 10), null);
});

t.test('its own entry may be lowered, not raised', async (t) => {
  t.equal(levelChangeRefusal(room({ [CORPORAL]: 100 }), CORPORAL, CORPORAL, 50), null);
  t.not(levelChangeRefusal(room({ [CORPORAL]: 100 }), CORPORAL, CORPORAL, 101), null);
});

t.test('a creator corporal user (room v12) can set anyone to anything', async (t) => {
  const r = room({ [A]: 9000 }, 0, [CORPORAL]);
  t.equal(levelChangeRefusal(r, CORPORAL, A, 0), null);
  t.equal(levelChangeRefusal(r, CORPORAL, A, 1_000_000), null);
});

t.test('the corporal user must be joined, and may send m.room.power_levels (red team 12, F2)', async (t) => {
  t.equal(levelChangeRefusal(room({ [CORPORAL]: 100 }, 0, [], [A]), CORPORAL, A, 10), 'the corporal user is not joined to the room', 'not joined comes first');
  t.equal(levelChangeRefusal(room({}, 0, [CORPORAL], []), CORPORAL, A, 10), 'the corporal user is not joined to the room', 'even as a creator');
  t.equal(levelChangeRefusal(room({ [CORPORAL]: 50 }, 0, [], [CORPORAL], 50), CORPORAL, A, 10), null, 'at the send level');
  t.equal(
    levelChangeRefusal(room({ [CORPORAL]: 50 }, 0, [], [CORPORAL], 51), CORPORAL, A, 10),
    "the corporal user's own level (50) is below the level to send m.room.power_levels (51)",
  );
  t.equal(levelChangeRefusal(room({}, 0, [CORPORAL], [CORPORAL], 9000), CORPORAL, A, 10), null, 'a creator always may');
});

t.test('no write into power levels that are not all integers, not even as a creator (red team 12, F4)', async (t) => {
  const r = room({ [CORPORAL]: 100 }, 0, [CORPORAL], [CORPORAL], 0, ['users["@x:example.com"]', 'kick']);
  t.equal(levelChangeRefusal(r, CORPORAL, A, 10), `the room's m.room.power_levels holds values that are not integers (users["@x:example.com"], kick), which Synapse refuses in Corporal's write`);
  const many = room({ [CORPORAL]: 100 }, 0, [], [CORPORAL], 0, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  t.match(levelChangeRefusal(many, CORPORAL, A, 10), /\(a, b, c, d, e and 2 more\)/, 'a long list is cut');
  t.equal(levelChangeRefusal(room({}, 0, [], [], 0, ['kick']), CORPORAL, A, 10), 'the corporal user is not joined to the room', 'not joined still comes first');
});
