import t from 'tap';
import { matrixCall, matrixRequest, whoami } from '../../support/matrix-client.js';
import { ACCOUNTS, CHECKED_ACCOUNTS, passwordLogin, postLogin, startLoginWorld } from '../../fixtures/login/login-world.js';

/**
 * Logins through Corporal's real gateway into a stock Synapse (no password module). Checked
 * users' Synapse passwords are their derived passwords, as the reconciler sets them; the
 * reconciler runs (the admin has its derived password) and enforces the same policy meanwhile.
 */
// Synapse's own failed-login limit (3 failures, then 429), which wrong policy passwords must count against.
const world = await startLoginWorld(t, { reconcile: true, synapseConfig: { rc_login: { failed_attempts: { per_second: 0.01, burst_count: 3 } } } });
const { gw, hs } = world;

interface Session {
  user_id: string;
  access_token: string;
  device_id: string;
  refresh_token?: string;
}

async function loginThroughGateway(body: Record<string, unknown>): Promise<Session> {
  return matrixCall<Session>(gw.baseUrl, 'POST', '/_matrix/client/v3/login', { body });
}

t.test('every checked auth type ends with a working access token', async (t) => {
  for (const acct of CHECKED_ACCOUNTS) {
    const session = await loginThroughGateway(passwordLogin(acct.localpart, acct.password));
    t.equal(session.user_id, acct.id, `${acct.authType}: logged in`);
    t.same(await whoami(gw.baseUrl, session.access_token), { userId: acct.id, deviceId: session.device_id }, `${acct.authType}: whoami through the gateway`);
  }
});

t.test('wrong passwords are refused by Corporal, for every checked type', async (t) => {
  for (const acct of CHECKED_ACCOUNTS) {
    const answer = await postLogin(gw.baseUrl, passwordLogin(acct.id, `${acct.password}!`));
    t.equal(answer.status, 403, acct.authType ?? '');
    t.same(answer.json, { errcode: 'M_FORBIDDEN', error: 'Failed authentication' }, `${acct.authType}: wrong password`);
    t.equal(answer.headers['access-control-allow-origin'], '*');
  }
});

t.test('the rest service down is an authenticator error', async (t) => {
  world.rest.mode = 'unavailable';
  t.teardown(() => {
    world.rest.mode = 'up';
  });
  const answer = await postLogin(gw.baseUrl, passwordLogin('rita', ACCOUNTS.rita.password));
  t.same([answer.status, answer.json], [403, { errcode: 'M_UNKNOWN', error: 'Internal authenticator error' }]);
});

t.test('case variants and the deprecated user field log in the exact policy user', async (t) => {
  for (const body of [
    passwordLogin('ALICE', 'alice-pw'),
    passwordLogin('@Alice:LOCALHOST', 'alice-pw'),
    { type: 'm.login.password', user: 'Alice', password: 'alice-pw' },
  ]) {
    const session = await loginThroughGateway(body);
    t.equal(session.user_id, ACCOUNTS.alice.id, JSON.stringify(body));
  }
});

t.test('Synapse precedence: Corporal authorises the user Synapse logs in', async (t) => {
  const alice = await loginThroughGateway({ ...passwordLogin('zed', 'alice-pw'), user: 'alice' });
  t.equal((await whoami(gw.baseUrl, alice.access_token)).userId, ACCOUNTS.alice.id, 'top-level user beats identifier');
  const asZed = await postLogin(gw.baseUrl, { ...passwordLogin('alice', 'alice-pw'), user: 'zed' });
  t.equal(asZed.status, 403, "alice's password is not zed's: Synapse refuses, nothing was vouched for alice");
  t.match(asZed.json, { errcode: 'M_FORBIDDEN', error: 'Invalid username or password' }, "Synapse's own answer");
  const zed = await loginThroughGateway({ ...passwordLogin('alice', 'whatever'), user: 'zed', password: 'zed-pw' });
  t.equal(zed.user_id, ACCOUNTS.zed.id);
});

t.test('refresh_token and device_id survive the rewrite', async (t) => {
  const session = await loginThroughGateway(passwordLogin('frank', 'frank-pw', { refresh_token: true, device_id: 'FRANKPHONE', initial_device_display_name: 'Phone' }));
  t.equal(session.device_id, 'FRANKPHONE');
  t.type(session.refresh_token, 'string', 'a refresh token was issued');
  const refreshed = await matrixCall<{ access_token: string; refresh_token: string }>(gw.baseUrl, 'POST', '/_matrix/client/v3/refresh', { body: { refresh_token: session.refresh_token } });
  t.same(await whoami(gw.baseUrl, refreshed.access_token), { userId: ACCOUNTS.frank.id, deviceId: 'FRANKPHONE' }, 'the refreshed token works');
  const devices = await matrixCall<{ devices: Array<{ device_id: string; display_name?: string }> }>(gw.baseUrl, 'GET', '/_matrix/client/v3/devices', { token: refreshed.access_token });
  t.equal(devices.devices.find((device) => device.device_id === 'FRANKPHONE')?.display_name, 'Phone');
});

