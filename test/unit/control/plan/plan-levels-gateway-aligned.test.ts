import t from 'tap';
import { planReconciliation } from '../../../../src/control/plan/index.js';
import type { ObservedRoom } from '../../../../src/control/state.js';
import { roomStatePowerLevels } from '../../../../src/gateway/checks/power-levels-check.js';
import { ManagedLevelsIndex } from '../../../../src/gateway/checks/managed-levels-index.js';
import type { CheckInput, CurrentPowerLevels } from '../../../../src/gateway/checks/check-input.js';
import { parseJsonBody } from '../../../../src/gateway/json-body.js';
import { loadPlanFixtures } from '../../../fixtures/plan/plan-fixtures.js';

/**
 * The reconciler writes power levels as the corporal user, whom the gateway's
 * `room.state.power_levels` check does not restrict, and not through the gateway at all. Still,
 * every level write it plans must be one the check would allow even from a room admin: it only
 * moves listed users to their policy level, never raises anyone the room does not list nor
 * `users_default` (red team 22, F3), so the two rules cannot drift apart unnoticed.
 */

const ROOM_ADMIN = '@room-admin:example.com';
const SYNAPSE_DEFAULT_BAN = 50;

/** The observed room's power levels as the gateway's reader would give them. */
function currentOf(room: ObservedRoom): CurrentPowerLevels {
  const { kick, invite, setPowerLevels } = room.actionLevels;
  return { users: room.powerLevelUsers, usersDefault: room.usersDefault, thresholds: { kick, ban: SYNAPSE_DEFAULT_BAN, invite, powerLevels: setPowerLevels }, creators: room.creators };
}

/** The content the applier would `PUT`: the current event with the planned entries set. */
function proposedContent(room: ObservedRoom, levels: Readonly<Record<string, number>>): Record<string, unknown> {
  const { kick, invite, setPowerLevels } = room.actionLevels;
  return {
    users: { ...room.powerLevelUsers, ...levels },
    users_default: room.usersDefault,
    kick, invite, ban: SYNAPSE_DEFAULT_BAN,
    events: { 'm.room.power_levels': setPowerLevels },
  };
}

t.test('every planned level write passes the gateway check, even from a room admin', async (t) => {
  let writes = 0;
  for (const fixture of loadPlanFixtures()) {
    const plan = planReconciliation(fixture.observed, fixture.policy, fixture.options);
    for (const action of plan.actions) {
      if (action.type !== 'room.users_set_power_levels') continue;
      const room = fixture.observed.rooms.get(action.roomId);
      if (room === undefined) throw new Error(`${fixture.name}: no observed room ${action.roomId}`);
      const input: CheckInput = {
        route: { id: 'room.state.power_levels', params: { roomId: action.roomId, eventType: 'm.room.power_levels', stateKey: '' }, prefix: 'v3' },
        method: 'PUT',
        userId: ROOM_ADMIN,
        snapshot: fixture.policy,
        delayed: false,
        body: parseJsonBody(Buffer.from(JSON.stringify(proposedContent(room, action.levels)))),
        corporalUserId: fixture.options.corporalUserId,
        serverName: 'example.com',
        levels: new ManagedLevelsIndex(fixture.policy),
        currentPowerLevels: () => Promise.resolve(currentOf(room)),
      };
      t.same(await roomStatePowerLevels.check(input), { allow: true }, `${fixture.name}: ${action.roomId} ${JSON.stringify(action.levels)}`);
      writes += 1;
    }
  }
  t.ok(writes >= 15, `${writes} planned level writes checked`);
});
