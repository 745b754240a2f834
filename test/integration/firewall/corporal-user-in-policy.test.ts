import t from 'tap';
import { pushAndSettle } from '../../support/control-plane-api.js';
import { matrixRequest } from '../../support/matrix-client.js';
import { serveAgainst, synapseWithCorporalAdmin, TEST_CORPORAL_USER } from '../../support/serve-against.js';

/**
 * Red team 11, F1: a policy entry for `Corporal.UserID` is ignored everywhere, not only by the
 * reconciler. Before, the gateway's login interception checked the entry's credential and then
 * logged in with Corporal's derived password: whoever knew the policy password got a Synapse
 * server-admin token.
 */
t.test('a policy entry for Corporal.UserID logs nobody in as Corporal', async (t) => {
  const hs = await synapseWithCorporalAdmin(t);
  const { api, gatewayUrl } = await serveAgainst(t, { homeserverUrl: hs.baseUrl, registrationSharedSecret: hs.registrationSharedSecret });
  await api.statusWhenUp(30_000);
  const alice = { id: '@alice:localhost', active: true, authType: 'plain', authCredential: 'alice-password', joinedRooms: [] };
  // A case variant too: login matches policy users ignoring case.
  for (const listedAs of [TEST_CORPORAL_USER, '@Corporal:localhost']) {
    const policy = {
      schemaVersion: 2, flags: {}, managedRoomIds: [],
      users: [alice, { id: listedAs, active: true, authType: 'plain', authCredential: 'guessme', joinedRooms: [] }],
    };
    // The second push changes only the ignored entry: the reconciler has nothing to run for it.
    await pushAndSettle(api, policy, listedAs === TEST_CORPORAL_USER);
    const warnings = JSON.stringify((await api.status()).policy);
    t.match(warnings, /is Corporal\.UserID: Corporal never manages its own account, so this entry is ignored/, `listed as ${listedAs}: accepted, with a warning`);

    const devicesBefore = await corporalDevices(hs.baseUrl, hs.admin.accessToken);
    const login = await matrixRequest(gatewayUrl, 'POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'corporal' }, password: 'guessme' },
    });
    t.equal(login.status, 403, `listed as ${listedAs}: the policy password does not log in as Corporal (${login.text.slice(0, 120)})`);
    t.notOk((login.json as { access_token?: string } | null)?.access_token, 'no token');
    t.same(await corporalDevices(hs.baseUrl, hs.admin.accessToken), devicesBefore, 'Synapse created no session for Corporal');
  }

  // Managed users still log in with their policy password.
  const aliceLogin = await matrixRequest(gatewayUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'alice-password' },
  });
  t.equal(aliceLogin.status, 200, 'a managed user logs in as before');
});

/** The device ids of Corporal's account, from Synapse's admin API. */
async function corporalDevices(baseUrl: string, adminToken: string): Promise<string[]> {
  const answer = await matrixRequest(baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(TEST_CORPORAL_USER)}/devices`, { token: adminToken });
  if (answer.status !== 200) throw new Error(`devices: ${answer.status} ${answer.text}`);
  return (answer.json as { devices: Array<{ device_id: string }> }).devices.map((device) => device.device_id).sort();
}
