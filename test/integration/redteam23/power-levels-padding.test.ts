import t from 'tap';
import { createSilentLogger } from '../../../src/common/logger.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { matrixCall } from '../../support/matrix-client.js';
import { startFirewallScenario } from '../../support/firewall-scenario.js';
import { reconcilerConfig, snapshot } from '../control/fixtures/reconciler.js';

/**
 * Red team 23, F3: a room admin of a managed room (bob, level 100, unmanaged) pads the room's
 * `m.room.power_levels` with a field of his own until the event is at Synapse's 64 KiB bound. The
 * gateway allows it (no managed user's level moves, the corporal user keeps its power). The
 * reconciler writes levels by merging its entries into the current content, so every write that
 * makes the event longer — a promotion (`50` → `100`), a newly listed user's entry — is refused by
 * Synapse as too large, for as long as the padding stays: the policy's levels are never applied.
 */

const scenario = await startFirewallScenario();
t.teardown(() => scenario.stop());
const { hs, users, rooms } = scenario;
const admin = hs.admin.accessToken;
const reconciler = await startReconciler({ config: reconcilerConfig(hs, { corporal: { AccessToken: admin } }), logger: createSilentLogger() });
t.teardown(() => reconciler.close());
const { loop } = reconciler;
const roomPath = `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.managed)}`;

async function currentLevels(): Promise<Record<string, unknown>> {
  return matrixCall<Record<string, unknown>>(hs.baseUrl, 'GET', `${roomPath}/state/m.room.power_levels/`, { token: admin });
}

t.test('a padded power-levels event keeps the policy from promoting a listed user', async (t) => {
  const base = await currentLevels();
  // The longest padding accepted, found by bisection through the gateway, as bob.
  const put = (padBytes: number) => scenario.viaGateway('bob', 'PUT', `${roomPath}/state/m.room.power_levels/`, { ...base, 'org.example.pad': 'x'.repeat(padBytes) });
  let fits = 0;
  let tooLarge = 65_536;
  while (tooLarge - fits > 1) {
    const middle = Math.floor((fits + tooLarge) / 2);
    const answer = await put(middle);
    if (answer.status === 200) fits = middle;
    else if (answer.status === 413 || answer.status === 403) tooLarge = middle; // Synapse's size bound, or the gateway's
    else throw new Error(`unexpected answer ${answer.status}: ${answer.text}`);
  }
  t.equal((await put(fits)).status, 200, `bob pads the event with ${fits} bytes through the gateway`);

  // The policy promotes alice (listed at 50) to 100.
  const policyUsers = [
    { id: users.alice.userId, authType: 'passthrough' as const, joinedRooms: [[rooms.managed, 100]] as [string, number][] },
    { id: users.pat.userId, authType: 'passthrough' as const, joinedRooms: [[rooms.managed, 0]] as [string, number][] },
  ];
  loop.onPolicy(snapshot(1, [rooms.managed], policyUsers), 'all');
  await loop.idle();
  t.comment(`failures of the run: ${JSON.stringify(loop.status().lastRun?.failures.map((f) => [f.actionType, f.code]))}`);
  const levels = (await currentLevels())['users'] as Record<string, unknown>;
  t.equal(levels[users.alice.userId], 100, 'alice has the level the policy gives her');
});
