import t from 'tap';
import { creatorsHaveUnlimitedPower, observedRoomFromState, unreadableRoom } from '../../../../src/control/observe/room-state.js';
import type { StateEvent } from '../../../../src/control/synapse/rooms-api.js';

const create = (version: string | undefined, sender: string, additional?: unknown): StateEvent => ({
  type: 'm.room.create',
  stateKey: '',
  sender,
  content: { ...(version === undefined ? {} : { room_version: version }), ...(additional === undefined ? {} : { additional_creators: additional }) },
});
const member = (userId: string, membership: string): StateEvent => ({ type: 'm.room.member', stateKey: userId, sender: userId, content: { membership } });
const powerLevels = (content: Record<string, unknown>): StateEvent => ({ type: 'm.room.power_levels', stateKey: '', sender: '@c:hs', content });

t.test('room versions whose creators have unlimited power', async (t) => {
  const table: [string, boolean][] = [['1', false], ['10', false], ['11', false], ['12', true], ['13', true], ['org.matrix.hydra.11', true], ['org.matrix.msc2176', false], ['', false]];
  for (const [version, expected] of table) t.equal(creatorsHaveUnlimitedPower(version), expected, `"${version}"`);
});

t.test('members, bans, power levels and v12 creators from one state read', async (t) => {
  const room = observedRoomFromState('!r', [
    create('12', '@c:hs', ['@d:hs', 42]),
    member('@c:hs', 'join'),
    member('@a:hs', 'join'),
    member('@b:hs', 'ban'),
    member('@e:hs', 'leave'),
    member('@f:hs', 'invite'),
    powerLevels({ users: { '@a:hs': 50, '@g:hs': '75', '@h:hs': 'high', '@i:hs': 1.5 }, users_default: 10 }),
    { type: 'm.room.power_levels', stateKey: 'not-empty', sender: '@x:hs', content: { users: { '@a:hs': 99 } } },
  ]);
  t.same(room, {
    roomId: '!r',
    readable: true,
    error: null,
    joinedMembers: new Set(['@c:hs', '@a:hs']),
    bannedMembers: new Set(['@b:hs']),
    powerLevelUsers: { '@a:hs': 50, '@g:hs': 75 },
    usersDefault: 10,
    creators: new Set(['@c:hs', '@d:hs']),
  });
});

t.test('older rooms have no unlimited creators; a room without power levels reads as empty', async (t) => {
  t.same(observedRoomFromState('!v10', [create('10', '@c:hs', ['@d:hs']), member('@c:hs', 'join')]).creators, new Set());
  const ancient = observedRoomFromState('!v1', [create(undefined, '@c:hs')]);
  t.same(ancient.creators, new Set(), 'no room_version means version 1');
  t.same(ancient.powerLevelUsers, {});
  t.equal(ancient.usersDefault, 0);
  t.same(observedRoomFromState('!p', [powerLevels({ users: [] })]).powerLevelUsers, {}, 'a malformed users map is ignored');
});

t.test('an unreadable room carries its error and nothing else', async (t) => {
  t.same(unreadableRoom('!x', 'HTTP 404'), { roomId: '!x', readable: false, error: 'HTTP 404', joinedMembers: new Set(), bannedMembers: new Set(), powerLevelUsers: {}, usersDefault: 0, creators: new Set() });
});
