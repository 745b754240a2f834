import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import type { ReconciliationConfig } from '../../../../src/common/config/types.js';
import { ReconcileLoop } from '../../../../src/control/loop/reconcile-loop.js';
import type { Planner } from '../../../../src/control/loop/planner.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import type { SnapshotUser } from '../../../../src/policy/snapshot.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import { scriptedApplyContext } from '../fixtures/apply-context.js';
import { json, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

/**
 * A room's retry runs through the users its failed action listed; when that run fails before it
 * plans (the accounts cannot be read), the room's retry is scheduled again, not left queued for
 * ever (quality review 16, #4).
 */

const ROOM = '!r:example.com';
const USERS = ['@a:example.com', '@b:example.com'];

/** Account listing finds nobody; single-account look-ups fail (500); the room's power levels cannot be read (500). */
const synapse: Script = (req, res) => {
  if (req.url.split('?')[0] === '/_synapse/admin/v2/users') return json(200, { users: [], total: 0 })(req, res);
  json(500, { errcode: 'M_UNKNOWN', error: 'boom' })(req, res);
};
const server = await startScriptedServer(synapse);
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 4, logger: createSilentLogger() });
t.teardown(() => http.close());

/** Always the one power-level action in the room, for the users in scope. */
const planner: Planner = (_observed, _policy, options) => ({
  actions: [{ type: 'room.users_set_power_levels', roomId: ROOM, levels: Object.fromEntries(USERS.filter((id) => !options.users || options.users.has(id)).map((id) => [id, 50])) }],
  warnings: [],
  skippedRooms: [],
});

t.test('a room retry whose run fails at observation is scheduled again', async (t) => {
  const loop = new ReconcileLoop({
    ctx: scriptedApplyContext(http),
    reconciliation: { RetryIntervalMilliseconds: 100, RetryMaxIntervalMilliseconds: 60_000, Concurrency: 2, ResyncIntervalMilliseconds: 0, DeactivatedDisplayNameMarker: false } as ReconciliationConfig,
    authSharedSecret: 'secret',
    actionTimeoutMs: 5_000,
    planner,
    logger: createSilentLogger(),
    random: () => 1,
  });
  t.teardown(() => loop.stop());
  const users = USERS.map((id): SnapshotUser => ({
    id, active: true, authType: 'plain', authCredential: 'x', displayName: '', avatarUri: '', joinedRooms: new Map([[ROOM, 50]]),
    powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
  }));
  loop.onPolicy(fixtureSnapshot({ users, managedRoomIds: [ROOM] }), 'all');
  await loop.idle();
  t.equal(loop.status().lastRun?.actionsFailed, 1, 'the full pass: the room\'s power levels failed');
  while (loop.status().lastRun?.kind !== 'users') await new Promise((resolve) => setTimeout(resolve, 20));
  const status = loop.status();
  t.equal(status.lastRun?.outcome, 'failed', 'the retry run could not observe the accounts');
  const now = Date.now();
  const room = status.retries.find((retry) => retry.roomId === ROOM);
  t.equal(room?.attempt, 2, 'the room\'s retry counts the failed run');
  t.ok((room?.dueAt ?? 0) > now, `and falls due again later (due in ${(room?.dueAt ?? 0) - now} ms)`);
});
