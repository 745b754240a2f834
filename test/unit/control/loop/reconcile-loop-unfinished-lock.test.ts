import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import type { Planner } from '../../../../src/control/loop/planner.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import type { SnapshotUser } from '../../../../src/policy/snapshot.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import { captureLogger, waitFor } from '../../../support/control-plane.js';
import { scriptedLoop } from '../fixtures/scripted-loop.js';
import { json, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

/**
 * The reconciler's follow-up of a lock that could not cancel the user's delayed events
 * (`user.finish_lock`) is tried a bounded number of times: each attempt unlocks the
 * account for a moment, and a user can make every attempt fail (red team 23, F1).
 */

const ALICE = '@alice:example.com';
const ALICE_PATH = '%40alice%3Aexample.com';
let delayedEventsStatus = 500;

/** Alice exists and is in no room; her delayed events answer `delayedEventsStatus`; everything else succeeds. */
const synapse: Script = (req, res) => {
  const path = req.url.split('?')[0]!;
  if (path === '/_synapse/admin/v2/users') return json(200, { users: [{ name: ALICE, locked: true }], total: 1 })(req, res);
  if (path === `/_synapse/admin/v2/users/${ALICE_PATH}`) return json(200, { name: ALICE, locked: true })(req, res);
  if (path.endsWith('/joined_rooms')) return json(200, { joined_rooms: [] })(req, res);
  if (path.endsWith('/accountdata')) return json(200, { account_data: { global: {}, rooms: {} } })(req, res);
  if (path.endsWith('/login')) return json(200, { access_token: 'user-token' })(req, res);
  if (path.endsWith('/devices')) return json(200, { devices: [] })(req, res);
  if (path.startsWith('/_matrix/client/unstable/org.matrix.msc4140/delayed_events')) {
    return (delayedEventsStatus === 200 ? json(200, { delayed_events: [] }) : json(delayedEventsStatus, { errcode: 'M_UNKNOWN', error: 'busy' }))(req, res);
  }
  json(200, {})(req, res);
};
const server = await startScriptedServer(synapse);
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 4, logger: createSilentLogger() });
t.teardown(() => http.close());

const alice: SnapshotUser = {
  id: ALICE, active: false, authType: 'plain', authCredential: 'x', displayName: '', avatarUri: '', joinedRooms: new Map(),
  powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
};

/** The lock on the first run; then, as the real planner does, the follow-up while the loop remembers her. */
function lockingPlanner(): { planner: Planner; followUps: () => number } {
  let runs = 0;
  let followUps = 0;
  const planner: Planner = (_observed, _policy, options) => {
    runs++;
    if (runs === 1) return { actions: [{ type: 'user.deactivate', userId: ALICE }], warnings: [], skippedRooms: [] };
    if (options.locksUnfinished?.has(ALICE) !== true) return { actions: [], warnings: [], skippedRooms: [] };
    followUps++;
    return { actions: [{ type: 'user.finish_lock', userId: ALICE }], warnings: [], skippedRooms: [] };
  };
  return { planner, followUps: () => followUps };
}

const unlocks = (): number => server.requests.filter((r) => r.method === 'PUT' && JSON.parse(r.body || '{}').locked === false).length;

t.test('a follow-up that keeps failing is given up after five attempts, with an error', async (t) => {
  delayedEventsStatus = 500;
  server.requests.length = 0;
  const { logger, lines } = captureLogger('info');
  const { planner, followUps } = lockingPlanner();
  const loop = scriptedLoop(http, planner, { retryMs: 20, retryMaxMs: 40, logger });
  t.teardown(() => loop.stop());
  loop.onPolicy(fixtureSnapshot({ users: [alice], managedRoomIds: [] }), 'all');
  await waitFor('the give-up', () => lines.some((line) => String(line['msg']).startsWith('gave up finishing the lock')), 10_000);
  await waitFor('the retries to settle', () => loop.status().retries.length === 0 && !loop.status().running, 10_000);
  t.equal(followUps(), 5, 'five follow-ups were planned');
  t.equal(unlocks(), 5, 'the account was unlocked five times, and not again');
  t.match(lines.find((line) => String(line['msg']).startsWith('gave up')), { level: 50, userId: ALICE, attempts: 5 });
  const last = server.requests.filter((r) => r.method === 'PUT').at(-1);
  t.same(JSON.parse(last?.body ?? '{}'), { locked: true }, 'the last word is the lock');
});

