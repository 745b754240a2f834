import t from 'tap';
import { matrixRequest } from '../../support/matrix-client.js';
import { startFirewallScenario } from '../../support/firewall-scenario.js';

/**
 * A form-encoded POST body is read by Twisted (under Synapse) as arguments merged over the query
 * string, so an `access_token` in it makes Synapse act as another user than the one in the
 * header or query — the one the gateway checked. Such bodies are refused on Matrix API routes;
 * Synapse's memberships show that nothing happened.
 */

const s = await startFirewallScenario();
t.teardown(() => s.stop());
const { rooms, users } = s;

/** A JSON body that is also a form carrying `token` (`parse_qs` splits on `&`). */
const smuggling = (token: string): string => JSON.stringify({ reason: `&access_token=${token}&` });

t.test('the premise: Synapse acts as the body token\'s user', async (t) => {
  t.equal(await s.membershipOf(rooms.open, 'carol'), null);
  const direct = await matrixRequest(s.hs.baseUrl, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.open)}/join`, {
    query: { access_token: users.bob.accessToken },
    rawBody: smuggling(users.carol.accessToken),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(direct.status, 200, 'straight to Synapse, with bob\'s token in the query');
  t.equal(await s.membershipOf(rooms.open, 'carol'), 'join', 'carol joined: Synapse used the token in the body');
});

t.test('refused through the gateway in every spelling Twisted parses as a form', async (t) => {
  const leave = `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.managed)}/leave`;
  for (const contentType of [
    'application/x-www-form-urlencoded',
    ' APPLICATION/X-WWW-FORM-URLENCODED ; charset=utf-8',
    'application/x-www-form-urlencoded;',
    '=?utf-8?b?YXBwbGljYXRpb24veC13d3ctZm9ybS11cmxlbmNvZGVk?=', // an RFC 2047 encoded word: decoded by Python
    'multipart/form-data; boundary=x',
  ]) {
    const response = await matrixRequest(s.gateway.baseUrl, 'POST', leave, {
      query: { access_token: users.bob.accessToken },
      rawBody: smuggling(users.alice.accessToken),
      headers: { 'content-type': contentType },
    });
    t.equal(response.status, 415, JSON.stringify(contentType));
    t.match(response.json, { errcode: 'M_UNRECOGNIZED' });
  }
  t.equal(await s.membershipOf(rooms.managed, 'alice'), 'join', 'alice (required in the room) is still in it');
  t.equal(await s.membershipOf(rooms.managed, 'bob'), 'join', 'and so is bob');
});

t.test('the same body as JSON is proxied as the header\'s user', async (t) => {
  const response = await matrixRequest(s.gateway.baseUrl, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.open)}/leave`, {
    token: users.bob.accessToken,
    rawBody: smuggling(users.carol.accessToken),
    headers: { 'content-type': 'application/json' },
  });
  t.equal(response.status, 200);
  t.equal(await s.membershipOf(rooms.open, 'bob'), 'leave', 'bob left');
  t.equal(await s.membershipOf(rooms.open, 'carol'), 'join', 'carol did not');
});

t.test('Synapse\'s own form pages outside the Matrix APIs still get their forms', async (t) => {
  const response = await matrixRequest(s.gateway.baseUrl, 'POST', '/_synapse/client/pick_username/submit', {
    rawBody: 'username=x',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.not(response.status, 415, `proxied (Synapse answered ${response.status})`);
});

t.test('the UIA fallback page gets its form (session and answer), as Synapse reads no token there', async (t) => {
  const path = '/_matrix/client/v3/auth/m.login.terms/fallback/web';
  const form = { rawBody: 'session=no-such-session&accept=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  const direct = await matrixRequest(s.hs.baseUrl, 'POST', path, form);
  const through = await matrixRequest(s.gateway.baseUrl, 'POST', path, form);
  t.not(through.status, 415, `proxied (Synapse answered ${through.status})`);
  t.equal(through.status, direct.status, 'answered as Synapse answers it');
});

t.test('forms are refused on the admin API and other paths outside Synapse\'s form pages', async (t) => {
  for (const path of [`/_synapse/admin/v1/deactivate/${encodeURIComponent(users.carol.userId)}`, '/_matrix/federation/v1/version', '/_synapse/clientx']) {
    const response = await matrixRequest(s.gateway.baseUrl, 'POST', path, {
      query: { access_token: users.bob.accessToken },
      rawBody: smuggling(users.corporal.accessToken),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    t.equal(response.status, 415, path);
  }
  const deactivated = await matrixRequest(s.hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(users.carol.userId)}`, { token: users.corporal.accessToken });
  t.match(deactivated.json, { deactivated: false }, 'Synapse: carol is still active');
});
