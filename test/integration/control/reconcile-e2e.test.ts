import t from 'tap';
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSilentLogger } from '../../../src/common/logger.js';
import { createAvatarDispatcher } from '../../../src/control/apply/avatar-source.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { ReconcileLoop } from '../../../src/control/loop/reconcile-loop.js';
import { AVATAR_SOURCE_HASHES_KEY, PASSWORD_MARKER_KEY, passwordMarkerTag } from '../../../src/control/synapse/account-data-keys.js';
import { AccessTokenErrorCode } from '../../../src/control/synapse/access-tokens.js';
import { sharedSecretAuthPassword } from '../../support/matrix-hmac.js';
import { createRoom, getJoinedRooms, joinRoom, login, matrixCall, matrixRequest, passwordLoginBody, registerUser } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { AUTH_SECRET, PNG_1X1, reconcilerConfig, snapshot, startLocalServer, type UserSpec } from './fixtures/reconciler.js';
import { planReconciliation } from '../../../src/control/plan/index.js';

const sha512 = (text: string): string => createHash('sha512').update(text).digest('hex');

// Stock Synapse; the harness's own admin is not the corporal user, so Corporal registers
// @corporal:localhost itself through shared-secret registration (with its derived password).
const hs = await startSynapse({ adminLocalpart: 'harness' });
t.teardown(() => hs.stop());
const logger = createSilentLogger();
const reconciler = await startReconciler({ config: reconcilerConfig(hs), planner: planReconciliation, logger });
t.teardown(() => reconciler.close());
const { loop } = reconciler;
const admin = await reconciler.session.token();

const avatarServer = await startLocalServer((req, res) => {
  if (req.url === '/avatar.png') {
    res.writeHead(200, { 'content-type': 'image/png' }).end(PNG_1X1);
  } else res.writeHead(404).end();
});
t.teardown(() => avatarServer.close());

const publicRoom = await createRoom(hs.baseUrl, admin, { preset: 'public_chat' });
const privateRoom = await createRoom(hs.baseUrl, admin, { preset: 'private_chat' });
const managed = [publicRoom, privateRoom];

const alice = '@alice:localhost';
const bob = '@bob:localhost';
const carol = '@carol:localhost';
const dave = '@dave:localhost';
const dataAvatar = `data:image/png;base64,${PNG_1X1.toString('base64')}`;
const httpAvatar = `${avatarServer.url}/avatar.png`;

const users: Record<string, UserSpec> = {
  alice: { id: alice, authType: 'plain', displayName: 'Alice', avatarUri: dataAvatar, joinedRooms: [[publicRoom, 0], [privateRoom, 50]] },
  bob: { id: bob, authType: 'passthrough', authCredential: 'bob initial password', displayName: 'Bob', avatarUri: httpAvatar, joinedRooms: [[privateRoom, 0]] },
  carol: { id: carol, authType: 'bcrypt', authCredential: bcrypt.hashSync('carol password', 4), displayName: 'Carol', joinedRooms: [[publicRoom, 0]] },
  dave: { id: dave, authType: 'rest', authCredential: 'http://127.0.0.1:1/auth', displayName: 'Dave', joinedRooms: [] },
};
let generation = 0;
const policyOf = (specs: UserSpec[]) => snapshot(++generation, managed, specs);

