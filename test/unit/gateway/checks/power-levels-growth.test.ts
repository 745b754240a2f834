import t from 'tap';
import { POWER_LEVELS_GROWTH_BOUND_BYTES, jsonBytes, roomStatePowerLevels } from '../../../../src/gateway/checks/power-levels-check.js';
import { parseJsonBody } from '../../../../src/gateway/json-body.js';
import { ManagedLevelsIndex } from '../../../../src/gateway/checks/managed-levels-index.js';
import { ALLOW, DECISIONS } from '../../../../src/gateway/checks/decision.js';
import type { CheckInput, CurrentPowerLevels } from '../../../../src/gateway/checks/check-input.js';
import { loadFixturePolicy, rowSnapshot } from '../../../fixtures/checks/fixture-files.js';

/**
 * Red team 23, F3: nobody but the corporal user may grow a managed room's power-levels content past
 * `POWER_LEVELS_GROWTH_BOUND_BYTES`; a change that does not make it larger stays allowed, so a room
 * whose event is already larger can still be edited.
 */

const policy = loadFixturePolicy();
const snapshot = rowSnapshot(policy, {});
const levels = new ManagedLevelsIndex(snapshot);
const BASE = { users: { '@alice:hs': 50, '@corporal:hs': 100, '@bob:hs': 100 }, users_default: 0 };

/** `BASE` padded with a field of bob's own to exactly `bytes` of compact JSON. */
function padded(bytes: number): Record<string, unknown> {
  const empty = jsonBytes({ ...BASE, 'org.example.pad': '' });
  return { ...BASE, 'org.example.pad': 'x'.repeat(bytes - empty) };
}

function current(content: Record<string, unknown>): CurrentPowerLevels {
  return {
    users: content['users'] as Record<string, number>, usersDefault: 0,
    thresholds: { kick: 50, ban: 50, invite: 0, powerLevels: 50 }, creators: new Set(), contentBytes: jsonBytes(content),
  };
}

function input(requester: string, body: Record<string, unknown>, now: Record<string, unknown>): CheckInput {
  return {
    route: { id: 'room.state.power_levels', params: { roomId: '!managed:hs', eventType: 'm.room.power_levels', stateKey: '' }, prefix: 'v3' },
    method: 'PUT', userId: requester, snapshot, delayed: false,
    body: parseJsonBody(Buffer.from(JSON.stringify(body))),
    corporalUserId: policy.corporalUserId, serverName: policy.serverName, levels,
    currentPowerLevels: async () => current(now),
  };
}

const BOUND = POWER_LEVELS_GROWTH_BOUND_BYTES;

t.test('growing the content past the bound is refused to anyone but the corporal user', async (t) => {
  t.equal(jsonBytes(padded(BOUND)), BOUND);
  t.same(await roomStatePowerLevels.check(input('@bob:hs', padded(BOUND), BASE)), ALLOW, 'up to the bound');
  t.same(await roomStatePowerLevels.check(input('@bob:hs', padded(BOUND + 1), BASE)), DECISIONS.powerLevelsTooLarge, 'one byte past it');
  t.same(await roomStatePowerLevels.check(input('@corporal:hs', padded(60_000), BASE)), ALLOW, 'the corporal user');
});

t.test('a content already past the bound can be edited as long as it does not grow', async (t) => {
  const large = padded(BOUND + 10_000);
  t.same(await roomStatePowerLevels.check(input('@bob:hs', padded(BOUND + 10_000), large)), ALLOW, 'same size');
  t.same(await roomStatePowerLevels.check(input('@bob:hs', padded(BOUND + 5_000), large)), ALLOW, 'smaller');
  t.same(await roomStatePowerLevels.check(input('@bob:hs', padded(BOUND + 10_001), large)), DECISIONS.powerLevelsTooLarge, 'one byte larger');
});

t.test('without a reader of the current event, the bound applies to the proposed content alone', async (t) => {
  const noReader = (body: Record<string, unknown>): CheckInput => {
    const { currentPowerLevels: _, ...rest } = input('@bob:hs', body, BASE);
    return rest;
  };
  t.same(await roomStatePowerLevels.check(noReader(padded(BOUND))), ALLOW);
  t.same(await roomStatePowerLevels.check(noReader(padded(BOUND + 1))), DECISIONS.powerLevelsTooLarge);
});

t.test('a change that moves a listed user is refused as such, whatever its size', async (t) => {
  const moving = { ...padded(BOUND + 1), users: { ...BASE.users, '@alice:hs': 0 } };
  t.same(await roomStatePowerLevels.check(input('@bob:hs', moving, BASE)), DECISIONS.powerLevels);
});