t.test('inactive, passthrough and unmanaged users', async (t) => {
  const dave = await postLogin(gw.baseUrl, passwordLogin('dave', 'dave-pw'));
  t.same([dave.status, dave.json], [403, { errcode: 'M_USER_DEACTIVATED', error: 'Deactivated in policy' }]);
  const bob = await loginThroughGateway(passwordLogin('bob', 'bob-pw'));
  t.equal((await whoami(gw.baseUrl, bob.access_token)).userId, ACCOUNTS.bob.id, 'passthrough: Synapse checks its own password');
  const bobWrong = await postLogin(gw.baseUrl, passwordLogin('bob', 'nope'));
  t.match([bobWrong.status, bobWrong.json], [403, { errcode: 'M_FORBIDDEN', error: 'Invalid username or password' }], "passthrough: Synapse's answer");
  const zed = await loginThroughGateway(passwordLogin('zed', 'zed-pw'));
  t.equal((await whoami(gw.baseUrl, zed.access_token)).userId, ACCOUNTS.zed.id, 'unmanaged');
});

t.test('other login types and 3PID logins are refused', async (t) => {
  const cases: Array<[Record<string, unknown>, unknown]> = [
    [{ type: 'm.login.application_service', identifier: { type: 'm.id.user', user: 'alice' } }, { errcode: 'M_FORBIDDEN', error: 'Denying login type: m.login.application_service' }],
    [{ type: 'com.devture.shared_secret_auth', identifier: { type: 'm.id.user', user: 'alice' }, token: 'x' }, { errcode: 'M_FORBIDDEN', error: 'Denying login type: com.devture.shared_secret_auth' }],
    [{ type: 'm.login.password', medium: 'email', address: 'bob@example.org', password: 'bob-pw' }, { errcode: 'M_UNKNOWN', error: '3pid login requests are not allowed on this server' }],
    [{ type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'bob@example.org' }, password: 'bob-pw' }, { errcode: 'M_UNKNOWN', error: '3pid login requests are not allowed on this server' }],
    [{ type: 'm.login.password', identifier: { type: 'm.id.user', user: '@alice:elsewhere.org' }, password: 'alice-pw' }, { errcode: 'M_FORBIDDEN', error: 'Rejecting non-own domains' }],
  ];
  for (const [body, expected] of cases) {
    const answer = await postLogin(gw.baseUrl, body);
    t.same([answer.status, answer.json], [403, expected], JSON.stringify(body));
  }
  const notJson = await matrixRequest(gw.baseUrl, 'POST', '/_matrix/client/v3/login', { rawBody: 'type=m.login.password', headers: { 'content-type': 'text/plain' } });
  t.same([notJson.status, notJson.json], [403, { errcode: 'M_BAD_JSON', error: 'Bad input' }]);
  // Sent as a form, Synapse would also read it as request arguments (firewall.md §1): refused first.
  const form = await matrixRequest(gw.baseUrl, 'POST', '/_matrix/client/v3/login', { rawBody: 'type=m.login.password', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.match([form.status, form.json], [415, { errcode: 'M_UNRECOGNIZED' }]);
});

t.test('the same body straight at Synapse fails: only the gateway knows the derived password', async (t) => {
  const direct = await postLogin(hs.baseUrl, passwordLogin('alice', 'alice-pw'));
  t.equal(direct.status, 403);
});

t.test('GET /login (the flows) is proxied', async (t) => {
  const flows = await matrixCall<{ flows: Array<{ type: string }> }>(gw.baseUrl, 'GET', '/_matrix/client/v3/login');
  t.ok(flows.flows.some((flow) => flow.type === 'm.login.password'));
});

t.test('login forms the router polices but Synapse does not serve: 404 before any password check', async (t) => {
  // Router parity review F1: the password was checked there, Synapse's 404 told a right one from a
  // wrong one, and Synapse's failed-login limit never counted the guesses.
  const acct = CHECKED_ACCOUNTS[0]!;
  for (const path of ['/_matrix/client/v1/login', '/_matrix/client/v3/login/', '/_matrix/client/unstable/com.example/login', '/_matrix/client/api/v1/login/']) {
    const answers = [];
    for (const password of ['wrong-1', 'wrong-2', 'wrong-3', 'wrong-4', acct.password]) {
      const answer = await matrixRequest(gw.baseUrl, 'POST', path, { body: passwordLogin(acct.localpart, password) });
      answers.push({ status: answer.status, json: answer.json });
    }
    t.same(answers, Array(5).fill({ status: 404, json: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' } }), `${path}: the same 404 for right and wrong passwords`);
  }
  const session = await loginThroughGateway(passwordLogin(acct.localpart, acct.password));
  t.equal(session.user_id, acct.id, 'the served path still logs in (and was not rate-limited by those)');
});

t.test("wrong policy passwords count against Synapse's failed-login limit", async (t) => {
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 6 && statuses.at(-1) !== 429; attempt++) {
    const answer = await postLogin(gw.baseUrl, passwordLogin('kate', `guess-${attempt}`));
    statuses.push(answer.status);
    if (answer.status === 403) t.same(answer.json, { errcode: 'M_FORBIDDEN', error: 'Failed authentication' }, `guess ${attempt}`);
    else t.match(answer.json, { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: Number }, `guess ${attempt}: Synapse's 429 reaches the client`);
  }
  t.same(statuses, [403, 403, 403, 429], 'three failures, then the limit');
  const right = await postLogin(gw.baseUrl, passwordLogin('kate', ACCOUNTS.kate.password));
  t.equal(right.status, 429, 'until the limit refills, as at Synapse, even the right password waits');
  t.equal((await postLogin(gw.baseUrl, passwordLogin('alice', ACCOUNTS.alice.password))).status, 200, 'other users are not affected');
});
