import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import type { Action } from '../../../../src/control/actions.js';
import { applyPlan } from '../../../../src/control/loop/apply-plan.js';
import type { RunFailure } from '../../../../src/control/loop/run-summary.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import { pause, waitFor } from '../../../support/control-plane.js';
import { scriptedApplyContext } from '../fixtures/apply-context.js';
import { json, startScriptedServer, type ReceivedRequest, type Script } from '../fixtures/scripted-server.js';

/**
 * What `applyPlan` does after an action runs past its deadline (quality review 16, #2 and #5): the
 * abandoned handler keeps running, so it must not leave a user token behind, and the lock of an
 * inactive user must not wait for the retry.
 */

const ALICE = '@alice:example.com';
const ALICE_PATH = '%40alice%3Aexample.com';
let minted = 0;
/** Requests whose path matches are held, unanswered, until {@link releaseHeld}. */
let hold: RegExp | null = null;
const held: (() => void)[] = [];

/** Delayed-event calls whose Authorization matches are answered 503. */
let delayedEventsFailFor: RegExp | null = null;

/** Answers like Synapse's admin and client APIs, except that requests matching `hold` wait for the test. */
const synapse: Script = (req, res) => {
  const answer = (): void => {
    if (req.url.endsWith('/login')) return json(200, { access_token: `user-token-${++minted}` })(req, res);
    if (req.url.startsWith('/_matrix/client/unstable/org.matrix.msc4140/delayed_events')) {
      const failing = delayedEventsFailFor?.test(req.authorization ?? '') === true;
      return (failing ? json(503, { errcode: 'M_UNKNOWN', error: 'busy' }) : json(200, { delayed_events: [] }))(req, res);
    }
    if (req.url.includes('/devices')) return json(200, { devices: [] })(req, res);
    if (req.method === 'PUT' && req.url.startsWith('/_synapse/admin/v2/users/')) return json(200, { name: decodeURIComponent(req.url.split('/').at(-1) ?? '') })(req, res);
    if (req.url.endsWith('/state/m.room.power_levels/')) return json(200, req.method === 'GET' ? { users: {} } : { event_id: '$levels' })(req, res);
    return json(200, {})(req, res);
  };
  if (hold?.test(req.url)) held.push(answer);
  else answer();
};

const server = await startScriptedServer(synapse);
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 30_000, connections: 4, logger: createSilentLogger() });
t.teardown(() => http.close());
const ctx = scriptedApplyContext(http);

/** Answers the held requests; the abandoned handler then goes on. */
function releaseHeld(): void {
  hold = null;
  for (const answer of held.splice(0)) answer();
}

/**
 * Applies `actions` with a 1 s deadline per action: the held one runs past it, the others finish
 * well within it. Then answers the held requests and gives the abandoned handler time to go on.
 */
async function apply(actions: Action[]): Promise<{ failed: string[]; skipped: number }> {
  server.requests.length = 0;
  minted = 0;
  const progress = { actionsDone: 0, actionsFailed: 0, actionsSkipped: 0, failures: [] as RunFailure[] };
  await applyPlan(actions, { ctx, concurrency: 2, actionTimeoutMs: 1_000, shouldStop: () => false, progress });
  releaseHeld();
  await pause(300);
  return { failed: progress.failures.map((failure) => failure.code), skipped: progress.actionsSkipped };
}

const tokensMinted = (): string[] => Array.from({ length: minted }, (_, i) => `Bearer user-token-${i + 1}`);
const loggedOut = (requests: ReceivedRequest[]): string[] => requests.filter((r) => r.url === '/_matrix/client/v3/logout').map((r) => r.authorization ?? '');

t.test('a handler past its deadline cannot mint a user token any more', async (t) => {
  hold = /\/_synapse\/admin\/v2\/users\//; // the password PUT outlasts the deadline; the marker write as the user comes after it
  const { failed } = await apply([{ type: 'user.set_password', userId: ALICE }]);
  t.same(failed, ['CORP_ERR_ACTION_TIMEOUT']);
  t.equal(minted, 0, 'no token minted after the lease was released');
  t.notOk(server.requests.some((r) => r.url.includes('/account_data/')), 'the abandoned handler wrote nothing as the user');
});

t.test('a token whose minting was in flight at the deadline is logged out when it arrives', async (t) => {
  hold = /\/login$/;
  const { failed } = await apply([{ type: 'room.leave', userId: ALICE, roomId: '!r:example.com', viaKick: false }]);
  t.same(failed, ['CORP_ERR_ACTION_TIMEOUT']);
  await waitFor('the late token\'s logout', () => loggedOut(server.requests).length > 0);
  t.equal(minted, 1);
  t.same(loggedOut(server.requests), tokensMinted());
  t.notOk(server.requests.some((r) => r.url.includes('/leave')), 'the leave was not sent with it');
});

