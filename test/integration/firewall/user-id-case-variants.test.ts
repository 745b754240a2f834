import t from 'tap';
import { derivedPassword } from '../../../src/common/derived-password.js';
import { allThreadsAt } from '../../support/control-plane-api.js';
import { waitFor } from '../../support/control-plane.js';
import { TEST_AUTH_SHARED_SECRET } from '../../support/corporal-config.js';
import { createRoom, matrixCall, matrixRequest, registerUser } from '../../support/matrix-client.js';
import { serveAgainst, TEST_CORPORAL_USER as CORPORAL } from '../../support/serve-against.js';
import { startSynapse } from '../../support/start-synapse.js';

// A policy id that differs only in case from the account it means (`@Carol` for `@carol`): login
// matches ids ignoring case, as Synapse does, while every other rule matches them exactly, so the
// account would log in as the policy's user and then be treated as unmanaged (red team 10, F4).
// Corporal refuses such an account's logins and requests until the policy names it exactly.

const hs = await startSynapse({ adminPassword: derivedPassword(TEST_AUTH_SHARED_SECRET, CORPORAL) });
t.teardown(() => hs.stop());
const admin = hs.admin.accessToken;
const enc = encodeURIComponent;
const carol = await registerUser(hs, { localpart: 'carol', password: 'carol password' });
const managed = await createRoom(hs.baseUrl, admin, { preset: 'public_chat', room_version: '11' });
await matrixCall(hs.baseUrl, 'POST', `/_matrix/client/v3/join/${enc(managed)}`, { token: carol.accessToken, body: {} });

const { api, gatewayUrl } = await serveAgainst(t, { homeserverUrl: hs.baseUrl, registrationSharedSecret: hs.registrationSharedSecret });
const CASE_VARIANT = "Denied by policy (this account's user id differs only in case from one the policy manages; the policy must name it exactly)";
const policyFor = (id: string) => ({
  schemaVersion: 2, flags: {}, managedRoomIds: [managed],
  users: [{ id, active: true, authType: 'passthrough', authCredential: '', joinedRooms: [{ roomId: managed, powerLevel: 0 }] }],
});

async function pushAndWait(policy: Record<string, unknown>): Promise<void> {
  const generation = ((await api.status()).policy?.generation ?? 0) + 1;
  const put = await api.putPolicy(policy);
  if (put.status !== 200) throw new Error(`policy push answered ${put.status}: ${JSON.stringify(put.body)}`);
  await waitFor(`generation ${generation} enforced`, async () => allThreadsAt(await api.status(), generation), 30_000, 50);
}

async function members(): Promise<string[]> {
  return (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${enc(managed)}/members`, { token: admin })).members;
}

async function devices(): Promise<number> {
  return (await matrixCall<{ devices: unknown[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${enc(carol.userId)}/devices`, { token: admin })).devices.length;
}

const login = () => matrixRequest(gatewayUrl, 'POST', '/_matrix/client/v3/login', {
  body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: 'carol password' },
});

t.test('policy @Carol, account @carol: refused until the policy names the account exactly', async (t) => {
  await api.statusWhenUp();
  await pushAndWait(policyFor('@Carol:localhost'));
  const devicesBefore = await devices();

  const refused = await login();
  t.match(refused, { status: 403, json: { errcode: 'M_FORBIDDEN', error: CASE_VARIANT } }, 'the login is refused');
  t.equal(await devices(), devicesBefore, 'Synapse: the session it opened was logged out');

  const leave = await matrixRequest(gatewayUrl, 'POST', `/_matrix/client/v3/rooms/${enc(managed)}/leave`, { token: carol.accessToken, body: {} });
  t.match(leave, { status: 403, json: { errcode: 'M_FORBIDDEN', error: CASE_VARIANT } }, 'an existing session cannot leave the room the policy requires it in');
  const whoami = await matrixRequest(gatewayUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: carol.accessToken });
  t.equal(whoami.status, 403, 'nor do anything else through the gateway');
  t.ok((await members()).includes(carol.userId), 'Synapse: carol is still in the managed room');

  await pushAndWait(policyFor('@carol:localhost'));
  t.equal((await login()).status, 200, 'named exactly: the login passes');
  t.equal((await matrixRequest(gatewayUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: carol.accessToken })).status, 200, 'and so do requests');
});
