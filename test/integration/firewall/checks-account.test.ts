import t, { type Test } from 'tap';
import { createRoom, login, matrixCall, matrixRequest, passwordLoginBody, whoami } from '../../support/matrix-client.js';
import { requestVariants, startFirewallScenario, type RequestVariant, type ScenarioUser } from '../../support/firewall-scenario.js';

/**
 * Profile, account, registration, login-token and token rules through the real gateway in front of
 * a real Synapse (registration open, login tokens from an existing session and MSC3391 enabled): every denial
 * in every form leaves the profile, password, 3PIDs and accounts as they were; allowed actions
 * really change them.
 */

const s = await startFirewallScenario({
  enableRegistration: true,
  extraConfig: {
    login_via_existing_session: { enabled: true, require_ui_auth: false, token_timeout: '5m' },
    // MSC3391's DELETE of account data is served, so a missed check would really delete.
    experimental_features: { msc3391_enabled: true },
  },
});
t.teardown(() => s.stop());
const { users } = s;
const hs = s.hs;

const forbidden = (error: string) => ({ errcode: 'M_FORBIDDEN', error });
const DENIED_BY_POLICY = forbidden('Denied by policy');

async function allDenied(tt: Test, user: ScenarioUser | null, variants: readonly RequestVariant[], body: unknown, status: number, expected: unknown): Promise<void> {
  for (const variant of variants) {
    const response = await s.viaGateway(user, variant.method, variant.path, body);
    tt.same([response.status, response.json], [status, expected], `${variant.label}: ${variant.path}`);
  }
}

async function ok(tt: Test, user: ScenarioUser | null, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await s.viaGateway(user, method, path, body);
  tt.equal(response.status, 200, `${user} ${method} ${path}: ${response.text}`);
  return (response.json ?? {}) as Record<string, unknown>;
}

async function profileField(user: ScenarioUser, field: string): Promise<unknown> {
  const response = await matrixRequest(hs.baseUrl, 'GET', `/_matrix/client/v3/profile/${encodeURIComponent(users[user].userId)}/${field}`);
  return response.status === 404 ? null : ((response.json as Record<string, unknown>)[field] ?? null);
}

t.test('display names and avatars of managed users', async (t) => {
  const own = (key: string, user: ScenarioUser = 'alice') => requestVariants({ method: 'PUT', template: 'profile/{userId}/{key}', params: { userId: users[user].userId, key } });
  const encodedKey = ['r0', 'v3', 'unstable'].map((prefix) => ({
    method: 'PUT', path: `/_matrix/client/${prefix}/profile/${encodeURIComponent(users.alice.userId)}/display%6Eame`, label: `${prefix} encoded key`,
  }));
  const deletes = ['r0', 'v3'].map((prefix) => ({ method: 'DELETE', path: `/_matrix/client/${prefix}/profile/${encodeURIComponent(users.alice.userId)}/displayname`, label: `${prefix} DELETE` }));
  await ok(t, 'corporal', 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(users.alice.userId)}/displayname`, { displayname: 'Alice' });
  await allDenied(t, 'alice', [...own('displayname'), ...encodedKey, ...deletes], { displayname: 'Mallory' }, 403, DENIED_BY_POLICY);
  await allDenied(t, 'pat', own('avatar_url', 'pat'), { avatar_url: 'mxc://elsewhere/x' }, 403, DENIED_BY_POLICY);
  t.equal(await profileField('alice', 'displayname'), 'Alice', 'display name unchanged');
  t.equal(await profileField('pat', 'avatar_url'), null, 'avatar unchanged');
  await ok(t, 'bob', 'PUT', `/_matrix/client/r0/profile/${encodeURIComponent(users.bob.userId)}/displayname`, { displayname: '[x] Bob' });
  t.equal(await profileField('bob', 'displayname'), '[x] Bob', 'unmanaged users are not restricted');

  await s.setPolicy({ allowCustomUserDisplayNames: true, allowCustomUserAvatars: true });
  await allDenied(t, 'alice', [...own('displayname'), ...encodedKey], { displayname: 'A [x] lice' }, 403, forbidden('Denied - unallowed display name'));
  t.equal(await profileField('alice', 'displayname'), 'Alice');
  await ok(t, 'alice', 'PUT', encodedKey[1]!.path, { displayname: 'Alice Liddell' });
  t.equal(await profileField('alice', 'displayname'), 'Alice Liddell', 'allowed by the flag');
  await ok(t, 'pat', 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(users.pat.userId)}/avatar_url`, { avatar_url: 'mxc://elsewhere/x' });
  t.equal(await profileField('pat', 'avatar_url'), 'mxc://elsewhere/x');
  await s.setPolicy();
});

