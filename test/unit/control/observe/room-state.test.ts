import t from 'tap';
import { observedRoomFromState, unreadableRoom } from '../../../../src/control/observe/room-state.js';
import { creatorsHaveUnlimitedPower } from '../../../../src/common/room-creators.js';
import type { StateEvent } from '../../../../src/control/synapse/rooms-api.js';
import { DEFAULT_ACTION_LEVELS } from '../../../../src/control/state.js';

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

t.test('members, bans, invitations, power levels and v12 creators from one state read', async (t) => {
  const room = observedRoomFromState('!r', [
    create('12', '@c:hs', ['@d:hs', 42]),
    member('@c:hs', 'join'),
    member('@a:hs', 'join'),
    member('@b:hs', 'ban'),
    member('@e:hs', 'leave'),
    member('@f:hs', 'invite'),
    powerLevels({ users: { '@a:hs': 50, '@g:hs': '75', '@h:hs': 'high', '@i:hs': 1.5 }, users_default: 10 }),
    { type: 'm.room.power_levels', stateKey: 'not-empty', sender: '@x:hs', content: { users: { '@a:hs': 99 } } },
    { type: 'm.room.join_rules', stateKey: '', sender: '@c:hs', content: { join_rule: 'knock' } },
  ]);
  t.same(room, {
    roomId: '!r',
    readable: true,
    error: null,
    joinedMembers: new Set(['@c:hs', '@a:hs']),
    bannedMembers: new Set(['@b:hs']),
    invitedMembers: new Set(['@f:hs']),
    powerLevelUsers: { '@a:hs': 50, '@g:hs': 75 },
    usersDefault: 10,
    actionLevels: DEFAULT_ACTION_LEVELS,
    nonIntegerLevels: ['users["@g:hs"]', 'users["@h:hs"]', 'users["@i:hs"]'],
    creators: new Set(['@c:hs', '@d:hs']),
    hasPowerLevels: true,
    replacementRoom: null,
    joinRule: 'knock',
  });
});

t.test("the levels the reconciler needs: kick, invite, and m.room.power_levels' send level (red team 12, F2)", async (t) => {
  const levels = (content: Record<string, unknown>) => observedRoomFromState('!r', [powerLevels(content)]).actionLevels;
  t.same(levels({}), { kick: 50, invite: 0, setPowerLevels: 50 }, "Synapse's defaults");
  t.same(levels({ kick: 60, invite: 70, state_default: 80 }), { kick: 60, invite: 70, setPowerLevels: 80 }, 'state_default without an events entry');
  t.same(levels({ state_default: 80, events: { 'm.room.power_levels': 90, 'm.room.name': 10 } }), { kick: 50, invite: 0, setPowerLevels: 90 }, 'the events entry wins');
  t.same(levels({ events: [] }).setPowerLevels, 50, 'a malformed events map is ignored');
  t.same(levels({ kick: '5_0', invite: true, state_default: '60' }), { kick: 50, invite: 0, setPowerLevels: 60 }, 'unreadable values count as absent here (nonIntegerLevels names them)');
  t.same(observedRoomFromState('!none', [member('@c:hs', 'join')]).actionLevels, DEFAULT_ACTION_LEVELS, 'no power-levels event: the defaults');
});

t.test('older rooms have no unlimited creators; a room without power levels reads as empty', async (t) => {
  t.same(observedRoomFromState('!v10', [create('10', '@c:hs', ['@d:hs']), member('@c:hs', 'join')]).creators, new Set());
  const ancient = observedRoomFromState('!v1', [create(undefined, '@c:hs')]);
  t.same(ancient.creators, new Set(), 'no room_version means version 1');
  t.same(ancient.powerLevelUsers, {});
  t.equal(ancient.usersDefault, 0);
  t.same(observedRoomFromState('!p', [powerLevels({ users: [] })]).powerLevelUsers, {}, 'a malformed users map is ignored');
});

t.test("without power levels, the creator Synapse gives 100: content.creator before v11, the sender from v11 (red team 12)", async (t) => {
  const createWith = (version: string | undefined, sender: string, creator?: unknown): StateEvent => {
    const event = create(version, sender);
    return creator === undefined ? event : { ...event, content: { ...event.content, creator } };
  };
  const levels = (...events: StateEvent[]) => observedRoomFromState('!r', events);
  t.same(levels(createWith('10', '@s:hs', '@c:hs')).powerLevelUsers, { '@c:hs': 100 }, 'v10: content.creator, not the sender');
  t.same(levels(createWith(undefined, '@s:hs', '@c:hs')).powerLevelUsers, { '@c:hs': 100 }, 'no room_version: v1');
  t.same(levels(createWith('10', '@s:hs', 42)).powerLevelUsers, {}, 'v10 with a creator that is not a string: nobody');
  t.same(levels(createWith('11', '@s:hs', '@c:hs')).powerLevelUsers, { '@s:hs': 100 }, 'v11: the sender');
  t.equal(levels(createWith('11', '@s:hs')).hasPowerLevels, false);
  const withEvent = levels(createWith('11', '@s:hs'), powerLevels({ users: { '@a:hs': 50 } }));
  t.same(withEvent.powerLevelUsers, { '@a:hs': 50 }, 'with a power-levels event, only its users map counts');
  t.equal(withEvent.hasPowerLevels, true);
  t.equal(levels(createWith('11', '@s:hs'), { type: 'm.room.power_levels', stateKey: 'x', sender: '@s:hs', content: {} }).hasPowerLevels, false, 'another state key is not the power-levels event');
});

t.test('a tombstone names the replacement room (red team 12)', async (t) => {
  const tombstone = (stateKey: string, content: Record<string, unknown>): StateEvent => ({ type: 'm.room.tombstone', stateKey, sender: '@s:hs', content });
  t.equal(observedRoomFromState('!r', [tombstone('', { body: 'moved', replacement_room: '!new:hs' })]).replacementRoom, '!new:hs');
  t.equal(observedRoomFromState('!r', [tombstone('', { replacement_room: 7 })]).replacementRoom, null, 'a replacement that is not a string');
  t.equal(observedRoomFromState('!r', [tombstone('x', { replacement_room: '!new:hs' })]).replacementRoom, null, 'another state key');
  t.equal(observedRoomFromState('!r', [member('@a:hs', 'join')]).replacementRoom, null, 'no tombstone');
});

t.test('the join rule: a string of m.room.join_rules with state key "" (operator review 22, #4)', async (t) => {
  const joinRules = (stateKey: string, content: Record<string, unknown>): StateEvent => ({ type: 'm.room.join_rules', stateKey, sender: '@s:hs', content });
  t.equal(observedRoomFromState('!r', [joinRules('', { join_rule: 'public' })]).joinRule, 'public');
  t.equal(observedRoomFromState('!r', [joinRules('', { join_rule: 1 })]).joinRule, null, 'not a string');
  t.equal(observedRoomFromState('!r', [joinRules('x', { join_rule: 'public' })]).joinRule, null, 'another state key');
  t.equal(observedRoomFromState('!r', [member('@a:hs', 'join')]).joinRule, null, 'no event');
});

t.test('an unreadable room carries its error and nothing else', async (t) => {
  t.same(unreadableRoom('!x', 'HTTP 404'), { roomId: '!x', readable: false, error: 'HTTP 404', joinedMembers: new Set(), bannedMembers: new Set(), invitedMembers: new Set(), powerLevelUsers: {}, usersDefault: 0, actionLevels: DEFAULT_ACTION_LEVELS, nonIntegerLevels: [], creators: new Set(), hasPowerLevels: false, replacementRoom: null, joinRule: null });
});