t.test('a follow-up that succeeds ends them', async (t) => {
  delayedEventsStatus = 500;
  server.requests.length = 0;
  const { planner, followUps } = lockingPlanner();
  const loop = scriptedLoop(http, planner, { retryMs: 20, retryMaxMs: 40 });
  t.teardown(() => loop.stop());
  loop.onPolicy(fixtureSnapshot({ users: [alice], managedRoomIds: [] }), 'all');
  await loop.idle();
  t.equal(loop.status().lastRun?.failures[0]?.code, 'CORP_ERR_DELAYED_EVENTS_NOT_CANCELLED');
  delayedEventsStatus = 200;
  await waitFor('the retries to settle', () => loop.status().retries.length === 0 && !loop.status().running, 10_000);
  t.equal(followUps(), 1, 'one follow-up, which succeeded');
  loop.trigger();
  await loop.idle();
  t.equal(followUps(), 1, 'none after it');
});

/** A store in memory that can be made to fail, and counts its saves. */
function memoryStore(initial: Record<string, number> = {}) {
  const store = {
    saved: new Map(Object.entries(initial)),
    saves: 0,
    failLoad: false,
    failSave: false,
    async load() {
      if (store.failLoad) throw new Error('Synapse is down');
      return new Map(store.saved);
    },
    async save(entries: ReadonlyMap<string, number>) {
      if (store.failSave) throw new Error('Synapse is down');
      store.saves++;
      store.saved = new Map(entries);
    },
  };
  return store;
}

/** Plans the follow-up whenever the loop remembers alice (as the real planner does while she stays locked and inactive). */
function followUpPlanner(): { planner: Planner; followUps: () => number } {
  let followUps = 0;
  const planner: Planner = (_observed, _policy, options) => {
    if (options.locksUnfinished?.has(ALICE) !== true) return { actions: [], warnings: [], skippedRooms: [] };
    followUps++;
    return { actions: [{ type: 'user.finish_lock', userId: ALICE }], warnings: [], skippedRooms: [] };
  };
  return { planner, followUps: () => followUps };
}

t.test('an unfinished lock is saved, and a new loop (a restart) resumes it from the record', async (t) => {
  delayedEventsStatus = 500;
  const store = memoryStore();
  const first = lockingPlanner();
  const before = scriptedLoop(http, first.planner, { retryMs: 60_000, unfinishedLocks: store });
  t.teardown(() => before.stop());
  before.onPolicy(fixtureSnapshot({ users: [alice], managedRoomIds: [] }), 'all');
  await before.idle();
  t.equal(before.status().lastRun?.failures[0]?.code, 'CORP_ERR_DELAYED_EVENTS_NOT_CANCELLED');
  t.same(Object.fromEntries(store.saved), { [ALICE]: 0 }, 'alice is recorded, with no failed follow-up yet');
  await before.stop();

  delayedEventsStatus = 200;
  const { planner, followUps } = followUpPlanner();
  const after = scriptedLoop(http, planner, { retryMs: 60_000, unfinishedLocks: store });
  t.teardown(() => after.stop());
  after.onPolicy(fixtureSnapshot({ users: [alice], managedRoomIds: [] }), 'all');
  await after.idle();
  t.equal(followUps(), 1, 'the new loop plans the follow-up on its first run');
  t.same(after.status().lastRun?.failures, [], 'which finishes the lock');
  t.same(Object.fromEntries(store.saved), {}, 'and the record is emptied');
  const saves = store.saves;
  after.trigger();
  await after.idle();
  t.equal(followUps(), 1, 'no follow-up after it');
  t.equal(store.saves, saves, 'an unchanged record is not saved again');
});