async function accountData(userId: string): Promise<Record<string, unknown>> {
  const answer = await matrixCall<{ account_data: { global: Record<string, unknown> } }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/users/${encodeURIComponent(userId)}/accountdata`, { token: admin });
  return answer.account_data.global;
}
async function profile(userId: string): Promise<{ displayname?: string; avatar_url?: string }> {
  return matrixCall(hs.baseUrl, 'GET', `/_matrix/client/v3/profile/${encodeURIComponent(userId)}`, { token: admin });
}
async function members(roomId: string): Promise<string[]> {
  return (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/members`, { token: admin })).members;
}
async function powerLevels(roomId: string): Promise<Record<string, number>> {
  return (await matrixCall<{ users: Record<string, number> }>(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.power_levels/`, { token: admin })).users;
}
async function reconcile(policy: ReturnType<typeof policyOf>, changed: ReadonlySet<string> | 'all') {
  loop.onPolicy(policy, changed);
  await loop.idle();
  const run = loop.status().lastRun;
  if (run === null) throw new Error('no run recorded');
  return run;
}

t.test('the admin session registered the corporal user on stock Synapse and lifted its rate limits', async (t) => {
  const me = await matrixCall<{ user_id: string; device_id: string }>(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: admin });
  t.same(me, { user_id: '@corporal:localhost', device_id: 'corporal', is_guest: false });
  const override = await matrixCall(hs.baseUrl, 'GET', '/_synapse/admin/v1/users/%40corporal%3Alocalhost/override_ratelimit', { token: admin });
  t.same(override, { messages_per_second: 0, burst_count: 0 });
  await login(hs.baseUrl, passwordLoginBody('@corporal:localhost', sharedSecretAuthPassword(AUTH_SECRET, '@corporal:localhost')));
});

t.test('create: every auth type, display names, avatars from data: and http, joins, power levels', async (t) => {
  const before = await matrixCall<Record<string, unknown>>(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(privateRoom)}/state/m.room.power_levels/`, { token: admin });
  const run = await reconcile(policyOf(Object.values(users)), 'all');
  t.equal(run.outcome, 'completed');
  t.equal(run.kind, 'full');
  t.same(run.failures, [], 'no failures');
  t.equal(run.actionsFailed, 0);
  t.equal(run.actionsDone, run.actionsPlanned);
  t.equal(run.usersObserved, 4);

  for (const userId of [alice, carol, dave]) {
    const session = await login(hs.baseUrl, passwordLoginBody(userId, sharedSecretAuthPassword(AUTH_SECRET, userId)));
    t.equal(session.userId, userId, `${userId} logs in to stock Synapse with the derived password`);
    t.same((await accountData(userId))[PASSWORD_MARKER_KEY], { secret_tag: passwordMarkerTag(AUTH_SECRET, userId) }, `${userId} has the password marker`);
  }
  const bobSession = await login(hs.baseUrl, passwordLoginBody(bob, 'bob initial password'));
  t.equal(bobSession.userId, bob, 'the passthrough user logs in with its initial password');
  t.notOk(PASSWORD_MARKER_KEY in (await accountData(bob)), 'no password marker for a passthrough user');

  for (const [userId, name, source] of [[alice, 'Alice', dataAvatar], [bob, 'Bob', httpAvatar]] as const) {
    const current = await profile(userId);
    t.equal(current.displayname, name);
    t.match(current.avatar_url, /^mxc:\/\/localhost\//);
    t.same((await accountData(userId))[AVATAR_SOURCE_HASHES_KEY], { [current.avatar_url as string]: sha512(source) }, 'source hash recorded in matrix-corporal\'s format');
    const mediaId = (current.avatar_url as string).slice('mxc://localhost/'.length);
    const media = await matrixRequest(hs.baseUrl, 'GET', `/_matrix/client/v1/media/download/localhost/${mediaId}`, { token: admin });
    t.equal(media.status, 200);
    t.equal(media.headers['content-type'], 'image/png');
  }
  t.equal((await profile(carol)).displayname, 'Carol');

  t.same(new Set(await members(publicRoom)), new Set(['@corporal:localhost', alice, carol]), 'public room joined');
  t.same(new Set(await members(privateRoom)), new Set(['@corporal:localhost', alice, bob]), 'invite-only room joined through the admin join API');
  const after = await matrixCall<Record<string, unknown>>(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(privateRoom)}/state/m.room.power_levels/`, { token: admin });
  t.same(after, { ...before, users: { ...(before['users'] as object), [alice]: 50 } }, 'only alice changed (bob\'s level 0 is already the default)');
});

t.test('a second pass over an unchanged policy does nothing', async (t) => {
  loop.trigger();
  await loop.idle();
  const run = loop.status().lastRun;
  t.equal(run?.kind, 'full');
  t.equal(run?.actionsPlanned, 0, 'converged');
  t.ok((run?.requests ?? Infinity) <= 3 * 4, `a no-op pass makes at most 3 requests per user (made ${run?.requests})`);
});

t.test('leave: only the changed user is reconciled', async (t) => {
  const run = await reconcile(policyOf([{ ...users.alice!, joinedRooms: [[privateRoom, 50]] }, users.bob!, users.carol!, users.dave!]), new Set([alice]));
  t.equal(run.kind, 'users');
  t.equal(run.usersObserved, 1);
  t.same(run.failures, []);
  t.equal(run.actionsDone, 1);
  t.match(loop.status().lastFullRun, { kind: 'full', outcome: 'completed', actionsPlanned: 0, usersObserved: 4 }, 'the last full pass is still shown');
  t.notOk((await members(publicRoom)).includes(alice), 'alice left the public room');
  t.ok((await members(privateRoom)).includes(alice));
  users.alice = { ...users.alice!, joinedRooms: [[privateRoom, 50]] };
});

t.test('deactivate locks the account: login, an existing token and an admin-minted token are all refused', async (t) => {
  const session = await login(hs.baseUrl, passwordLoginBody(alice, sharedSecretAuthPassword(AUTH_SECRET, alice)));
  const minted = await reconciler.tokens.mintAccessToken(alice, { deviceId: 'ignored', validitySeconds: 3600 });
  const run = await reconcile(policyOf([{ ...users.alice!, active: false, joinedRooms: [] }, users.bob!, users.carol!, users.dave!]), new Set([alice]));
  t.same(run.failures, []);
  t.notOk((await members(privateRoom)).includes(alice), 'the inactive user left the managed room');

  const refusedLogin = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/login', { body: passwordLoginBody(alice, sharedSecretAuthPassword(AUTH_SECRET, alice)) });
  t.equal(refusedLogin.status, 401);
  t.match(refusedLogin.json, { errcode: 'M_USER_LOCKED' });
  // The session's device was deleted, so its token is gone for good; the admin-minted token has
  // no device and survives, but Synapse refuses it while the account is locked.
  for (const [what, token, errcode] of [['existing session token', session.accessToken, 'M_UNKNOWN_TOKEN'], ['admin-minted token', minted, 'M_USER_LOCKED']] as const) {
    const answer = await matrixRequest(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token });
    t.equal(answer.status, 401, `${what} refused`);
    t.match(answer.json, { errcode }, `${what}: ${errcode}`);
  }
  await t.rejects(reconciler.tokens.mintAccessToken(alice, { deviceId: 'x' }), { code: AccessTokenErrorCode.UserLocked, errcode: 'M_USER_LOCKED' }, 'the token API refuses a locked user');
  const devices = await matrixCall<{ devices: unknown[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(alice)}/devices`, { token: admin });
  t.same(devices.devices, [], 'devices deleted');
  await reconciler.tokens.revokeAccessToken(minted);

  const again = await reconcile(policyOf([{ ...users.alice!, active: false, joinedRooms: [] }, users.bob!, users.carol!, users.dave!]), 'all');
  t.equal(again.actionsPlanned, 0, 'an inactive, locked user needs nothing more');

  const old = session.accessToken;
  const reactivated = await reconcile(policyOf(Object.values(users)), new Set([alice]));
  t.same(reactivated.failures, []);
  const back = await login(hs.baseUrl, passwordLoginBody(alice, sharedSecretAuthPassword(AUTH_SECRET, alice)));
  t.equal(back.userId, alice, 'a reactivated user logs in again');
  const oldAnswer = await matrixRequest(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: old });
  t.equal(oldAnswer.status, 401, 'the session from before the deactivation stays dead');
  t.match(oldAnswer.json, { errcode: 'M_UNKNOWN_TOKEN' });
  t.ok((await members(privateRoom)).includes(alice), 'rejoined');
  t.equal((await powerLevels(privateRoom))[alice], 50);
});

