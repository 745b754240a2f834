import t from 'tap';
import { matrixCall, matrixRequest, type MatrixResponse } from '../../support/matrix-client.js';
import { ACCOUNTS, deviceIds, passwordLogin, startLoginWorld } from '../../fixtures/login/login-world.js';

/**
 * User-interactive auth through the gateway into a stock Synapse, without any password module:
 * managed users confirm with their policy password; Corporal verifies it and forwards the derived
 * password. A wrong password gets Synapse's own 401.
 */
const world = await startLoginWorld(t);
const { gw, hs } = world;

interface Login {
  access_token: string;
  device_id: string;
}

async function login(user: string, password: string): Promise<Login> {
  return matrixCall<Login>(gw.baseUrl, 'POST', '/_matrix/client/v3/login', { body: passwordLogin(user, password) });
}

/** `DELETE /devices/{id}` with `auth` (none: the first request, which asks for the flows). */
function deleteDevice(baseUrl: string, token: string, deviceId: string, auth?: Record<string, unknown>): Promise<MatrixResponse> {
  return matrixRequest(baseUrl, 'DELETE', `/_matrix/client/v3/devices/${encodeURIComponent(deviceId)}`, { token, body: auth === undefined ? {} : { auth } });
}

function sessionOf(response: MatrixResponse): string {
  const session = (response.json as { session?: unknown }).session;
  if (typeof session !== 'string') throw new Error(`no UIA session in ${response.status} ${response.text}`);
  return session;
}

t.test('a managed user deletes a device with the policy password (no module)', async (t) => {
  for (const acct of [ACCOUNTS.alice, ACCOUNTS.frank, ACCOUNTS.rita]) {
    const main = await login(acct.localpart, acct.password);
    const other = await login(acct.localpart, acct.password);
    const challenge = await deleteDevice(gw.baseUrl, main.access_token, other.device_id);
    t.equal(challenge.status, 401, `${acct.authType}: UIA asked`);
    const done = await deleteDevice(gw.baseUrl, main.access_token, other.device_id, {
      type: 'm.login.password', identifier: { type: 'm.id.user', user: acct.localpart }, password: acct.password, session: sessionOf(challenge),
    });
    t.equal(done.status, 200, `${acct.authType}: deleted (${done.text})`);
    t.notOk((await deviceIds(hs, acct.id)).includes(other.device_id), `${acct.authType}: the device is gone`);
  }
});

t.test("a wrong password gets Synapse's own 401, identical to a direct one", async (t) => {
  const main = await login('carol', 'carol-pw');
  const other = await login('carol', 'carol-pw');
  const viaGateway = await deleteDevice(gw.baseUrl, main.access_token, other.device_id);
  const gatewaySession = sessionOf(viaGateway);
  const refused = await deleteDevice(gw.baseUrl, main.access_token, other.device_id, {
    type: 'm.login.password', user: 'carol', password: 'not-carol', session: gatewaySession,
  });
  // The same mistake made directly at Synapse, in a session of its own.
  const direct = await deleteDevice(hs.baseUrl, main.access_token, other.device_id);
  const directSession = sessionOf(direct);
  const directRefused = await deleteDevice(hs.baseUrl, main.access_token, other.device_id, {
    type: 'm.login.password', identifier: { type: 'm.id.user', user: ACCOUNTS.carol.id }, password: 'not-the-derived-password', session: directSession,
  });
  t.equal(refused.status, 401);
  t.same(refused.json, { ...(directRefused.json as object), session: gatewaySession }, 'same flows, params, completed, errcode and error');
  t.match(refused.json, { errcode: 'M_FORBIDDEN', error: 'Invalid username or password', flows: [{ stages: ['m.login.password'] }] });
  t.ok((await deviceIds(hs, ACCOUNTS.carol.id)).includes(other.device_id), 'nothing deleted');
  const retry = await deleteDevice(gw.baseUrl, main.access_token, other.device_id, {
    type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: 'carol-pw', session: gatewaySession,
  });
  t.equal(retry.status, 200, 'the same UIA session then succeeds with the right password');
});

t.test('delete_devices (POST) and passthrough users, whose stage is not touched', async (t) => {
  const main = await login('henry', 'henry-pw');
  const other = await login('henry', 'henry-pw');
  const challenge = await matrixRequest(gw.baseUrl, 'POST', '/_matrix/client/v3/delete_devices', { token: main.access_token, body: { devices: [other.device_id] } });
  const done = await matrixRequest(gw.baseUrl, 'POST', '/_matrix/client/v3/delete_devices', {
    token: main.access_token,
    body: { devices: [other.device_id], auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'henry' }, password: 'henry-pw', session: sessionOf(challenge) } },
  });
  t.equal(done.status, 200, done.text);

  const bob = await login('bob', 'bob-pw');
  const bobOther = await login('bob', 'bob-pw');
  const bobChallenge = await deleteDevice(gw.baseUrl, bob.access_token, bobOther.device_id);
  const bobDone = await deleteDevice(gw.baseUrl, bob.access_token, bobOther.device_id, {
    type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: 'bob-pw', session: sessionOf(bobChallenge),
  });
  t.equal(bobDone.status, 200, 'passthrough: Synapse checks its own password');
});

t.test("a session cannot test another user's Synapse password through a stage naming them (quality review 17b)", async (t) => {
  const zed = await login('zed', 'zed-pw');
  const zedOther = await login('zed', 'zed-pw');
  /** A stage of zed's session naming bob (passthrough: Synapse holds his real password). */
  const namingBob = async (baseUrl: string, password: string): Promise<MatrixResponse> => {
    const challenge = await deleteDevice(baseUrl, zed.access_token, zedOther.device_id);
    return deleteDevice(baseUrl, zed.access_token, zedOther.device_id, {
      type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password, session: sessionOf(challenge),
    });
  };
  const directRight = await namingBob(hs.baseUrl, 'bob-pw');
  const directWrong = await namingBob(hs.baseUrl, 'not-bob-pw');
  t.same([directRight.status, directWrong.status], [403, 401], 'the premise: straight at Synapse, the answer tells a right password of bob\'s from a wrong one');
  const viaRight = await namingBob(gw.baseUrl, 'bob-pw');
  const viaWrong = await namingBob(gw.baseUrl, 'not-bob-pw');
  t.same([viaRight.status, viaWrong.status], [401, 401], 'through the gateway both are zed\'s own wrong password');
  t.match(viaRight.json, { errcode: 'M_FORBIDDEN', error: 'Invalid username or password' });
  t.ok((await deviceIds(hs, ACCOUNTS.zed.id)).includes(zedOther.device_id), 'nothing deleted');
  const own = await namingBob(gw.baseUrl, 'zed-pw');
  t.equal(own.status, 200, `zed's own password still confirms zed's action, whoever the stage named: ${own.text}`);
  t.notOk((await deviceIds(hs, ACCOUNTS.zed.id)).includes(zedOther.device_id), 'the device is gone');
});
