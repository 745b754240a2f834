import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import type { ReconcileLoop } from '../../../../src/control/loop/reconcile-loop.js';
import type { Planner } from '../../../../src/control/loop/planner.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import { captureLogger, waitFor } from '../../../support/control-plane.js';
import { scriptedLoop } from '../fixtures/scripted-loop.js';
import { json, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

/**
 * The loop around `room.corporal_join`: the pass that joins plans nothing else in the room, so a
 * successful join is followed at once by one more full pass (and only one); a join that failed for
 * a reason that may pass is retried as a failed pass is, a refused one waits for the next full pass.
 */

const ROOM = '!r:example.com';
const OTHER_ROOM = '!s:example.com';
const joinPath = (roomId: string): string => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`;
const JOIN_PATH = joinPath(ROOM);

let joinStatus = 200;
/** Accounts: none; the room's state: empty; the join: `joinStatus`. */
const synapse: Script = (req, res) => {
  if (req.url.split('?')[0] === '/_synapse/admin/v2/users') return json(200, { users: [], total: 0 })(req, res);
  if (req.url.startsWith('/_synapse/admin/v1/rooms/')) return json(200, { state: [] })(req, res);
  if (req.url === JOIN_PATH || req.url === joinPath(OTHER_ROOM)) return json(joinStatus, joinStatus === 200 ? { room_id: ROOM } : { errcode: 'M_FORBIDDEN', error: 'not invited' })(req, res);
  json(500, { errcode: 'M_UNKNOWN', error: 'unexpected' })(req, res);
};
const server = await startScriptedServer(synapse);
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 4, logger: createSilentLogger() });
t.teardown(() => http.close());

/** Plans the corporal user's joins of the rooms `invited(pass)` names on full pass `pass` (1-based); counts full passes. */
function scriptedPlanner(invited: (pass: number) => string[]): { planner: Planner; fullPasses: () => number } {
  let passes = 0;
  const planner: Planner = (_observed, _policy, options) => {
    if (options.users !== undefined && options.users !== null) return { actions: [], warnings: [], skippedRooms: [] };
    passes += 1;
    return { actions: invited(passes).map((roomId) => ({ type: 'room.corporal_join', roomId })), warnings: [], skippedRooms: [] };
  };
  return { planner, fullPasses: () => passes };
}

function newLoop(planner: Planner): ReconcileLoop {
  const loop = scriptedLoop(http, planner);
  t.teardown(() => loop.stop());
  return loop;
}

const joins = (): number => server.requests.filter((r) => r.url === JOIN_PATH).length;

t.test('a successful join is followed at once by a full pass that plans the room', async (t) => {
  server.requests.length = 0;
  joinStatus = 200;
  // After the join, Synapse shows the corporal user joined: no invitation from the second pass on.
  const { planner, fullPasses } = scriptedPlanner((pass) => (pass === 1 ? [ROOM] : []));
  const loop = newLoop(planner);
  loop.onPolicy(fixtureSnapshot({ users: [], managedRoomIds: [ROOM] }), 'all');
  await loop.idle();
  t.equal(joins(), 1, 'the corporal user joined once, as itself');
  t.equal(server.requests.find((r) => r.url === JOIN_PATH)?.authorization, 'Bearer admin-token');
  t.equal(fullPasses(), 2, 'the pass that joined, then the follow-up');
  t.match(loop.status().lastFullRun, { outcome: 'completed', actionsPlanned: 0 });
  t.same(loop.status().retries, [], 'nothing to retry');
});

t.test('a join that never shows does not loop; a room first joined by a follow-up gets its own', async (t) => {
  server.requests.length = 0;
  joinStatus = 200;
  // ROOM still shows an invitation after every join; OTHER_ROOM's invitation arrives during the first follow-up.
  const { planner, fullPasses } = scriptedPlanner((pass) => (pass === 2 ? [ROOM, OTHER_ROOM] : [ROOM]));
  const loop = newLoop(planner);
  loop.onPolicy(fixtureSnapshot({ users: [], managedRoomIds: [ROOM, OTHER_ROOM] }), 'all');
  await loop.idle();
  t.equal(fullPasses(), 3, 'the pass that joined ROOM; its follow-up, which also joined OTHER_ROOM; the follow-up for OTHER_ROOM only');
  t.equal(joins(), 3, 'ROOM joined on every pass');
  t.equal(server.requests.filter((r) => r.url === joinPath(OTHER_ROOM)).length, 1);
  loop.trigger();
  await loop.idle();
  t.equal(fullPasses(), 4, 'a later pass that joins ROOM again, as the pass before it did, is followed by nothing');
});

t.test('invitations that keep alternating between rooms chain at most three follow-ups', async (t) => {
  server.requests.length = 0;
  joinStatus = 200;
  const { planner, fullPasses } = scriptedPlanner((pass) => (pass % 2 === 1 ? [ROOM] : [OTHER_ROOM]));
  const loop = newLoop(planner);
  loop.onPolicy(fixtureSnapshot({ users: [], managedRoomIds: [ROOM, OTHER_ROOM] }), 'all');
  await loop.idle();
  t.equal(fullPasses(), 4, 'the first pass and three follow-ups; the fourth join waits for the next pass');
});

t.test('a join that failed for a reason that may pass (a 503) is retried as a failed pass', async (t) => {
  server.requests.length = 0;
  joinStatus = 503;
  const { planner, fullPasses } = scriptedPlanner(() => [ROOM]);
  const loop = newLoop(planner);
  loop.onPolicy(fixtureSnapshot({ users: [], managedRoomIds: [ROOM] }), 'all');
  await loop.idle();
  t.equal(fullPasses(), 1, 'no follow-up after a failure');
  t.match(loop.status().lastFullRun, { outcome: 'completed', actionsFailed: 1, failures: [{ actionType: 'room.corporal_join', roomId: ROOM }] });
  t.notOk('retryable' in (loop.status().lastFullRun?.failures[0] ?? {}), '/status shows the failure as before');
  t.match(loop.status().retries, [{ attempt: 1 }], 'the pass is retried');
  t.notOk(loop.status().retries[0]?.roomId ?? loop.status().retries[0]?.userId, 'as a whole pass');
  joinStatus = 200;
  await waitFor('the retried pass and its follow-up', () => fullPasses() === 3);
  await loop.idle();
  t.same(loop.status().retries, [], 'the retried pass joined: nothing left to retry');
});

t.test('a join Synapse refuses (a 403) schedules no retry: the next full pass tries again (review 20, finding 4)', async (t) => {
  server.requests.length = 0;
  joinStatus = 403;
  // Joined once the second pass's join succeeds: no invitation from the third pass on.
  const { planner, fullPasses } = scriptedPlanner((pass) => (pass <= 2 ? [ROOM] : []));
  const captured = captureLogger('warn');
  const loop = scriptedLoop(http, planner, { logger: captured.logger });
  t.teardown(() => loop.stop());
  loop.onPolicy(fixtureSnapshot({ users: [], managedRoomIds: [ROOM] }), 'all');
  await loop.idle();
  t.equal(fullPasses(), 1);
  t.match(loop.status().lastFullRun, { outcome: 'completed', actionsFailed: 1, failures: [{ actionType: 'room.corporal_join', roomId: ROOM, error: /403 M_FORBIDDEN/ }] });
  t.same(loop.status().retries, [], 'no retry: a pass every few minutes would not get a blocked room joined');
  const refused = captured.lines.find((line) => typeof line.msg === 'string' && line.msg.startsWith("Synapse refused the corporal user's join"));
  t.match(refused, { rooms: [ROOM], msg: /no resync is configured/ }, 'the operator is told the room stays unplanned, and when it is tried again');
  joinStatus = 200;
  loop.trigger();
  await loop.idle();
  t.equal(fullPasses(), 3, 'the next full pass joins, and its follow-up plans the room');
  t.equal(joins(), 2, 'the refused join and the one the next full pass made');
});
