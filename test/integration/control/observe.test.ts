import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { observe, PER_USER_LOOKUP_MAX } from '../../../src/control/observe/observe.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { AVATAR_SOURCE_HASHES_KEY, PASSWORD_MARKER_KEY, passwordMarkerTag } from '../../../src/control/synapse/account-data-keys.js';
import { avatarUriHash } from '../../../src/control/plan/avatar-hash.js';
import { sharedSecretAuthPassword } from '../../support/matrix-hmac.js';
import { createRoom, joinRoom, login, matrixCall, passwordLoginBody, registerUser } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { AUTH_SECRET, reconcilerConfig, snapshot, synapseWithClient } from './fixtures/reconciler.js';
import { planReconciliation } from '../../../src/control/plan/index.js';

const { hs, http, admin } = await synapseWithClient(t);

const alice = await registerUser(hs, { localpart: 'alice', password: 'alice password', displayname: 'Alice' });
const bob = await registerUser(hs, { localpart: 'bob', password: 'bob password' });
await registerUser(hs, { localpart: 'unmanaged', password: 'x' });
const put = (userId: string, body: unknown) => matrixCall(hs.baseUrl, 'PUT', `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, { token: admin, body });
// bob copies alice's tag into his own account data: it is bound to alice, so it says nothing of bob's password.
await matrixCall(hs.baseUrl, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(bob.userId)}/account_data/${PASSWORD_MARKER_KEY}`, {
  token: bob.accessToken,
  body: { secret_tag: passwordMarkerTag(AUTH_SECRET, alice.userId) },
});
await put(bob.userId, { locked: true, avatar_url: 'mxc://localhost/someone-elses' });
await matrixCall(hs.baseUrl, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/avatar_url`, { token: alice.accessToken, body: { avatar_url: 'mxc://localhost/policy-avatar' } });
await matrixCall(hs.baseUrl, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/account_data/${AVATAR_SOURCE_HASHES_KEY}`, {
  token: alice.accessToken,
  body: { 'mxc://localhost/policy-avatar': avatarUriHash('https://example.com/a.png') },
});
await matrixCall(hs.baseUrl, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/account_data/${PASSWORD_MARKER_KEY}`, {
  token: alice.accessToken,
  body: { secret_tag: passwordMarkerTag(AUTH_SECRET, alice.userId) },
});

const v12 = await createRoom(hs.baseUrl, admin, { preset: 'public_chat', room_version: '12' });
const v10 = await createRoom(hs.baseUrl, admin, { preset: 'public_chat', room_version: '10', power_level_content_override: { users: { [hs.admin.userId]: 100, [alice.userId]: 42 }, users_default: 5 } });
await joinRoom(hs.baseUrl, alice.accessToken, v12);
await joinRoom(hs.baseUrl, alice.accessToken, v10);
const carol = await registerUser(hs, { localpart: 'carol', password: 'carol password' });
await joinRoom(hs.baseUrl, carol.accessToken, v10);
await matrixCall(hs.baseUrl, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(v10)}/ban`, { token: admin, body: { user_id: carol.userId } });
const unmanagedRoom = await createRoom(hs.baseUrl, admin, { preset: 'public_chat' });
const missing = '!missing:localhost';

const policy = snapshot(1, [v12, v10, missing], [
  { id: alice.userId },
  { id: bob.userId, authType: 'passthrough' },
  { id: '@notyet:localhost' },
]);

t.test('a full observation: users, account data, rooms; nothing unmanaged', async (t) => {
  const observation = await observe(policy, { http, admin, authSharedSecret: AUTH_SECRET, concurrency: 4 });
  t.equal(observation.usersObserved, 3);
  t.same([...observation.state.users.keys()], [alice.userId, bob.userId], 'existing policy users, in policy order');
  t.same(observation.state.users.get(alice.userId), {
    id: alice.userId,
    locked: false,
    deactivated: false,
    displayName: 'Alice',
    avatarMxcUri: 'mxc://localhost/policy-avatar',
    avatarSourceUriHash: avatarUriHash('https://example.com/a.png'),
    derivedPasswordSet: true,
  });
  t.same(observation.state.users.get(bob.userId), {
    id: bob.userId,
    locked: true,
    deactivated: false,
    displayName: 'bob',
    avatarMxcUri: 'mxc://localhost/someone-elses',
    avatarSourceUriHash: '',
    derivedPasswordSet: false,
  }, 'a locked user is seen; an avatar without a recorded source has hash ""');

  t.same([...observation.state.rooms.keys()], [v12, v10, missing], 'managed rooms only, in policy order');
  t.notOk(observation.state.rooms.has(unmanagedRoom));
  const room12 = observation.state.rooms.get(v12);
  t.same(room12?.creators, new Set([hs.admin.userId]), 'v12: the creator has unlimited power');
  t.same(room12?.joinedMembers, new Set([hs.admin.userId, alice.userId]));
  t.notOk(hs.admin.userId in (room12?.powerLevelUsers ?? {}), 'and is not in the users map');
  const room10 = observation.state.rooms.get(v10);
  t.same(room10?.creators, new Set(), 'v10: no unlimited creators');
  t.same(room10?.powerLevelUsers, { [hs.admin.userId]: 100, [alice.userId]: 42 });
  t.equal(room10?.usersDefault, 5);
  t.same(room10?.bannedMembers, new Set([carol.userId]));
  t.match(observation.state.rooms.get(missing), { readable: false, error: /404.*M_NOT_FOUND/ });
  // 1 page of users + 2 account-data reads + 3 room states.
  t.equal(observation.requests, 6, 'requests: one user page, account data per existing user, state per managed room');
});