t.test('after a timed-out action only the lock of the user still runs', async (t) => {
  hold = /\/leave$/;
  const { failed, skipped } = await apply([
    { type: 'room.leave', userId: ALICE, roomId: '!r:example.com', viaKick: false },
    { type: 'room.leave', userId: ALICE, roomId: '!s:example.com', viaKick: false },
    { type: 'user.set_display_name', userId: ALICE, displayName: '[x] Alice' },
    { type: 'user.deactivate', userId: ALICE },
  ]);
  t.same(failed, ['CORP_ERR_ACTION_TIMEOUT']);
  t.equal(skipped, 2, 'the second leave and the marker wait (the marker for good: see stillToRun)');
  const puts = server.requests.filter((r) => r.method === 'PUT' && r.url === `/_synapse/admin/v2/users/${ALICE_PATH}`).map((r) => JSON.parse(r.body) as unknown);
  t.same(puts, [{ locked: true }], 'the account is locked at once, and nothing else was put');
  t.same(loggedOut(server.requests).sort(), tokensMinted(), 'every user token minted was logged out');
});

t.test('a timed-out action without a lock after it ends the user\'s actions', async (t) => {
  hold = /\/leave$/;
  const { failed, skipped } = await apply([
    { type: 'room.leave', userId: ALICE, roomId: '!r:example.com', viaKick: false },
    { type: 'room.join', userId: ALICE, roomId: '!s:example.com' },
  ]);
  t.same(failed, ['CORP_ERR_ACTION_TIMEOUT']);
  t.equal(skipped, 1);
  t.notOk(server.requests.some((r) => r.url.includes('!s:example.com') || r.url.includes('%21s%3Aexample.com')), 'the join was not started');
});

t.test('the actions of users a newer policy changed are deferred, and their entries of power-level actions', async (t) => {
  server.requests.length = 0;
  const BOB = '@bob:example.com';
  const CAROL = '@carol:example.com';
  const progress = { actionsDone: 0, actionsFailed: 0, actionsSkipped: 0, failures: [] as RunFailure[] };
  const result = await applyPlan([
    { type: 'user.set_display_name', userId: ALICE, displayName: 'Alice' },
    { type: 'user.set_display_name', userId: BOB, displayName: 'Bob' },
    { type: 'room.users_set_power_levels', roomId: '!r:example.com', levels: { [ALICE]: 50, [CAROL]: 0 } },
    { type: 'room.users_set_power_levels', roomId: '!s:example.com', levels: { [ALICE]: 50 } },
  ], { ctx, concurrency: 2, actionTimeoutMs: 5_000, shouldStop: () => false, userSuperseded: (userId) => userId === ALICE, progress });
  t.same([...result.deferredUsers], [ALICE]);
  t.equal(result.interrupted, false, 'the run goes on for everyone else');
  t.same({ done: progress.actionsDone, skipped: progress.actionsSkipped, failures: progress.failures }, { done: 2, skipped: 2, failures: [] });
  const levelWrites = server.requests.filter((r) => r.method === 'PUT' && r.url.endsWith('/state/m.room.power_levels/')).map((r) => [decodeURIComponent(r.url), JSON.parse(r.body) as unknown]);
  t.same(levelWrites, [['/_matrix/client/v3/rooms/!r:example.com/state/m.room.power_levels/', { users: { [CAROL]: 0 } }]], 'carol\'s level is written without alice\'s; a room listing only alice waits');
  t.notOk(server.requests.some((r) => decodeURIComponent(r.url).includes(ALICE)), 'nothing was sent for Alice');
});

t.test('the run reports whose delayed events a lock left pending, and whose are cancelled', async (t) => {
  server.requests.length = 0;
  minted = 0;
  const BOB = '@bob:example.com';
  const CAROL = '@carol:example.com';
  const DAN = '@dan:example.com';
  // Tokens are minted per user in turn: alice's is the first (her list fails), carol's the third.
  delayedEventsFailFor = /user-token-(1|3)$/;
  t.teardown(() => { delayedEventsFailFor = null; });
  const progress = { actionsDone: 0, actionsFailed: 0, actionsSkipped: 0, failures: [] as RunFailure[] };
  const result = await applyPlan([
    { type: 'user.deactivate', userId: ALICE },
    { type: 'user.finish_lock', userId: BOB },
    { type: 'user.finish_lock', userId: CAROL },
    { type: 'user.set_display_name', userId: DAN, displayName: 'Dan' },
  ], { ctx, concurrency: 1, actionTimeoutMs: 5_000, shouldStop: () => false, progress });
  t.same(progress.failures.map((f) => [f.userId, f.code]), [[ALICE, 'CORP_ERR_DELAYED_EVENTS_NOT_CANCELLED'], [CAROL, 'CORP_ERR_UPSTREAM_STATUS']]);
  t.same([...result.locksLeftUnfinished].sort(), [ALICE, CAROL]);
  t.same([...result.locksFinished], [BOB]);
});

t.test('after a timed-out user.finish_lock the kicks still run, and nothing else', async (t) => {
  hold = /msc4140\/delayed_events/; // the user decides how long the cancellation takes
  const { failed, skipped } = await apply([
    { type: 'user.finish_lock', userId: ALICE },
    { type: 'room.leave', userId: ALICE, roomId: '!r:example.com', viaKick: true },
    { type: 'user.set_display_name', userId: ALICE, displayName: 'Alice' },
  ]);
  t.same(failed, ['CORP_ERR_ACTION_TIMEOUT']);
  t.equal(skipped, 1, 'the display name waits');
  t.ok(server.requests.some((r) => r.url.endsWith('/kick')), 'the kick was sent');
});
