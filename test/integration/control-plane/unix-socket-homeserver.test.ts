import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { derivedPassword } from '../../../src/common/derived-password.js';
import { waitFor } from '../../support/control-plane.js';
import { TEST_AUTH_SHARED_SECRET } from '../../support/corporal-config.js';
import { createRoom, login, matrixCall, matrixRequest, passwordLoginBody, sendMessage } from '../../support/matrix-client.js';
import { serveAgainst, TEST_CORPORAL_USER } from '../../support/serve-against.js';
import { startSynapse } from '../../support/start-synapse.js';

/**
 * `Matrix.HomeserverApiSocketPath` end to end: a real Synapse serving its client listener on a Unix
 * socket as well as on TCP, and a `corporal serve` whose `HomeserverApiEndpoint` is a closed TCP
 * port. Everything Corporal does (admin session, reconciliation, login, proxying, policy checks,
 * streamed media) can therefore only work over the socket; the test reads Synapse's state over TCP.
 */
const hs = await startSynapse({
  adminPassword: derivedPassword(TEST_AUTH_SHARED_SECRET, TEST_CORPORAL_USER),
  unixSocket: true,
  xForwarded: true,
});
t.teardown(() => hs.stop());
const admin = hs.admin.accessToken;
const room = await createRoom(hs.baseUrl, admin, { preset: 'public_chat' });
const alice = '@alice:localhost';
const enc = encodeURIComponent;

const { api, gatewayUrl } = await serveAgainst(t, {
  // Port 9 (discard) is closed here: a single TCP connection attempt would fail the test.
  homeserverUrl: 'http://127.0.0.1:9',
  registrationSharedSecret: hs.registrationSharedSecret,
  overrides: { Matrix: { HomeserverApiSocketPath: hs.socketPath! }, Reconciliation: { ResyncIntervalMilliseconds: 0 } },
});

async function members(): Promise<string[]> {
  return (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${enc(room)}/members`, { token: admin })).members;
}

t.test('the reconciler reaches Synapse over the socket', async (t) => {
  await api.statusWhenUp();
  await waitFor('reconciler ready', async () => (await api.status()).reconciler?.state === 'ready', 30_000, 100);
  const policy = {
    schemaVersion: 2,
    flags: {},
    managedRoomIds: [room],
    users: [{ id: alice, active: true, authType: 'plain', authCredential: 'alice-pw', displayName: 'Alice', joinedRooms: [{ roomId: room, powerLevel: 0 }] }],
  };
  t.equal((await api.putPolicy(policy)).status, 200);
  await waitFor('the first pass', async () => {
    const status = await api.status();
    return status.reconciler?.lastRun?.generation === 1 && !status.reconciler.running;
  }, 60_000, 100);
  t.match((await api.status()).reconciler?.lastRun, { outcome: 'completed', actionsFailed: 0, failures: [] });
  const profile = await matrixCall<{ displayname: string }>(hs.baseUrl, 'GET', `/_matrix/client/v3/profile/${enc(alice)}/displayname`);
  t.equal(profile.displayname, 'Alice', 'user created with the policy name');
  t.ok((await members()).includes(alice), 'joined to the managed room');
});

t.test('the gateway logs in, proxies, checks and streams over the socket', async (t) => {
  const session = await login(gatewayUrl, passwordLoginBody('alice', 'alice-pw'));
  t.equal(session.userId, alice, 'policy login');
  const me = await matrixCall<{ user_id: string }>(gatewayUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: session.accessToken });
  t.equal(me.user_id, alice);

  const eventId = await sendMessage(gatewayUrl, session.accessToken, room, 'over a unix socket');
  const event = await matrixCall<{ content: { body: string } }>(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${enc(room)}/event/${enc(eventId)}`, { token: admin });
  t.equal(event.content.body, 'over a unix socket', 'the message is in the room at Synapse');

  const leave = await matrixRequest(gatewayUrl, 'POST', `/_matrix/client/v3/rooms/${enc(room)}/leave`, { token: session.accessToken, body: {} });
  t.same([leave.status, leave.json], [403, { errcode: 'M_FORBIDDEN', error: 'Denied by policy' }]);
  t.ok((await members()).includes(alice), 'still a member after the refused leave');

  const media = randomBytes(3 * 1024 * 1024);
  const upload = await request(`${gatewayUrl}/_matrix/media/v3/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session.accessToken}`, 'content-type': 'application/octet-stream' },
    body: media,
  });
  t.equal(upload.statusCode, 200);
  const contentUri = ((await upload.body.json()) as { content_uri: string }).content_uri;
  const [server, mediaId] = contentUri.slice('mxc://'.length).split('/');
  const download = await request(`${gatewayUrl}/_matrix/client/v1/media/download/${server}/${mediaId}`, {
    headers: { authorization: `Bearer ${session.accessToken}` },
  });
  t.equal(download.statusCode, 200);
  const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
  t.equal(digest(Buffer.from(await download.body.arrayBuffer())), digest(media), 'downloaded byte-exact');

  // Synapse takes the client's address from X-Forwarded-For on its socket listener (x_forwarded).
  let ips: string[] = [];
  await waitFor('Synapse records the client address', async () => {
    const whois = await matrixCall<{ devices: Record<string, { sessions: { connections: { ip: string }[] }[] }> }>(
      hs.baseUrl, 'GET', `/_synapse/admin/v1/whois/${enc(alice)}`, { token: admin },
    );
    ips = Object.values(whois.devices).flatMap((device) => device.sessions.flatMap((s) => s.connections.map((c) => c.ip)));
    return ips.length > 0;
  }, 20_000, 250);
  t.same([...new Set(ips)], ['127.0.0.1'], 'the client address reached Synapse');
});