t.test("Corporal's account data is read-only to clients", async (t) => {
  const MARKER = 'io.corporal.password';
  const AVATAR_HASHES = 'com.devture.matrix.corporal.avatar_source_uri_hashes';
  const reserved = forbidden("Denied (this account data type is reserved for Corporal's own records)");
  const read = async (user: ScenarioUser, type: string): Promise<unknown> => {
    const path = `/_matrix/client/v3/user/${encodeURIComponent(users[user].userId)}/account_data/${type}`;
    const response = await matrixRequest(hs.baseUrl, 'GET', path, { token: users[user].accessToken });
    return response.status === 404 ? null : response.json;
  };
  // What the reconciler wrote, straight to Synapse (it never goes through the gateway).
  const recorded = { secret_tag: 'abcd1234' };
  await matrixCall(hs.baseUrl, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(users.alice.userId)}/account_data/${MARKER}`, { token: users.alice.accessToken, body: recorded });

  for (const user of ['alice', 'bob', 'corporal'] as const) {
    for (const type of [MARKER, AVATAR_HASHES]) {
      const writes = requestVariants({ method: 'PUT', template: 'user/{userId}/account_data/{type}', params: { userId: users[user].userId, type }, prefixes: ['r0', 'v3', 'unstable'] });
      const deletes = requestVariants({ method: 'DELETE', template: 'user/{userId}/account_data/{type}', params: { userId: users[user].userId, type }, prefixes: ['unstable/org.matrix.msc3391', 'unstable/org/matrix/msc3391'] });
      await allDenied(t, user, [...writes, ...deletes], { secret_tag: 'ffffffff', 'mxc://x/y': 'hash' }, 403, reserved);
      await allDenied(t, user, writes.slice(0, 2), {}, 403, reserved);
    }
  }
  t.same(await read('alice', MARKER), recorded, "alice's marker is the reconciler's");
  for (const user of ['bob', 'corporal'] as const) t.equal(await read(user, MARKER), null, `${user} has no marker`);
  for (const user of ['alice', 'bob', 'corporal'] as const) t.equal(await read(user, AVATAR_HASHES), null, `${user} has no avatar hashes`);

  await ok(t, 'alice', 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(users.alice.userId)}/account_data/org.example.settings`, { theme: 'dark' });
  t.same(await read('alice', 'org.example.settings'), { theme: 'dark' }, 'other types are written as usual');
});

t.test('deactivation and passwords', async (t) => {
  const auth = (user: ScenarioUser) => ({ auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: users[user].userId }, password: `${user}-pw` } });
  await allDenied(t, 'alice', requestVariants({ method: 'POST', template: 'account/deactivate', params: {}, prefixes: ['r0', 'v3', 'unstable'] }), auth('alice'), 403, forbidden('Denied'));
  t.equal((await whoami(hs.baseUrl, users.alice.accessToken)).userId, users.alice.userId, 'alice is still active');

  const password = requestVariants({ method: 'POST', template: 'account/password', params: {}, prefixes: ['r0', 'v3', 'unstable'] });
  await allDenied(t, 'alice', password, { new_password: 'changed', logout_devices: false, ...auth('alice') }, 403,
    forbidden('Denied: non-passthrough users are always authenticated against matrix-corporal, so password resets make no sense'));
  await allDenied(t, 'pat', password, { new_password: 'changed', logout_devices: false, ...auth('pat') }, 403,
    forbidden('Denied: passthrough user, but policy does not allow password changes'));
  await allDenied(t, null, password, { new_password: 'changed' }, 403, forbidden('Denied: unauthenticted password requests are not allowed on this server'));
  await login(hs.baseUrl, passwordLoginBody('alice', 'alice-pw'));
  await login(hs.baseUrl, passwordLoginBody('pat', 'pat-pw'));
  t.pass('old passwords still work');

  await s.setPolicy({ allowCustomPassthroughUserPasswords: true });
  await ok(t, 'pat', 'POST', '/_matrix/client/v3/account/password', { new_password: 'pat-pw-2', logout_devices: false, ...auth('pat') });
  await login(hs.baseUrl, passwordLoginBody('pat', 'pat-pw-2'));
  t.pass('the flag lets a passthrough user change the password');
  await ok(t, 'bob', 'POST', '/_matrix/client/r0/account/deactivate', auth('bob'));
  const gone = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/login', { body: passwordLoginBody('bob', 'bob-pw') });
  t.equal(gone.status, 403, 'an unmanaged user may deactivate themselves');
  await s.setPolicy();
});

