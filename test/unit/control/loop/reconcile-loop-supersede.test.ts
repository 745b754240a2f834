import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import type { ReconcileLoop } from '../../../../src/control/loop/reconcile-loop.js';
import type { Planner } from '../../../../src/control/loop/planner.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import type { PolicySnapshot, SnapshotUser } from '../../../../src/policy/snapshot.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import { waitFor } from '../../../support/control-plane.js';
import { scriptedLoop } from '../fixtures/scripted-loop.js';
import { changedUserIds } from '../../../../src/control/loop/changed-users.js';
import { json, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

/**
 * A newer policy during a run (quality review 16, #1): one that changes a few users must not keep
 * the run from doing everyone else's actions, or policies arriving faster than one observation would
 * starve every run; one that changes everyone still stops the run before its next action.
 */

const USERS = ['@a:example.com', '@b:example.com', '@c:example.com'];

/** Requests this matches are held, unanswered, until {@link releaseHeld}. */
let hold: ((method: string, userId: string) => boolean) | null = null;
const held: (() => void)[] = [];

/**
 * Listing or looking up accounts takes 150 ms (so observing is slow) and finds none; every PUT
 * succeeds. Requests that `hold` matches wait for the test.
 */
const synapse: Script = (req, res) => {
  const listing = req.url.split('?')[0] === '/_synapse/admin/v2/users';
  const userId = decodeURIComponent(req.url.split('/').at(-1) ?? '');
  const answer = req.method !== 'GET'
    ? (): void => json(200, { name: userId })(req, res)
    : (): void => setTimeout(() => (listing ? json(200, { users: [], total: 0 }) : json(404, { errcode: 'M_NOT_FOUND', error: 'User not found' }))(req, res), 150) as unknown as void;
  if (hold?.(req.method, listing ? '' : userId) === true) held.push(answer);
  else answer();
};

/** Answers every held request and holds no more. */
function releaseHeld(): void {
  hold = null;
  for (const answer of held.splice(0)) answer();
}
const server = await startScriptedServer(synapse);
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 8, logger: createSilentLogger() });
t.teardown(() => http.close());

/** One action per user in scope: a display name naming the generation it was planned on, or the lock of an inactive user. */
const planner: Planner = (_observed, policy, options) => ({
  actions: [...policy.users.values()].filter((user) => !options.users || options.users.has(user.id)).map((user) => user.active
    ? { type: 'user.set_display_name' as const, userId: user.id, displayName: `g${policy.generation}` }
    : { type: 'user.deactivate' as const, userId: user.id }),
  warnings: [],
  skippedRooms: [],
});

function newLoop(concurrency = 4): ReconcileLoop {
  return scriptedLoop(http, planner, { retryMs: 60_000, concurrency });
}

function snapshot(generation: number, nameOfA = 'A', aActive = true): PolicySnapshot {
  const users = USERS.map((id): SnapshotUser => ({
    id, active: id !== USERS[0] || aActive, authType: 'plain', authCredential: 'x', displayName: id === USERS[0] ? nameOfA : id, avatarUri: '', joinedRooms: new Map(),
    powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
  }));
  return { ...fixtureSnapshot({ users, managedRoomIds: [] }), generation };
}

/** The account PUTs so far, in order, as `user generation` (display names) or `user locked`. */
const puts = (): string[] => server.requests
  .filter((r) => r.method === 'PUT')
  .map((r) => {
    const body = JSON.parse(r.body) as { displayname?: string; locked?: boolean };
    return `${decodeURIComponent(r.url.split('/').at(-1) ?? '')} ${body.displayname ?? (body.locked === true ? 'locked' : '?')}`;
  });

t.test('policies changing one user faster than a run observes do not starve the others', async (t) => {
  server.requests.length = 0;
  const loop = newLoop();
  let generation = 1;
  loop.onPolicy(snapshot(generation), 'all');
  const pushes = setInterval(() => {
    generation++;
    loop.onPolicy(snapshot(generation, `A${generation}`), new Set([USERS[0]!]));
  }, 60);
  const othersDone = (): boolean => puts().some((put) => put.startsWith('@b:example.com ')) && puts().some((put) => put.startsWith('@c:example.com '));
  await waitFor('the unchanged users\' actions', othersDone, 20_000); // a new generation every 60 ms, while observing takes 150 ms
  clearInterval(pushes);
  t.ok(othersDone(), `the unchanged users were reconciled while the pushes went on (${generation} generations): ${puts().join(', ')}`);
  await loop.idle();
  t.equal(loop.status().lastRun?.outcome, 'completed');
  t.equal(puts().filter((put) => put.startsWith('@a:example.com ')).at(-1), `@a:example.com g${generation}`, 'the changed user was reconciled on the newest policy');
  await loop.stop();
});