t.test('drift: a user who leaves a managed room at Synapse is put back by the next periodic resync', async (t) => {
  const avatarDispatcher = createAvatarDispatcher(15_000);
  t.teardown(() => avatarDispatcher.close());
  const resyncing = new ReconcileLoop({
    ctx: { http: reconciler.http, admin: reconciler.session, adminUserId: '@corporal:localhost', authSharedSecret: AUTH_SECRET, avatarMaxBytes: 65536, avatarTimeoutMs: 15_000, avatarDispatcher, logger },
    reconciliation: reconcilerConfig(hs, { reconciliation: { ResyncIntervalMilliseconds: 300 } }).Reconciliation,
    actionTimeoutMs: 60_000,
    planner: planReconciliation,
    logger,
  });
  t.teardown(() => resyncing.stop());
  resyncing.onPolicy(snapshot(1, managed, Object.values(users)), 'all');
  await resyncing.idle();
  t.equal(resyncing.status().lastRun?.actionsPlanned, 0);
  t.ok(resyncing.status().nextResyncAt !== null, 'a resync is scheduled');

  const bobSession = await login(hs.baseUrl, passwordLoginBody(bob, 'bob initial password'));
  await matrixCall(hs.baseUrl, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(privateRoom)}/leave`, { token: bobSession.accessToken, body: {} });
  t.notOk((await members(privateRoom)).includes(bob), 'bob left behind Corporal\'s back');
  const deadline = Date.now() + 30_000;
  while (!(await members(privateRoom)).includes(bob) && Date.now() < deadline) await sleep(100);
  t.ok((await members(privateRoom)).includes(bob), 'bob is back in the room');
  await resyncing.idle();
  t.equal(resyncing.status().lastRun?.kind, 'full');
  t.same(await getJoinedRooms(hs.baseUrl, bobSession.accessToken), [privateRoom]);
});

t.test('failure isolation: an unreadable room fails only that room; a failing join fails only its user; a join that can only fail is held', async (t) => {
  const outsider = await registerUser(hs, { localpart: 'outsider', password: 'outsider password' });
  // Corporal is in this invite-only room, but below its invite level: the admin join API, which
  // has the corporal user invite erin first, fails there.
  const foreignRoom = await createRoom(hs.baseUrl, outsider.accessToken, { preset: 'private_chat', invite: ['@corporal:localhost'], power_level_content_override: { invite: 50 } });
  await joinRoom(hs.baseUrl, admin, foreignRoom);
  // Corporal is not in this invite-only room at all: the join could only fail, so it is held
  // (operator review 22, #4).
  const closedRoom = await createRoom(hs.baseUrl, outsider.accessToken, { preset: 'private_chat' });
  const missingRoom = '!doesnotexist:localhost';
  const erin = '@erin:localhost';
  const specs: UserSpec[] = [
    ...Object.values(users),
    { id: erin, displayName: 'Erin', joinedRooms: [[publicRoom, 0], [foreignRoom, 10], [closedRoom, 0], [missingRoom, 0]] },
  ];
  const policy = snapshot(++generation, [...managed, foreignRoom, closedRoom, missingRoom], specs);
  const run = await reconcile(policy, 'all');
  t.equal(run.outcome, 'completed', 'the run completes');
  t.same(run.skippedRooms.map((room) => room.roomId), [missingRoom], 'the unreadable room is reported');
  t.match(run.skippedRooms[0]?.reason, /404|not found/i);
  t.equal(run.actionsFailed, 1, "the foreign room's join failed, nothing else");
  t.match(run.failures, [{ userId: erin, roomId: foreignRoom, actionType: 'room.join', code: 'CORP_ERR_UPSTREAM_STATUS', error: /403/ }]);
  // The corporal user cannot invite or set levels there: the full pass says so (red team 12, F2),
  // and Synapse would refuse erin's 10: a warning, not a power-levels write that fails on every retry.
  t.same(run.warnings.filter((w) => w.roomId === foreignRoom).map((w) => w.code), ['plan.corporal_lacks_power', 'plan.level_not_settable']);
  t.same(run.warnings.filter((w) => w.roomId === closedRoom).map((w) => w.code), ['plan.corporal_not_joined', 'plan.corporal_lacks_power', 'plan.joins_held']);
  t.match(run.warnings.find((w) => w.code === 'plan.joins_held'), { roomId: closedRoom, message: /1 join to .* held \(@erin:localhost\).*join rule invite/ });
  t.notOk((await members(closedRoom)).includes(erin), 'Synapse: erin is not in the closed room');
  t.equal((await profile(erin)).displayname, 'Erin', "the failed user's other actions ran");
  t.ok((await members(publicRoom)).includes(erin));
  const retries = loop.status().retries;
  t.equal(retries.length, 1);
  t.match(retries, [{ userId: erin, attempt: 1 }], 'the failed user is scheduled for a retry');
  for (const retry of retries) t.ok(retry.dueAt > Date.now(), 'after a backoff delay');
});

t.test('a new user without a display name converges in one pass (run last: it adds a user to the policy): the localpart Synapse gives is cleared at creation', async (t) => {
  const nameless = '@nameless:localhost';
  const specs: UserSpec[] = [...Object.values(users), { id: nameless, authType: 'plain', joinedRooms: [[publicRoom, 0]] }];
  // Runs for this one user, so that what earlier tests left elsewhere does not count.
  const created = await reconcile(policyOf(specs), new Set([nameless]));
  t.same(created.failures, []);
  t.equal(created.actionsDone, 3, 'create, the name, the join');
  const account = await matrixCall<{ displayname: string | null }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(nameless)}`, { token: admin });
  t.equal(account.displayname ?? '', '', 'no name, not the localpart');
  const again = await reconcile(policyOf(specs), new Set([nameless]));
  t.equal(again.generation, created.generation + 1, 'a run of its own');
  t.equal(again.actionsPlanned, 0, 'nothing left for a second pass');
  const memberEvent = await matrixCall<{ displayname?: string }>(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(publicRoom)}/state/m.room.member/${encodeURIComponent(nameless)}`, { token: admin });
  t.equal(memberEvent.displayname ?? '', '', 'the join carried no name either');
});
