import t from 'tap';
import { HookTable, HookTables, matchCandidates } from '../../../../src/gateway/hooks/hook-table.js';
import {
  CATCH_ALL_AUTHENTICATED, CATCH_ALL_UNAUTHENTICATED, LOGIN, POLICY_CHECKED_AUTHENTICATED, POLICY_CHECKED_UNAUTHENTICATED, hookPhasesOf,
} from '../../../../src/gateway/hooks/hook-events.js';
import type { HookEventType } from '../../../../src/policy/snapshot.js';
import { hookRequest, snapshotWith } from './fixtures/hook-fixtures.js';

interface MatchCase {
  name: string;
  /** Fields of the hook besides id/eventType/action. */
  hook: Record<string, unknown>;
  method: string;
  rawPath: string;
  userId: string | null;
  matches: boolean;
}

const ROOM_INVITE = '/_matrix/client/r0/rooms/!a%3Aexample.com/invite';
const SEND_PATH = '/_matrix/client/v3/rooms/!r%3Ax/send/m.room.message';
/** A rule pinning the txn id to one segment, as policy authors write it. */
const SEND_MESSAGE = '^/_matrix/client/(r0|v3)/rooms/[^/]+/send/m\\.room\\.message/[^/]+$';

const CASES: MatchCase[] = [
  { name: 'no rules match everything', hook: {}, method: 'GET', rawPath: '/anything', userId: null, matches: true },
  { name: 'method rule', hook: { matchRules: [{ type: 'method', regex: '^POST$' }] }, method: 'POST', rawPath: '/x', userId: null, matches: true },
  { name: 'method rule, other method', hook: { matchRules: [{ type: 'method', regex: '^POST$' }] }, method: 'PUT', rawPath: '/x', userId: null, matches: false },
  { name: 'inverted method rule', hook: { matchRules: [{ type: 'method', regex: '^GET$', invert: true }] }, method: 'PUT', rawPath: '/x', userId: null, matches: true },
  { name: 'HEAD passes a ^GET$ rule (Synapse runs the GET handler)', hook: { matchRules: [{ type: 'method', regex: '^GET$' }] }, method: 'HEAD', rawPath: '/x', userId: null, matches: true },
  { name: 'HEAD still passes a ^HEAD$ rule', hook: { matchRules: [{ type: 'method', regex: '^HEAD$' }] }, method: 'HEAD', rawPath: '/x', userId: null, matches: true },
  { name: 'HEAD does not pass a ^POST$ rule', hook: { matchRules: [{ type: 'method', regex: '^POST$' }] }, method: 'HEAD', rawPath: '/x', userId: null, matches: false },
  { name: 'HEAD passes an inverted ^GET$ rule (HEAD passes it)', hook: { matchRules: [{ type: 'method', regex: '^GET$', invert: true }] }, method: 'HEAD', rawPath: '/x', userId: null, matches: true },
  { name: 'HEAD fails an inverted ^(GET|HEAD)$ rule', hook: { matchRules: [{ type: 'method', regex: '^(GET|HEAD)$', invert: true }] }, method: 'HEAD', rawPath: '/x', userId: null, matches: false },
  { name: 'GET does not pass a ^HEAD$ rule', hook: { matchRules: [{ type: 'method', regex: '^HEAD$' }] }, method: 'GET', rawPath: '/x', userId: null, matches: false },
  { name: 'route rules see the decoded path', hook: { matchRules: [{ type: 'route', regex: '^/_matrix/client/r0/rooms/!a:example.com/invite$' }] }, method: 'POST', rawPath: ROOM_INVITE, userId: null, matches: true },
  { name: 'route rules are unanchored unless anchored', hook: { matchRules: [{ type: 'route', regex: '/invite' }] }, method: 'POST', rawPath: ROOM_INVITE, userId: null, matches: true },
  { name: 'route rule mismatch', hook: { matchRules: [{ type: 'route', regex: '/kick$' }] }, method: 'POST', rawPath: ROOM_INVITE, userId: null, matches: false },
  { name: 'rules are AND-ed', hook: { matchRules: [{ type: 'route', regex: '/invite$' }, { type: 'method', regex: 'GET' }] }, method: 'POST', rawPath: ROOM_INVITE, userId: null, matches: false },
  { name: 'user rule with a user', hook: { matchRules: [{ type: 'matrixUserID', regex: '^@alice:' }] }, method: 'GET', rawPath: '/x', userId: '@alice:example.com', matches: true },
  { name: 'user rule, another user', hook: { matchRules: [{ type: 'matrixUserID', regex: '^@alice:' }] }, method: 'GET', rawPath: '/x', userId: '@bob:example.com', matches: false },
  { name: 'user rule without a user does not match (quirk 11 fixed)', hook: { matchRules: [{ type: 'matrixUserID', regex: '.*' }] }, method: 'GET', rawPath: '/x', userId: null, matches: false },
  { name: 'inverted user rule without a user matches', hook: { matchRules: [{ type: 'matrixUserID', regex: '^@admin:', invert: true }] }, method: 'GET', rawPath: '/x', userId: null, matches: true },
  { name: 'inverted user rule, that user', hook: { matchRules: [{ type: 'matrixUserID', regex: '^@admin:', invert: true }] }, method: 'GET', rawPath: '/x', userId: '@admin:example.com', matches: false },
  { name: 'shorthands are honoured', hook: { routeMatchesRegex: '/ban$', methodMatchesRegex: 'POST' }, method: 'POST', rawPath: '/_matrix/client/r0/rooms/!r:x/ban', userId: null, matches: true },
  { name: 'shorthands are honoured (method)', hook: { routeMatchesRegex: '/ban$', methodMatchesRegex: 'POST' }, method: 'GET', rawPath: '/_matrix/client/r0/rooms/!r:x/ban', userId: null, matches: false },
  { name: 'route rules: %2F in a parameter adds no segment (Synapse routes on the raw path)', hook: { matchRules: [{ type: 'route', regex: SEND_MESSAGE }] }, method: 'PUT', rawPath: `${SEND_PATH}/t%2F2`, userId: null, matches: true },
  { name: 'route rules: lower-case %2f neither', hook: { matchRules: [{ type: 'route', regex: SEND_MESSAGE }] }, method: 'PUT', rawPath: `${SEND_PATH}/t%2f2`, userId: null, matches: true },
  { name: 'route rules: %2F reads %2F', hook: { matchRules: [{ type: 'route', regex: '/send/m\\.room\\.message/t%2F2$' }] }, method: 'PUT', rawPath: `${SEND_PATH}/t%2f2`, userId: null, matches: true },
  { name: 'route rules: other escapes decode (m%2Eroom%2Emessage)', hook: { matchRules: [{ type: 'route', regex: SEND_MESSAGE }] }, method: 'PUT', rawPath: '/_matrix/client/v3/rooms/!r%3Ax/send/m%2Eroom%2emessage/t1', userId: null, matches: true },
  { name: 'route rules: a real slash is a segment', hook: { matchRules: [{ type: 'route', regex: SEND_MESSAGE }] }, method: 'PUT', rawPath: `${SEND_PATH}/t/2`, userId: null, matches: false },
  { name: 'RE2 semantics: (?i) and \\z', hook: { matchRules: [{ type: 'route', regex: '(?i)/CREATEROOM\\z' }] }, method: 'POST', rawPath: '/_matrix/client/v3/createRoom', userId: null, matches: true },
];