t.test('3PIDs', async (t) => {
  const email = { medium: 'email', address: 'alice@example.org' };
  await matrixCall(hs.baseUrl, 'PUT', `/_synapse/admin/v2/users/${encodeURIComponent(users.alice.userId)}`, { token: users.corporal.accessToken, body: { threepids: [email] } });
  const threepids = async () => (await matrixCall<{ threepids: unknown[] }>(hs.baseUrl, 'GET', '/_matrix/client/v3/account/3pid', { token: users.alice.accessToken })).threepids.length;
  t.equal(await threepids(), 1);
  await s.setPolicy({ forbid3pidChanges: true });
  const denied = forbidden('Denied by policy (3PID changes are not allowed)');
  for (const action of ['add', 'bind', 'unbind', 'delete']) {
    await allDenied(t, 'alice', requestVariants({ method: 'POST', template: `account/3pid/${action}`, params: {}, prefixes: ['r0', 'v3'] }), { ...email, sid: 's', client_secret: 'c' }, 403, denied);
  }
  await allDenied(t, 'alice', requestVariants({ method: 'POST', template: 'account/3pid', params: {}, prefixes: ['v3'] }), { three_pid_creds: { sid: 's', client_secret: 'c' } }, 403, denied);
  t.equal(await threepids(), 1, 'the address is still there');
  await s.setPolicy();
  await ok(t, 'alice', 'POST', '/_matrix/client/v3/account/3pid/delete', email);
  t.equal(await threepids(), 0, 'without the flag the change goes through');
});

