import t from 'tap';
import type { ReconcileLoop } from '../../../../src/control/loop/reconcile-loop.js';
import type { Planner } from '../../../../src/control/loop/planner.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import type { SnapshotUser } from '../../../../src/policy/snapshot.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import { captureLogger, waitFor } from '../../../support/control-plane.js';
import { scriptedLoop } from '../fixtures/scripted-loop.js';
import { json, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

/**
 * A pass that failed while Synapse was down is retried as soon as Synapse answers again, not at
 * the end of a backoff that grew during the outage (soak review 18, S2).
 */

const RETRY_MS = 40;

/** What Synapse answers: `down` → 502 for everything; `refusing` → up, but every admin call fails with 500. */
let mode: 'down' | 'up' | 'refusing' = 'up';

const synapse: Script = (req, res) => {
  if (mode === 'down') return json(502, { errcode: 'M_UNKNOWN', error: 'Bad gateway' })(req, res);
  if (req.url === '/_matrix/client/versions') return json(200, { versions: ['v1.11'] })(req, res);
  if (mode === 'refusing') return json(500, { errcode: 'M_UNKNOWN', error: 'boom' })(req, res);
  if (req.url.split('?')[0] === '/_synapse/admin/v2/users') return json(200, { users: [], total: 0 })(req, res);
  json(404, { errcode: 'M_NOT_FOUND', error: 'User not found' })(req, res);
};
const server = await startScriptedServer(synapse);
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 4, logger: captureLogger().logger });
t.teardown(() => http.close());

/** Plans nothing: a run completes once it could observe. */
const planner: Planner = () => ({ actions: [], warnings: [], skippedRooms: [] });

const users: SnapshotUser[] = [{
  id: '@a:example.com', active: true, authType: 'plain', authCredential: 'x', displayName: '', avatarUri: '', joinedRooms: new Map(),
  powerLevelsManaged: false, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
}];

function newLoop() {
  const { logger, lines } = captureLogger('info');
  const loop = scriptedLoop(http, planner, { retryMs: RETRY_MS, retryMaxMs: 600_000, logger });
  return { loop, lines };
}

/** The due time of the pass's retry, once it waits more than `ms` from now. */
async function retryWaitingLongerThan(loop: ReconcileLoop, ms: number): Promise<number> {
  let dueAt = 0;
  await waitFor(`a retry waiting more than ${ms} ms`, () => {
    dueAt = loop.status().retries[0]?.dueAt ?? 0;
    return dueAt - Date.now() > ms;
  });
  return dueAt;
}

t.test('Synapse down, then back: the waiting retry runs at once', async (t) => {
  const { loop, lines } = newLoop();
  t.teardown(() => loop.stop());
  mode = 'down';
  loop.onPolicy(fixtureSnapshot({ users, managedRoomIds: [] }), 'all');
  const dueAt = await retryWaitingLongerThan(loop, 2_000);
  t.equal(loop.status().lastRun?.outcome, 'failed');
  mode = 'up';
  await waitFor('the retried pass', () => loop.status().lastRun?.outcome === 'completed');
  t.ok(Date.now() < dueAt, 'before the backoff ran out');
  t.same(loop.status().retries, [], 'nothing left to retry');
  t.match(lines.filter((line) => line['msg'] === 'Synapse answers again; retrying the failed reconciliation now'), [{ retries: 1 }], 'said once');
});

t.test('Synapse answering but refusing: the backoff stands', async (t) => {
  const { loop } = newLoop();
  t.teardown(() => loop.stop());
  mode = 'refusing';
  loop.onPolicy(fixtureSnapshot({ users, managedRoomIds: [] }), 'all');
  const dueAt = await retryWaitingLongerThan(loop, 1_000);
  const runs = server.requests.length;
  await waitFor('probes', () => server.requests.slice(runs).filter((req) => req.url === '/_matrix/client/versions').length >= 3);
  t.equal(loop.status().retries[0]?.dueAt, dueAt, 'the retry keeps its due time');
  t.equal(server.requests.slice(runs).filter((req) => req.url !== '/_matrix/client/versions').length, 0, 'no run meanwhile');
});