t.test('match rules, fixture table', async (t) => {
  for (const c of CASES) {
    const snapshot = snapshotWith([{ id: 'h', eventType: 'beforeAnyRequest', action: 'pass.unmodified', ...c.hook }]);
    const table = new HookTable(snapshot.hooks);
    const candidates = table.candidates(CATCH_ALL_AUTHENTICATED.before, c.method);
    const matched = candidates === null ? null : matchCandidates(candidates, hookRequest({ method: c.method, rawPath: c.rawPath, userId: c.userId }));
    t.equal(matched !== null, c.matches, c.name);
  }
});

t.test('chains come back per event type, in the order asked, each in policy order', async (t) => {
  const snapshot = snapshotWith([
    { id: 'auth-1', eventType: 'beforeAuthenticatedRequest', action: 'pass.unmodified' },
    { id: 'any-1', eventType: 'beforeAnyRequest', action: 'pass.unmodified' },
    { id: 'checked', eventType: 'beforeAuthenticatedPolicyCheckedRequest', action: 'pass.unmodified' },
    { id: 'any-2', eventType: 'beforeAnyRequest', action: 'pass.unmodified' },
    { id: 'after', eventType: 'afterAnyRequest', action: 'pass.unmodified' },
  ]);
  const table = new HookTable(snapshot.hooks);
  const ids = (types: readonly HookEventType[]) => matchCandidates(table.candidates(types, 'GET')!, hookRequest())!.map((chain) => chain.map((hook) => hook.id));
  t.same(ids(POLICY_CHECKED_AUTHENTICATED.before), [['any-1', 'any-2'], ['auth-1'], ['checked']]);
  t.same(ids(CATCH_ALL_AUTHENTICATED.before), [['any-1', 'any-2'], ['auth-1']]);
  t.same(ids(LOGIN.after), [['after'], []]);
});