t.test('registration of managed ids', async (t) => {
  const exists = async (localpart: string) =>
    (await matrixRequest(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(`@${localpart}:${hs.serverName}`)}`, { token: users.corporal.accessToken })).status === 200;
  const register = requestVariants({ method: 'POST', template: 'register', params: {}, prefixes: ['r0', 'v3', 'unstable'] });
  for (const username of ['dave', 'DAVE', 'Alice']) {
    await allDenied(t, null, register, { username, password: 'pw', auth: { type: 'm.login.dummy' } }, 403, forbidden('Denied by policy (this user id is managed by the policy)'));
  }
  t.notOk(await exists('dave'), 'dave was not registered');
  const registered = await ok(t, null, 'POST', '/_matrix/client/v3/register', { username: 'erin', password: 'pw', auth: { type: 'm.login.dummy' } });
  t.equal(registered['user_id'], `@erin:${hs.serverName}`);
  t.ok(await exists('erin'), 'other ids register normally');
});

t.test('a password stage on registration is refused: it would test any user\'s password without a rate limit', async (t) => {
  // An unmanaged user of its own (earlier tests change bob's password and end his sessions).
  const gina = await matrixCall<{ access_token: string }>(hs.baseUrl, 'POST', '/_matrix/client/v3/register', {
    body: { username: 'gina', password: 'gina-pw', auth: { type: 'm.login.dummy' } },
  });
  const start = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/register', { body: {} });
  const session = (start.json as { session: string }).session;
  const probe = (password: string) => ({
    auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'gina' }, password, session },
  });
  const direct = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/register', { body: probe('gina-pw') });
  t.match(direct.json, { completed: ['m.login.password'] }, 'straight at Synapse, the right password shows as a completed stage');
  const register = requestVariants({ method: 'POST', template: 'register', params: {}, prefixes: ['r0', 'v3', 'unstable'] });
  const refused = forbidden('Denied (a password stage is not part of registration, nor of a password reset without an access token)');
  await allDenied(t, null, register, probe('gina-pw'), 403, refused);
  const withToken = await matrixRequest(s.gateway.baseUrl, 'POST', '/_matrix/client/v3/register', { token: gina.access_token, body: probe('gina-pw') });
  t.same([withToken.status, withToken.json], [403, refused], 'with a token as well');
});

t.test('inactive managed users are refused as locked accounts, before the reconciler locks them', async (t) => {
  const LOCKED = { errcode: 'M_USER_LOCKED', error: 'User account has been locked' };
  const carolRoom = await createRoom(hs.baseUrl, users.carol.accessToken);
  const send = (txnId: string, body: string) =>
    s.viaGateway('carol', 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(carolRoom)}/send/m.room.message/${txnId}`, { msgtype: 'm.text', body });
  const bodiesInRoom = async () => {
    const path = `/_synapse/admin/v1/rooms/${encodeURIComponent(carolRoom)}/messages?dir=b&limit=100`;
    const { chunk } = await matrixCall<{ chunk: { content: { body?: unknown } }[] }>(hs.baseUrl, 'GET', path, { token: users.corporal.accessToken });
    return chunk.map((event) => event.content.body).filter((body) => typeof body === 'string');
  };
  const accountData = `/_matrix/client/v3/user/${encodeURIComponent(users.carol.userId)}/account_data/org.example.note`;
  const spare = await login(hs.baseUrl, passwordLoginBody('carol', 'carol-pw'));

  await s.setPolicy({}, { carol: { active: false } });
  const mintToken = requestVariants({ method: 'POST', template: 'login/get_token', params: {}, prefixes: ['v1', 'v3'] })
    .concat(requestVariants({ method: 'POST', template: 'login/token', params: {}, prefixes: ['unstable/org.matrix.msc3882'] }));
  await allDenied(t, 'carol', mintToken, {}, 401, LOCKED);
  t.same([(await send('t1', 'while inactive')).json, (await s.viaGateway('carol', 'PUT', accountData, { n: 1 })).status], [LOCKED, 401], 'catch-all writes');
  t.same((await s.viaGateway('carol', 'GET', '/_matrix/client/v3/sync?timeout=0')).json, LOCKED, 'reads');
  const otherSession = await matrixRequest(s.gateway.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: spare.accessToken });
  t.equal(otherSession.status, 401, 'every session of the user');
  t.notOk((await bodiesInRoom()).includes('while inactive'), 'Synapse has no message of the inactive user');
  t.equal((await matrixRequest(hs.baseUrl, 'GET', accountData, { token: users.carol.accessToken })).status, 404, 'nor its account data');
  t.equal((await whoami(hs.baseUrl, users.carol.accessToken)).userId, users.carol.userId, 'Synapse itself still serves the token: the refusal is the gateway\'s');
  t.equal((await s.viaGateway('carol', 'GET', '/_matrix/client/versions')).status, 200, 'versions, served to locked accounts by Synapse');
  t.equal((await s.viaGateway('alice', 'GET', '/_matrix/client/v3/sync?timeout=0')).status, 200, 'active users are not affected');
  const minted = await ok(t, 'alice', 'POST', '/_matrix/client/v1/login/get_token', {});
  t.equal((await login(hs.baseUrl, { type: 'm.login.token', token: minted['login_token'] })).userId, users.alice.userId, 'active users mint login tokens');

  const loggedOut = await matrixRequest(s.gateway.baseUrl, 'POST', '/_matrix/client/v3/logout', { token: spare.accessToken, body: {} });
  t.equal(loggedOut.status, 200, 'logout, served to locked accounts by Synapse');
  t.equal((await matrixRequest(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: spare.accessToken })).status, 401, 'that session is gone at Synapse');

  await s.setPolicy();
  t.equal((await send('t2', 'active again')).status, 200, 'active in the policy again: served at once');
  t.ok((await bodiesInRoom()).includes('active again'));
});

t.test('token rules on policy-checked routes', async (t) => {
  const leave = `/_matrix/client/v3/rooms/${encodeURIComponent(s.rooms.managed)}/leave`;
  const none = await s.viaGateway(null, 'POST', leave, {});
  t.same([none.status, none.json], [401, { errcode: 'M_MISSING_TOKEN', error: 'Missing access token' }]);
  const unknown = await matrixRequest(s.gateway.baseUrl, 'POST', leave, { token: 'not-a-token', body: {} });
  t.same([unknown.status, unknown.json], [403, { errcode: 'M_UNKNOWN_TOKEN', error: 'Failed mapping access token to user id' }]);
  const mixed = await matrixRequest(s.gateway.baseUrl, 'POST', leave, { token: users.bob.accessToken, query: { access_token: users.bob.accessToken }, body: {} });
  t.same([mixed.status, (mixed.json as { errcode?: string }).errcode], [401, 'M_MISSING_TOKEN'], 'malformed credentials');
  const viaQuery = await matrixRequest(s.gateway.baseUrl, 'POST', leave, { query: { access_token: users.alice.accessToken }, body: {} });
  t.same([viaQuery.status, viaQuery.json], [403, DENIED_BY_POLICY], 'a token in the query string is the same user');
  t.equal(await s.membershipOf(s.rooms.managed, 'alice'), 'join');
});
