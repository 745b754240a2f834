import t from 'tap';
import { matrixRequest } from '../../support/matrix-client.js';
import { startGateway } from '../../integration/gateway/fixtures/gateway-harness.js';
import { ACCOUNTS, startLoginWorld } from '../../fixtures/login/login-world.js';

/** The internal REST auth endpoint on the real gateway (the REST password-provider module's protocol). */
const world = await startLoginWorld(t);
const { gw } = world;
const PATH = '/_matrix/corporal/_matrix-internal/identity/v1/check_credentials';

function check(baseUrl: string, id: unknown, password: unknown) {
  return matrixRequest(baseUrl, 'POST', PATH, { body: { user: { id, password } } });
}

t.test('right and wrong passwords, every auth type', async (t) => {
  for (const acct of [ACCOUNTS.alice, ACCOUNTS.carol, ACCOUNTS.erin, ACCOUNTS.frank, ACCOUNTS.grace, ACCOUNTS.henry, ACCOUNTS.rita]) {
    const right = await check(gw.baseUrl, acct.id, acct.password);
    t.same([right.status, right.json], [200, { auth: { success: true, mxid: acct.id, profile: { display_name: `${acct.localpart} (policy)` } } }], `${acct.authType} right`);
    t.match(right.headers['content-type'], /application\/json/);
    const wrong = await check(gw.baseUrl, acct.id, 'wrong');
    t.same([wrong.status, wrong.json], [200, { auth: { success: false } }], `${acct.authType} wrong (bcrypt included)`);
  }
});

t.test('wrong passwords for one user are bounded: then 429, the right password included (red team 15, F3)', async (t) => {
  // Henry had one wrong password in the first test: two more are checked (three if the budget has
  // refilled since, 5.9 s), then the next is refused.
  const statuses: number[] = [];
  for (let i = 0; i < 4 && statuses.at(-1) !== 429; i++) statuses.push((await check(gw.baseUrl, ACCOUNTS.henry.id, `guess-${i}`)).status);
  const checked = statuses.filter((status) => status === 200).length;
  t.ok(checked === 2 || checked === 3, `a burst of 3 wrong passwords is checked (${statuses.join(', ')})`);
  t.equal(statuses.at(-1), 429, 'then refused');
  const right = await check(gw.baseUrl, ACCOUNTS.henry.id, ACCOUNTS.henry.password);
  t.match([right.status, right.json], [429, { errcode: 'M_LIMIT_EXCEEDED' }], 'the right password is not checked either');
  t.ok(Number(right.headers['retry-after']) >= 1, 'with Retry-After');
  const other = await check(gw.baseUrl, ACCOUNTS.alice.id, ACCOUNTS.alice.password);
  t.same([other.status, (other.json as { auth: { success: boolean } }).auth.success], [200, true], 'another user is not affected');
});

t.test('users Corporal does not vouch for, and bad requests', async (t) => {
  for (const [id, password] of [['bob', 'bob-pw'], ['dave', 'dave-pw'], ['zed', 'zed-pw'], ['@alice:elsewhere.org', 'alice-pw'], ['', 'x']]) {
    const answer = await check(gw.baseUrl, id, password);
    t.same([answer.status, answer.json], [200, { auth: { success: false } }], `${id}`);
  }
  const bad = await matrixRequest(gw.baseUrl, 'POST', PATH, { rawBody: 'user=alice' });
  t.same([bad.status, bad.json], [400, { errcode: 'M_BAD_JSON', error: 'Bad request payload' }]);
  world.rest.mode = 'garbled';
  t.teardown(() => {
    world.rest.mode = 'up';
  });
  const error = await check(gw.baseUrl, ACCOUNTS.rita.id, ACCOUNTS.rita.password);
  t.same([error.status, error.json], [500, { errcode: 'M_UNKNOWN', error: 'Internal authenticator error' }]);
});

t.test('a request that came through a reverse proxy is refused, whatever client the headers name', async (t) => {
  // The TCP peer (loopback here) would be the proxy: the allow-list cannot be checked against the real client.
  const body = { user: { id: 'alice', password: 'alice-pw' } };
  const proxied: Record<string, string>[] = [{ 'x-forwarded-for': '8.8.8.8' }, { 'x-forwarded-for': '127.0.0.1' }, { forwarded: 'for=127.0.0.1' }, { 'x-real-ip': '10.0.0.1' }];
  for (const headers of proxied) {
    const answer = await matrixRequest(gw.baseUrl, 'POST', PATH, { body, headers });
    t.same([answer.status, answer.json], [403, { errcode: 'M_FORBIDDEN', error: 'Refusing to authenticate this HTTP request (bad source IP)' }], JSON.stringify(headers));
  }
  t.equal((await matrixRequest(gw.baseUrl, 'POST', PATH, { body })).status, 200, 'called directly, as Synapse\'s password provider does');
});

t.test('disabled (the default), the endpoint refuses', async (t) => {
  const off = await startGateway({ upstream: world.hs.baseUrl, threads: 1 });
  t.teardown(() => off.stop());
  const answer = await check(off.baseUrl, 'alice', 'alice-pw');
  t.same([answer.status, answer.json], [403, { errcode: 'M_FORBIDDEN', error: 'Internal REST auth is not enabled' }]);
});
