import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import type { ReconcileLoop } from '../../../../src/control/loop/reconcile-loop.js';
import type { Planner } from '../../../../src/control/loop/planner.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import type { SnapshotUser } from '../../../../src/policy/snapshot.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import { captureLogger, waitFor } from '../../../support/control-plane.js';
import { scriptedLoop } from '../fixtures/scripted-loop.js';
import { json, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

/**
 * A room's retry runs through the users its failed action listed; when that run fails before it
 * plans (the accounts cannot be read), the room's retry is scheduled again, not left queued for
 * ever (quality review 16, #4).
 */

const ROOM = '!r:example.com';
const USERS = ['@a:example.com', '@b:example.com'];

let roomStateStatus = 404;
let accountDataStatus: number | null = null;

/**
 * Account listing finds nobody; a room's state answers `roomStateStatus`; everything else (single-account
 * look-ups, the room's power levels) fails with 500.
 */
const synapse: Script = (req, res) => {
  if (req.url.split('?')[0] === '/_synapse/admin/v2/users') return json(200, { users: [], total: 0 })(req, res);
  if (accountDataStatus !== null) {
    // The account-data test: @a exists, is in no room, and its account data answers accountDataStatus.
    if (req.url === '/_synapse/admin/v2/users/%40a%3Aexample.com') return json(200, { name: USERS[0] })(req, res);
    if (req.url.endsWith('/joined_rooms')) return json(200, { joined_rooms: [] })(req, res);
    if (req.url.endsWith('/accountdata')) return json(accountDataStatus, { errcode: 'M_UNKNOWN', error: 'account data' })(req, res);
  }
  if (req.url.startsWith('/_synapse/admin/v1/rooms/')) return json(roomStateStatus, { errcode: 'M_UNKNOWN', error: 'room state' })(req, res);
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

function newLoop(planned: Planner): ReconcileLoop {
  return scriptedLoop(http, planned);
}

t.test('a room retry whose run fails at observation is scheduled again', async (t) => {
  roomStateStatus = 404; // unreadable for good: no retry of its own
  const loop = newLoop(planner);
  t.teardown(() => loop.stop());
  const users = USERS.map((id): SnapshotUser => ({
    id, active: true, authType: 'plain', authCredential: 'x', displayName: '', avatarUri: '', joinedRooms: new Map([[ROOM, 50]]),
    powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
  }));
  loop.onPolicy(fixtureSnapshot({ users, managedRoomIds: [ROOM] }), 'all');
  await loop.idle();
  t.equal(loop.status().lastRun?.actionsFailed, 1, 'the full pass: the room\'s power levels failed');
  await waitFor('the retry run', () => loop.status().lastRun?.kind === 'users');
  const status = loop.status();
  t.equal(status.lastRun?.outcome, 'failed', 'the retry run could not observe the accounts');
  const room = status.retries.find((retry) => retry.roomId === ROOM);
  t.equal(room?.attempt, 2, 'the room\'s retry counts the failed run, and falls due again (a queued one would still be at its first)');
});

t.test('a managed room skipped for a failure that may pass is retried; one skipped for good is not (quality review 16, #3)', async (t) => {
  const nothing: Planner = () => ({ actions: [], warnings: [], skippedRooms: [] });
  for (const [status, retried] of [[500, true], [404, false]] as const) {
    roomStateStatus = status;
    const loop = newLoop(nothing);
    loop.onPolicy(fixtureSnapshot({ users: [], managedRoomIds: [ROOM] }), 'all');
    await loop.idle();
    t.equal(loop.status().lastRun?.outcome, 'completed', `HTTP ${status}: the pass completes without the room`);
    t.equal(loop.status().retries.some((retry) => retry.userId === undefined && retry.roomId === undefined), retried, `HTTP ${status}: a full pass is ${retried ? '' : 'not '}retried`);
    await loop.stop();
  }
});

t.test('account data unreadable for a failure that may pass: the user is retried', async (t) => {
  const nothing: Planner = () => ({ actions: [], warnings: [], skippedRooms: [] });
  t.teardown(() => {
    accountDataStatus = null;
  });
  const user: SnapshotUser = {
    id: USERS[0]!, active: true, authType: 'plain', authCredential: 'x', displayName: '', avatarUri: '', joinedRooms: new Map(),
    powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
  };
  for (const [status, retried] of [[503, true], [413, false]] as const) {
    accountDataStatus = status;
    const loop = newLoop(nothing);
    const policy = fixtureSnapshot({ users: [user], managedRoomIds: [] });
    loop.onPolicy(policy, 'all');
    await loop.idle();
    loop.onPolicy({ ...policy, generation: 2 }, new Set([USERS[0]!])); // a run over @a alone looks the account up
    await loop.idle();
    t.equal(loop.status().lastRun?.kind, 'users');
    t.equal(loop.status().lastRun?.outcome, 'completed', `HTTP ${status}: the run completes without the account data`);
    t.equal(loop.status().retries.some((retry) => retry.userId === USERS[0]), retried, `HTTP ${status}: the user is ${retried ? '' : 'not '}retried`);
    await loop.stop();
  }
});

t.test('the run-finished line counts the skipped managed rooms and the warnings (operator review 22, #2)', async (t) => {
  roomStateStatus = 404;
  const skipping: Planner = () => ({
    actions: [],
    warnings: [{ code: 'plan.room_not_managed', userId: USERS[0]!, roomId: '!x:example.com', message: 'not managed' }],
    skippedRooms: [{ roomId: ROOM, reason: 'room state could not be read' }],
  });
  const captured = captureLogger('info');
  const loop = scriptedLoop(http, skipping, { logger: captured.logger });
  t.teardown(() => loop.stop());
  loop.onPolicy(fixtureSnapshot({ users: [], managedRoomIds: [ROOM] }), 'all');
  await loop.idle();
  t.match(captured.lines.find((line) => line.msg === 'reconciliation run finished'), { outcome: 'completed', failed: 0, skippedRooms: 1, warnings: 1 });
});
