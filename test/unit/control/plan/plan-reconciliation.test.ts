import t from 'tap';
import type { Action } from '../../../../src/control/actions.js';
import { planReconciliation } from '../../../../src/control/plan/index.js';
import type { Plan } from '../../../../src/control/plan/index.js';
import type { ObservedRoom, ObservedState } from '../../../../src/control/state.js';

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

/** The full plan's actions for one user: its own actions, and its entries of the power-level groups. */
function actionsOf(plan: Plan, userId: string): Action[] {
  const result: Action[] = [];
  for (const action of plan.actions) {
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
