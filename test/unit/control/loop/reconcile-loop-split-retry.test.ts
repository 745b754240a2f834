import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import type { Action } from '../../../../src/control/actions.js';
import type { Planner } from '../../../../src/control/loop/planner.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import type { PolicySnapshot, SnapshotUser } from '../../../../src/policy/snapshot.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import { waitFor } from '../../../support/control-plane.js';
import { scriptedLoop } from '../fixtures/scripted-loop.js';
import { json, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

/**
 * A room's retry runs through all the users its failed action listed. When a newer policy defers
 * one of them during that run, the retry is settled by a run over all of them again, not left
 * queued ("due now" in `/status`) until a full pass (verification 16, #1).
 */

const ROOM = '!r:example.com';
const A = '@a:example.com';
const B = '@b:example.com';
let levelsFail = true;
/** A's display-name PUTs wait for the test while true. */
let holdA = false;
const held: (() => void)[] = [];

/** No accounts; the room's power-levels write fails while `levelsFail`; A's display-name PUTs are held while `holdA`. */
const synapse: Script = (req, res) => {
  const path = req.url.split('?')[0] ?? '';
  if (path === '/_synapse/admin/v2/users') return json(200, { users: [], total: 0 })(req, res);
  if (path.includes('/state/m.room.power_levels')) {
    if (req.method === 'GET') return json(200, { users: {} })(req, res);
    return levelsFail ? json(500, { errcode: 'M_UNKNOWN', error: 'boom' })(req, res) : json(200, { event_id: '$levels' })(req, res);
  }
  if (req.method === 'PUT' && path.startsWith('/_synapse/admin/v2/users/')) {
    const userId = decodeURIComponent(path.split('/').at(-1) ?? '');
    const answer = (): void => json(200, { name: userId })(req, res);
    if (userId === A && holdA) held.push(answer);
    else answer();
    return;
  }
  json(404, { errcode: 'M_NOT_FOUND', error: 'not found' })(req, res);
};
const server = await startScriptedServer(synapse);
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 8, logger: createSilentLogger() });
t.teardown(() => http.close());

/** Full pass: the room's levels for A and B. A users run: two name changes for A, and B's level only (A's is right by then). */
const planner: Planner = (_observed, policy, options) => {
  if (!options.users) return { actions: [{ type: 'room.users_set_power_levels', roomId: ROOM, levels: { [A]: 50, [B]: 50 } }], warnings: [], skippedRooms: [] };
  const actions: Action[] = [];
  if (options.users.has(A)) {
    actions.push({ type: 'user.set_display_name', userId: A, displayName: `one g${policy.generation}` });
    actions.push({ type: 'user.set_display_name', userId: A, displayName: `two g${policy.generation}` });
  }
  if (options.users.has(B)) actions.push({ type: 'room.users_set_power_levels', roomId: ROOM, levels: { [B]: 50 } });
  return { actions, warnings: [], skippedRooms: [] };
};

function snapshot(generation: number, nameOfA: string): PolicySnapshot {
  const users = [A, B].map((id): SnapshotUser => ({
    id, active: true, authType: 'plain', authCredential: 'x', displayName: id === A ? nameOfA : id, avatarUri: '', joinedRooms: new Map([[ROOM, 50]]),
    powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
  }));
  return { ...fixtureSnapshot({ users, managedRoomIds: [ROOM] }), generation };
}

t.test('a room retry split by a deferral is settled by a run over all its users', async (t) => {
  const loop = scriptedLoop(http, planner);
  t.teardown(() => loop.stop());
  loop.onPolicy(snapshot(1, 'A'), 'all');
  await loop.idle();
  t.equal(loop.status().lastRun?.actionsFailed, 1, 'the full pass: the room\'s levels failed');
  levelsFail = false;
  holdA = true;
  // The retry run over A and B starts A's first action (held); then a newer policy changes A.
  await waitFor('A\'s first action', () => held.length > 0);
  loop.onPolicy(snapshot(2, 'A2'), new Set([A]));
  holdA = false;
  for (const answer of held.splice(0)) answer();
  await loop.idle();
  t.same(loop.status().retries, [], 'nothing left queued or pending');
});