t.test('a subset observation looks users up one by one', async (t) => {
  const observation = await observe(policy, { http, admin, authSharedSecret: AUTH_SECRET, concurrency: 4, users: new Set([bob.userId, '@notyet:localhost', '@unmanaged:localhost']) });
  t.equal(observation.usersObserved, 2, 'users outside the policy are ignored');
  t.same([...observation.state.users.keys()], [bob.userId]);
  t.equal(observation.requests, 2 + 1 + 1, 'two lookups, one account-data read, one joined-rooms read; no room is bob\'s');
  t.same(observation.state.rooms, new Map(), 'no room state read');
  t.same(observation.state.unreadRooms, new Set([v12, v10, missing]));
  t.ok(PER_USER_LOOKUP_MAX >= 2);
});

t.test('a subset observation reads only the managed rooms its users are in or should be in', async (t) => {
  const other = await createRoom(hs.baseUrl, admin, { preset: 'public_chat' });
  // alice should be in v10 only, but is joined to v12 too: that room is read, or her leave would go unplanned.
  const partial = snapshot(2, [v12, other, v10], [{ id: alice.userId, joinedRooms: [[v10, 42]] }, { id: bob.userId, joinedRooms: [[other, 0]] }]);
  const observation = await observe(partial, { http, admin, authSharedSecret: AUTH_SECRET, concurrency: 4, users: new Set([alice.userId]) });
  t.same([...observation.state.rooms.keys()], [v12, v10], 'the joined room and the policy room, in policy order');
  t.same(observation.state.unreadRooms, new Set([other]), 'not bob\'s room');
  t.equal(observation.requests, 1 + 1 + 1 + 2, 'one lookup, one account-data read, one joined-rooms read, two room states');
  const plan = planReconciliation(observation.state, partial, { deactivatedDisplayNameMarker: false, authSharedSecret: AUTH_SECRET, corporalUserId: hs.admin.userId, users: new Set([alice.userId]) });
  t.same(plan.actions.filter((action) => action.type.startsWith('room.')), [{ type: 'room.leave', userId: alice.userId, roomId: v12, viaKick: false }], 'the leave is planned');
  t.same(plan.skippedRooms, [], 'the unread room is not reported skipped');
});

t.test('a policy id whose account differs only in case is reported, by both ways of finding accounts', async (t) => {
  // @carol exists; the policy names @Carol. Synapse creates only lower-case ids, so this is the form met in practice.
  const mixed = snapshot(1, [v10], [{ id: alice.userId }, { id: '@Carol:localhost' }, { id: '@Notyet:localhost' }]);
  const full = await observe(mixed, { http, admin, authSharedSecret: AUTH_SECRET, concurrency: 4 });
  t.same([...full.state.users.keys()], [alice.userId], 'no account of the exact id');
  t.same(full.state.caseVariants, new Map([['@Carol:localhost', carol.userId]]), 'the full user list finds the variant');
  const subset = await observe(mixed, { http, admin, authSharedSecret: AUTH_SECRET, concurrency: 4, users: new Set(['@Carol:localhost', '@Notyet:localhost']) });
  t.same(subset.state.caseVariants, new Map([['@Carol:localhost', carol.userId]]), 'so does the one-by-one look-up');
  t.equal(subset.requests, 4, 'two look-ups per mixed-case id without an account; no room state (no policy rooms, no accounts)');
  const plan = planReconciliation(full.state, mixed, { deactivatedDisplayNameMarker: false, authSharedSecret: AUTH_SECRET, corporalUserId: hs.admin.userId });
  t.match(plan.warnings, [{ code: 'plan.user_id_case_mismatch', userId: '@Carol:localhost' }], 'the planner warns');
  t.notOk(plan.actions.some((action) => 'userId' in action && action.userId === '@Carol:localhost'), 'and plans nothing for it');
});

t.test('latest policy wins: a run superseded by a newer generation stops and the newer policy is reconciled', async (t) => {
  const lines: { msg?: string; outcome?: string; generation?: number }[] = [];
  const capture = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as { msg?: string }), done()) }));
  const hs2 = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs2.stop());
  const reconciler = await startReconciler({ config: reconcilerConfig(hs2), planner: planReconciliation, logger: capture });
  t.teardown(() => reconciler.close());
  const room = await createRoom(hs2.baseUrl, await reconciler.session.token(), { preset: 'public_chat' });
  const users = Array.from({ length: 6 }, (_, i) => ({ id: `@user${i}:localhost`, displayName: `First ${i}`, joinedRooms: [[room, 0]] as [string, number][] }));
  reconciler.loop.onPolicy(snapshot(1, [room], users), 'all');
  // Arrives while generation 1 is still observing: generation 1 must not apply anything.
  reconciler.loop.onPolicy(snapshot(2, [room], users.map((user) => ({ ...user, displayName: `Second ${user.id}` }))), 'all');
  reconciler.loop.onPolicy(snapshot(2, [room], []), 'all');
  await reconciler.loop.idle();
  const finished = lines.filter((line) => line.msg === 'reconciliation run finished');
  t.match(finished, [{ generation: 1, outcome: 'superseded' }, { generation: 2, outcome: 'completed' }]);
  t.equal(finished.length, 2, 'an equal generation is ignored');
  t.equal(reconciler.loop.status().lastRun?.actionsSkipped, 0);
  for (const user of users) {
    const profile = await matrixCall<{ displayname: string }>(hs2.baseUrl, 'GET', `/_matrix/client/v3/profile/${encodeURIComponent(user.id)}`);
    t.equal(profile.displayname, `Second ${user.id}`);
  }
  const session = await login(hs2.baseUrl, passwordLoginBody(users[0]!.id, sharedSecretAuthPassword(AUTH_SECRET, users[0]!.id)));
  t.equal(session.userId, users[0]!.id);
});