t.test('while the record cannot be read, nothing is saved over it; it is read before a later run', async (t) => {
  delayedEventsStatus = 200;
  const store = memoryStore({ [ALICE]: 2, '@bob:example.com': 1, 'not a user': 3 });
  store.failLoad = true;
  const { planner, followUps } = followUpPlanner();
  const loop = scriptedLoop(http, planner, { retryMs: 60_000, unfinishedLocks: store });
  t.teardown(() => loop.stop());
  loop.onPolicy(fixtureSnapshot({ users: [alice], managedRoomIds: [] }), 'all');
  await loop.idle();
  t.equal(followUps(), 0, 'nothing is known of alice yet');
  t.equal(store.saves, 0, 'the record is left as it is');
  store.failLoad = false;
  loop.trigger();
  await loop.idle();
  t.equal(followUps(), 1, 'once read, the follow-up is planned');
  t.same(Object.fromEntries(store.saved), {}, 'alice finished; bob, not inactive in the policy, and the stray entry are dropped');
});

t.test('a lock left unfinished while the record cannot be read is not saved over the record', async (t) => {
  delayedEventsStatus = 500;
  const carol = '@carol:example.com';
  const store = memoryStore({ [carol]: 1 });
  store.failLoad = true;
  const { planner } = lockingPlanner();
  const loop = scriptedLoop(http, planner, { retryMs: 60_000, unfinishedLocks: store });
  t.teardown(() => loop.stop());
  loop.onPolicy(fixtureSnapshot({ users: [alice], managedRoomIds: [] }), 'all');
  await loop.idle();
  t.equal(loop.status().lastRun?.failures[0]?.code, 'CORP_ERR_DELAYED_EVENTS_NOT_CANCELLED', 'alice is locked, her lock unfinished');
  t.equal(store.saves, 0, 'nothing is saved before the record was read');
  t.same(Object.fromEntries(store.saved), { [carol]: 1 }, 'what it held is still there');
});

t.test('a dry run before the first run has read the record plans the recorded follow-ups', async (t) => {
  delayedEventsStatus = 200;
  const store = memoryStore({ [ALICE]: 1 });
  const { planner, followUps } = followUpPlanner();
  // The first run waits for the gateway, before it reads the record.
  let release: (caughtUp: boolean) => void = () => {};
  const gatewayCaughtUp = () => new Promise<boolean>((resolve) => {
    release = resolve;
  });
  const loop = scriptedLoop(http, planner, { retryMs: 60_000, unfinishedLocks: store, gatewayCaughtUp });
  t.teardown(() => loop.stop());
  loop.onPolicy(fixtureSnapshot({ users: [alice], managedRoomIds: [] }), 'all');
  t.same((await loop.plan()).actions, [{ type: 'user.finish_lock', userId: ALICE }], 'the dry run has the follow-up');
  release(true);
  await loop.idle();
  t.equal(followUps(), 2, 'the run plans it too');
  t.same(Object.fromEntries(store.saved), {}, 'and finishes the lock');
});

t.test('a user about to be locked is in the record before the lock, so a crash during the run cannot lose an unfinished lock', async (t) => {
  delayedEventsStatus = 200;
  server.requests.length = 0;
  const store = memoryStore();
  const recordedBeforeLock: boolean[] = [];
  const save = store.save;
  store.save = async (entries) => {
    const lockSent = server.requests.some((r) => r.method === 'PUT' && JSON.parse(r.body || '{}').locked === true);
    recordedBeforeLock.push(entries.has(ALICE) && !lockSent);
    await save(entries);
  };
  const { planner } = lockingPlanner();
  const loop = scriptedLoop(http, planner, { retryMs: 60_000, unfinishedLocks: store });
  t.teardown(() => loop.stop());
  loop.onPolicy(fixtureSnapshot({ users: [alice], managedRoomIds: [] }), 'all');
  await loop.idle();
  t.same(loop.status().lastRun?.failures, [], 'the lock finished');
  t.same(recordedBeforeLock, [true, false], 'alice was recorded before the lock was sent, then dropped once it finished');
  t.same(Object.fromEntries(store.saved), {}, 'the record is empty again');
});
