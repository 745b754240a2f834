import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import type { Planner } from '../../../../src/control/loop/planner.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import type { SnapshotUser } from '../../../../src/policy/snapshot.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import { captureLogger, waitFor } from '../../../support/control-plane.js';
import { scriptedLoop } from '../fixtures/scripted-loop.js';
import { json, startScriptedServer } from '../fixtures/scripted-server.js';

/**
 * The loop waits, before the first run of each new policy generation, until the gateway threads
 * enforce it (`gatewayCaughtUp`): a lock's delayed-event cancellation must not run while a thread
 * on the old policy could still let the user schedule one (red team 23, F2).
 */

const server = await startScriptedServer(json(200, { users: [], total: 0 }));
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 4, logger: createSilentLogger() });
t.teardown(() => http.close());

const alice: SnapshotUser = {
  id: '@alice:example.com', active: false, authType: 'plain', authCredential: 'x', displayName: '', avatarUri: '', joinedRooms: new Map(),
  powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
};
const policy = (generation: number) => ({ ...fixtureSnapshot({ users: [alice], managedRoomIds: [] }), generation });
const planner: Planner = () => ({ actions: [], warnings: [], skippedRooms: [] });

/** A `gatewayCaughtUp` the test answers: each call waits for `answer(result)`. */
function heldGateway() {
  const asked: number[] = [];
  const signals: AbortSignal[] = [];
  let pending: ((caughtUp: boolean) => void) | null = null;
  return {
    asked,
    signals,
    waiting: () => pending !== null,
    answer(caughtUp: boolean) {
      const resolve = pending!;
      pending = null;
      resolve(caughtUp);
    },
    gatewayCaughtUp: (generation: number, signal: AbortSignal) => {
      asked.push(generation);
      signals.push(signal);
      return new Promise<boolean>((resolve) => {
        pending = resolve;
      });
    },
  };
}

t.test('nothing reaches Synapse before the gateway enforces the new generation; each generation is waited for once', async (t) => {
  server.requests.length = 0;
  const gateway = heldGateway();
  const loop = scriptedLoop(http, planner, { retryMs: 60_000, gatewayCaughtUp: gateway.gatewayCaughtUp });
  t.teardown(() => loop.stop());
  loop.onPolicy(policy(3), 'all');
  await waitFor('the wait', gateway.waiting, 5_000);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(server.requests.length, 0, 'no request while the gateway has not confirmed');
  gateway.answer(true);
  await loop.idle();
  t.ok(server.requests.length > 0, 'the run observes once it has');
  t.same(gateway.asked, [3]);

  loop.trigger();
  await loop.idle();
  t.same(gateway.asked, [3], 'another run of the same generation does not wait');

  loop.onPolicy(policy(4), 'all');
  await waitFor('the wait for generation 4', gateway.waiting, 5_000);
  gateway.answer(true);
  await loop.idle();
  t.same(gateway.asked, [3, 4]);
});

t.test('when the gateway does not confirm, the run goes on, with a warning', async (t) => {
  const { logger, lines } = captureLogger('info');
  const gateway = heldGateway();
  const loop = scriptedLoop(http, planner, { retryMs: 60_000, gatewayCaughtUp: gateway.gatewayCaughtUp, logger });
  t.teardown(() => loop.stop());
  loop.onPolicy(policy(7), 'all');
  await waitFor('the wait', gateway.waiting, 5_000);
  gateway.answer(false);
  await loop.idle();
  t.equal(loop.status().lastRun?.outcome, 'completed', 'the run completed');
  t.match(lines.find((line) => String(line['msg']).startsWith('the gateway threads do not confirm')), { level: 40, generation: 7 });
});

t.test('stopping the loop ends a wait for the gateway', async (t) => {
  server.requests.length = 0;
  const gateway = heldGateway();
  const loop = scriptedLoop(http, planner, { retryMs: 60_000, gatewayCaughtUp: gateway.gatewayCaughtUp });
  loop.onPolicy(policy(9), 'all');
  await waitFor('the wait', gateway.waiting, 5_000);
  t.equal(gateway.signals[0]?.aborted, false, 'the wait is not aborted while it lasts');
  await loop.stop();
  t.equal(loop.status().running, false, 'stopped while the gateway never answered');
  t.equal(gateway.signals[0]?.aborted, true, 'the questions to the gateway are told to stop');
  t.equal(server.requests.length, 0, 'and nothing reached Synapse');
});
