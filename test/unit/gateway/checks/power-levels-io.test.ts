import t from 'tap';
import { roomStatePowerLevels } from '../../../../src/gateway/checks/power-levels-check.js';
import { parseJsonBody } from '../../../../src/gateway/json-body.js';
import { ManagedLevelsIndex } from '../../../../src/gateway/checks/managed-levels-index.js';
import { DECISIONS } from '../../../../src/gateway/checks/decision.js';
import type { CheckInput } from '../../../../src/gateway/checks/check-input.js';
import { loadFixturePolicy, rowSnapshot } from '../../../fixtures/checks/fixture-files.js';

const policy = loadFixturePolicy();
const snapshot = rowSnapshot(policy, {});

function input(body: unknown, reads: string[]): CheckInput {
  return {
    route: { id: 'room.state.power_levels', params: { roomId: '!managed:hs', eventType: 'm.room.power_levels', stateKey: '' }, prefix: 'v3' },
    method: 'PUT',
    userId: '@bob:hs',
    snapshot,
    delayed: false,
    body: parseJsonBody(Buffer.from(JSON.stringify(body))),
    corporalUserId: policy.corporalUserId,
    serverName: policy.serverName,
    levels: new ManagedLevelsIndex(snapshot),
    currentPowerLevels: async (roomId) => {
      reads.push(roomId);
      return { users: { '@alice:hs': 100 }, usersDefault: 0, thresholds: { kick: 50, ban: 50, invite: 0, powerLevels: 50 }, creators: new Set() };
    },
  };
}

t.test('in a managed room the current levels are read, even for a request that matches the policy', async (t) => {
  const reads: string[] = [];
  t.same(await roomStatePowerLevels.check(input({ users: { '@alice:hs': 50 } }, reads)), { allow: true });
  t.same(reads, ['!managed:hs']);
});

t.test('the current levels are read once, for the request room', async (t) => {
  const reads: string[] = [];
  t.same(await roomStatePowerLevels.check(input({ users: { '@alice:hs': 100 } }, reads)), { allow: true }, 'unchanged drift');
  t.same(await roomStatePowerLevels.check(input({ users: { '@alice:hs': 75 } }, reads)), DECISIONS.powerLevels);
  t.same(reads, ['!managed:hs', '!managed:hs']);
});
