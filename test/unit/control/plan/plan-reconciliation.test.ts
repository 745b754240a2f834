import t from 'tap';
import type { Action } from '../../../../src/control/actions.js';
import { planReconciliation } from '../../../../src/control/plan/index.js';
import type { Plan } from '../../../../src/control/plan/index.js';
import type { ObservedRoom, ObservedState } from '../../../../src/control/state.js';
import { observedRoomFromState } from '../../../../src/control/observe/room-state.js';
import { NO_AVATAR_HASH } from '../../../../src/control/plan/avatar-hash.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import type { SnapshotUser } from '../../../../src/policy/snapshot.js';

import { loadPlanFixtures } from '../../../fixtures/plan/plan-fixtures.js';

const fixtures = loadPlanFixtures();

t.test('fixture table is there', async (t) => {
  // 01, 02 and 04–19 from matrix-corporal plus Corporal's own; a broken glob must not pass silently.
  t.ok(fixtures.length >= 36, `${fixtures.length} fixtures`);
});

for (const fixture of fixtures) {
  t.test(fixture.name, async (t) => {
    const plan = planReconciliation(fixture.observed, fixture.policy, fixture.options);
    t.strictSame(plan.actions, fixture.expected.actions, `actions: ${fixture.description}`);
    t.strictSame(plan.warnings, fixture.expected.warnings, 'warnings');
    t.strictSame(plan.skippedRooms, fixture.expected.skippedRooms, 'skippedRooms');
  });
}

t.test('the plan does not depend on the iteration order of the observed state', async (t) => {
  for (const fixture of fixtures) {
    const plan = planReconciliation(fixture.observed, fixture.policy, fixture.options);
    const reversed = planReconciliation(reverseObserved(fixture.observed), fixture.policy, fixture.options);
    t.strictSame(reversed, plan, fixture.name);
  }
});

t.test('planning twice gives the same plan and leaves the inputs untouched', async (t) => {
  for (const fixture of fixtures) {
    const before = structuredClone({ observed: fixture.observed, policy: fixture.policy, options: fixture.options });
    const first = planReconciliation(fixture.observed, fixture.policy, fixture.options);
    const second = planReconciliation(fixture.observed, fixture.policy, fixture.options);
    t.strictSame(second, first, `${fixture.name}: same plan`);
    t.strictSame({ observed: fixture.observed, policy: fixture.policy, options: fixture.options }, before, `${fixture.name}: inputs`);
  }
});

t.test('a users filter gives each user exactly its part of the full plan', async (t) => {
  for (const fixture of fixtures) {
    const full = planReconciliation(fixture.observed, fixture.policy, { ...fixture.options, users: null });
    for (const userId of fixture.policy.users.keys()) {
      const only = planReconciliation(fixture.observed, fixture.policy, { ...fixture.options, users: new Set([userId]) });
      t.strictSame(only.actions, actionsOf(full, userId), `${fixture.name} ${userId}: actions`);
      t.strictSame(only.warnings, full.warnings.filter((w) => w.userId === userId), `${fixture.name} ${userId}: warnings`);
      t.strictSame(only.skippedRooms, full.skippedRooms, `${fixture.name} ${userId}: skippedRooms`);
    }
  }
});

t.test('an empty users filter plans nothing', async (t) => {
  for (const fixture of fixtures) {
    const plan = planReconciliation(fixture.observed, fixture.policy, { ...fixture.options, users: new Set() });
    t.strictSame(plan.actions, [], fixture.name);
    t.strictSame(plan.warnings, [], fixture.name);
  }
});