t.test('candidates: null when no hook can fire for the method; cached per list and method', async (t) => {
  const snapshot = snapshotWith([{ id: 'post-only', eventType: 'beforeAnyRequest', action: 'pass.unmodified', methodMatchesRegex: '^POST$' }]);
  const table = new HookTable(snapshot.hooks);
  t.equal(table.candidates(CATCH_ALL_AUTHENTICATED.before, 'GET'), null, 'no candidate for GET');
  t.equal(table.candidates(CATCH_ALL_AUTHENTICATED.after, 'POST'), null, 'no after-hook at all');
  const first = table.candidates(CATCH_ALL_AUTHENTICATED.before, 'POST');
  t.not(first, null);
  t.equal(table.candidates(CATCH_ALL_AUTHENTICATED.before, 'POST'), first, 'the same list object: cached');
  const getOnly = new HookTable(snapshotWith([{ id: 'get-only', eventType: 'beforeAnyRequest', action: 'pass.unmodified', methodMatchesRegex: '^GET$' }]).hooks);
  t.not(getOnly.candidates(CATCH_ALL_AUTHENTICATED.before, 'HEAD'), null, 'a GET-only hook is a candidate for HEAD');
  t.equal(getOnly.mayFire(CATCH_ALL_AUTHENTICATED.before, CATCH_ALL_AUTHENTICATED.after, 'HEAD'), true);
  const odd = table.candidates(CATCH_ALL_AUTHENTICATED.before, 'PROPFIND');
  t.equal(odd, null, 'unusual methods are filtered too (just not cached)');
});

t.test('the route path is computed only when a route rule needs it', async (t) => {
  const snapshot = snapshotWith([{ id: 'users-only', eventType: 'beforeAnyRequest', action: 'pass.unmodified', matrixUserIdMatchesRegex: '^@alice:' }]);
  const table = new HookTable(snapshot.hooks);
  let pathReads = 0;
  const subject = { get routePaths() { pathReads++; return ['/x']; }, userId: '@alice:example.com' };
  t.not(matchCandidates(table.candidates(CATCH_ALL_AUTHENTICATED.before, 'GET')!, subject), null);
  t.equal(pathReads, 0);
});

t.test('one table per snapshot, rebuilt for a new one', async (t) => {
  const tables = new HookTables();
  const a = snapshotWith([{ id: 'h', eventType: 'beforeAnyRequest', action: 'pass.unmodified' }], 1);
  const b = snapshotWith([{ id: 'h', eventType: 'beforeAnyRequest', action: 'pass.unmodified' }], 2);
  t.equal(tables.tableFor(a), tables.tableFor(a));
  t.not(tables.tableFor(a), tables.tableFor(b));
});

t.test('mayFire: whether a request needs the hook phases at all', async (t) => {
  const empty = new HookTable(snapshotWith([]).hooks);
  t.equal(empty.mayFire(CATCH_ALL_AUTHENTICATED.before, CATCH_ALL_AUTHENTICATED.after, 'GET'), false, 'no hooks');
  t.equal(empty.candidates(CATCH_ALL_AUTHENTICATED.before, 'GET'), null);
  const table = new HookTable(snapshotWith([
    { id: 'post-before', eventType: 'beforeAnyRequest', action: 'pass.unmodified', methodMatchesRegex: '^POST$' },
    { id: 'put-after', eventType: 'afterAuthenticatedRequest', action: 'pass.unmodified', methodMatchesRegex: '^PUT$' },
    { id: 'login-only', eventType: 'beforeUnauthenticatedRequest', action: 'pass.unmodified', methodMatchesRegex: '^DELETE$' },
  ]).hooks);
  t.equal(table.mayFire(CATCH_ALL_AUTHENTICATED.before, CATCH_ALL_AUTHENTICATED.after, 'GET'), false, 'no hook for GET');
  t.equal(table.mayFire(CATCH_ALL_AUTHENTICATED.before, CATCH_ALL_AUTHENTICATED.after, 'POST'), true, 'a before candidate');
  t.equal(table.mayFire(CATCH_ALL_AUTHENTICATED.before, CATCH_ALL_AUTHENTICATED.after, 'PUT'), true, 'an after candidate only');
  t.equal(table.mayFire(CATCH_ALL_UNAUTHENTICATED.before, CATCH_ALL_UNAUTHENTICATED.after, 'PUT'), false, 'not of these event types');
  t.equal(table.mayFire(CATCH_ALL_UNAUTHENTICATED.before, CATCH_ALL_UNAUTHENTICATED.after, 'DELETE'), true);
});

t.test('hookPhasesOf: the event types per handler kind (reference §7.2)', async (t) => {
  t.equal(hookPhasesOf('login', false), LOGIN);
  t.equal(hookPhasesOf('login', true), LOGIN, 'login is unauthenticated, token or not');
  t.equal(hookPhasesOf('catch-all', true), CATCH_ALL_AUTHENTICATED);
  t.equal(hookPhasesOf('catch-all', false), CATCH_ALL_UNAUTHENTICATED);
  t.equal(hookPhasesOf('policy-checked', true), POLICY_CHECKED_AUTHENTICATED);
  t.equal(hookPhasesOf('policy-checked', false), POLICY_CHECKED_UNAUTHENTICATED);
  t.same(LOGIN, { before: ['beforeAnyRequest', 'beforeUnauthenticatedRequest'], after: ['afterAnyRequest', 'afterUnauthenticatedRequest'] });
  t.same(POLICY_CHECKED_UNAUTHENTICATED, { before: ['beforeAnyRequest'], after: ['afterAnyRequest'] });
});