t.test('a newer policy for everyone still stops the run before its next action', async (t) => {
  server.requests.length = 0;
  const loop = newLoop();
  hold = (method, userId) => method === 'GET' && userId === ''; // the run on generation 1 is observing
  loop.onPolicy(snapshot(1), 'all');
  await waitFor('a held request', () => held.length > 0);
  loop.onPolicy(snapshot(2), 'all');
  releaseHeld();
  await loop.idle();
  t.same(puts().sort(), USERS.map((id) => `${id} g2`), 'nothing was applied from generation 1');
  t.equal(loop.status().lastFullRun?.generation, 2);
  await loop.stop();
});

t.test('managed rooms added during a run: it goes on for everyone, and a full pass on the newer policy follows; a room removed stops it', async (t) => {
  for (const change of ['added', 'removed'] as const) {
    server.requests.length = 0;
    hold = (method, userId) => method === 'PUT' && userId === USERS[1]; // one user at a time, reversed: c, b (held), then a
    const loop = newLoop(1);
    const withRooms = (generation: number, rooms: string[]): PolicySnapshot => {
      const policy = snapshot(generation);
      return { ...policy, users: new Map([...policy.users].reverse()), managedRoomIds: new Set(rooms) };
    };
    const first = withRooms(1, ['!old:example.com']);
    const second = withRooms(2, change === 'added' ? ['!old:example.com', '!new:example.com'] : []);
    loop.onPolicy(first, 'all');
    await waitFor('a held request', () => held.length > 0);
    loop.onPolicy(second, changedUserIds(first, second));
    releaseHeld();
    await loop.idle();
    await loop.stop();
    if (change === 'added') {
      t.same(puts(), ['@c:example.com g1', '@b:example.com g1', '@a:example.com g1', '@c:example.com g2', '@b:example.com g2', '@a:example.com g2'],
        'added: the run on generation 1 finished, then the full pass on generation 2');
    } else {
      t.same(puts(), ['@c:example.com g1', '@b:example.com g1', '@c:example.com g2', '@b:example.com g2', '@a:example.com g2'],
        'removed: nothing more from generation 1 after the action in flight');
    }
    t.match(loop.status().lastFullRun, { generation: 2, outcome: 'completed' });
  }
});

t.test('the run does nothing more for a user a newer policy changed', async (t) => {
  server.requests.length = 0;
  hold = (method, userId) => method === 'PUT' && userId === USERS[1]; // one user at a time, in the reversed policy order below: c, b (held), then a
  const loop = newLoop(1);
  const reversed = (generation: number, nameOfA?: string): PolicySnapshot => {
    const policy = snapshot(generation, nameOfA);
    return { ...policy, users: new Map([...policy.users].reverse()) };
  };
  loop.onPolicy(reversed(1), 'all');
  await waitFor('a held request', () => held.length > 0);
  loop.onPolicy(reversed(2, 'A2'), new Set([USERS[0]!])); // after c's action, before a's
  releaseHeld();
  await loop.idle();
  t.same(puts(), ['@c:example.com g1', '@b:example.com g1', '@a:example.com g2'], 'a was left to the run on generation 2');
  t.equal(loop.status().lastRun?.kind, 'users');
  await loop.stop();
});

t.test('an edit that leaves an inactive user inactive in the same rooms does not hold back its lock (verification 16, #4)', async (t) => {
  for (const [aActiveLater, expected] of [
    [false, ['@c:example.com g1', '@b:example.com g1', '@a:example.com locked', '@a:example.com locked']],
    [true, ['@c:example.com g1', '@b:example.com g1', '@a:example.com g2']],
  ] as const) {
    server.requests.length = 0;
    hold = (method, userId) => method === 'PUT' && userId === USERS[1];
    const loop = newLoop(1);
    const reversed = (generation: number, nameOfA: string, aActive: boolean): PolicySnapshot => {
      const policy = snapshot(generation, nameOfA, aActive);
      return { ...policy, users: new Map([...policy.users].reverse()) };
    };
    loop.onPolicy(reversed(1, 'A', false), 'all');
    await waitFor('a held request', () => held.length > 0);
    loop.onPolicy(reversed(2, 'A2', aActiveLater), new Set([USERS[0]!])); // after c's action, before a's
    releaseHeld();
    await loop.idle();
    await loop.stop();
    t.same(puts(), expected, aActiveLater
      ? 'made active: the lock planned on generation 1 is left to the run on generation 2'
      : 'renamed, still inactive: locked in the run that was going on (and again by the follow-up run for a)');
  }
});