t.test('levels Synapse reads with int() but Corporal cannot read exactly: no write, a warning (red team 12, F4)', async (t) => {
  // The red team's reproduction (pl-parse.mjs): a v9 room where a remote server set @x's level.
  const C = '@corporal:example.com';
  const X = '@x:example.com';
  const Y = '@y:example.com';
  const R = '!r:example.com';
  for (const xLevel of ['5_0', '1_00', '\uff15\uff10', 50.5, true]) {
    const room = observedRoomFromState(R, [
      { type: 'm.room.create', stateKey: '', sender: '@owner:example.com', content: { room_version: '9' } },
      ...[C, X, Y].map((userId) => ({ type: 'm.room.member', stateKey: userId, sender: userId, content: { membership: 'join' } })),
      { type: 'm.room.power_levels', stateKey: '', sender: '@remote:evil.example', content: { users: { [C]: 100, [X]: xLevel }, users_default: 0 } },
    ]);
    const observedUser = (id: string) => ({ id, locked: false, deactivated: false, displayName: '', avatarMxcUri: '', avatarSourceUriHash: '', derivedPasswordSet: true });
    const user = (id: string, level: number): SnapshotUser => ({
      id, active: true, authType: 'plain', authCredential: '', displayName: '', avatarUri: '', joinedRooms: new Map([[R, level]]),
      powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
    });
    for (const xPolicy of [0, 20]) {
      const policy = fixtureSnapshot({ users: [user(X, xPolicy), user(Y, 20)], managedRoomIds: [R] });
      const plan = planReconciliation({ users: new Map([X, Y].map((id) => [id, observedUser(id)])), rooms: new Map([[R, room]]) }, policy, { deactivatedDisplayNameMarker: false, authSharedSecret: 's', corporalUserId: C });
      const label = `${JSON.stringify(xLevel)}, policy ${xPolicy}`;
      t.notOk(plan.actions.some((action) => action.type === 'room.users_set_power_levels'), `${label}: no power-levels write`);
      t.match(plan.warnings[0], { code: 'plan.power_levels_not_integers', roomId: R, message: /users\["@x:example\.com"\]/ }, `${label}: the room is reported`);
    }
  }
});

t.test('rooms an observation left unread on purpose are neither planned for nor reported skipped', async (t) => {
  const C = '@corporal:example.com';
  const X = '@x:example.com';
  const [R, U, M] = ['!read:example.com', '!unread:example.com', '!missing:example.com'];
  const room = observedRoomFromState(R, [
    { type: 'm.room.create', stateKey: '', sender: C, content: { room_version: '10' } },
    { type: 'm.room.member', stateKey: C, sender: C, content: { membership: 'join' } },
    { type: 'm.room.power_levels', stateKey: '', sender: C, content: { users: { [C]: 100 } } },
  ]);
  const x: SnapshotUser = {
    id: X, active: true, authType: 'plain', authCredential: '', displayName: '', avatarUri: '', joinedRooms: new Map([[R, 0]]),
    powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
  };
  const policy = fixtureSnapshot({ users: [x], managedRoomIds: [R, U, M] });
  const observed: ObservedState = {
    users: new Map([[X, { id: X, locked: false, deactivated: false, displayName: '', avatarMxcUri: '', avatarSourceUriHash: NO_AVATAR_HASH, derivedPasswordSet: true }]]),
    rooms: new Map([[R, room]]),
    unreadRooms: new Set([U]),
  };
  const plan = planReconciliation(observed, policy, { deactivatedDisplayNameMarker: false, authSharedSecret: 's', corporalUserId: C, users: new Set([X]) });
  t.strictSame(plan.actions, [{ type: 'room.join', userId: X, roomId: R }]);
  t.strictSame(plan.skippedRooms, [{ roomId: M, reason: 'room was not observed' }], 'only the room that should have been read is reported');
  t.throws(() => planReconciliation(observed, policy, { deactivatedDisplayNameMarker: false, authSharedSecret: 's', corporalUserId: C }),
    /cannot make a full plan/, 'such an observation never makes a full plan (verify 14b)');
  t.throws(() => planReconciliation(observed, policy, { deactivatedDisplayNameMarker: false, authSharedSecret: 's', corporalUserId: C, users: null }),
    /cannot make a full plan/, '`users: null` means everyone too');
});

/** The full plan's actions for one user: its own actions, and its entries of the power-level groups. */
function actionsOf(plan: Plan, userId: string): Action[] {
  const result: Action[] = [];
  for (const action of plan.actions) {
    if (action.type === 'room.corporal_join') continue;
    if (action.type !== 'room.users_set_power_levels') {
      if (action.userId === userId) result.push(action);
      continue;
    }
    const level = action.levels[userId];
    if (level !== undefined) result.push({ ...action, levels: { [userId]: level } });
  }
  return result;
}

/** The same state with every Map and Set built in reverse insertion order. */
function reverseObserved(observed: ObservedState): ObservedState {
  const rooms = [...observed.rooms.values()].reverse().map(
    (room): ObservedRoom => ({
      ...room,
      joinedMembers: new Set([...room.joinedMembers].reverse()),
      bannedMembers: new Set([...room.bannedMembers].reverse()),
      creators: new Set([...room.creators].reverse()),
      powerLevelUsers: Object.fromEntries(Object.entries(room.powerLevelUsers).reverse()),
    }),
  );
  return {
    users: new Map([...observed.users].reverse()),
    rooms: new Map(rooms.map((room) => [room.roomId, room])),
    caseVariants: new Map([...(observed.caseVariants ?? [])].reverse()),
  };
}
