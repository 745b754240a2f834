import t from 'tap';
import { connect, type Socket } from 'node:net';
import { derivedPassword } from '../../../src/common/derived-password.js';
import { pushAndSettle } from '../../support/control-plane-api.js';
import { pause, waitFor } from '../../support/control-plane.js';
import { TEST_AUTH_SHARED_SECRET } from '../../support/corporal-config.js';
import { createRoom, matrixCall, matrixRequest, registerUser } from '../../support/matrix-client.js';
import { serveAgainst, TEST_CORPORAL_USER as CORPORAL } from '../../support/serve-against.js';
import { startSynapse } from '../../support/start-synapse.js';

// A request let through on one policy can wait for a connection of the thread's capped upstream
// pool, and clients that hold every connection (downloads they do not read) decide how long. (One
// user holds at most an eighth of the pool, at least one connection: here two users hold both.)
// If a newer policy arrives meanwhile, the request must not reach Synapse (red team 10,
// verification V1): it is answered 503 and may be sent again.

const CONNECTIONS = 2;
const hs = await startSynapse({ adminPassword: derivedPassword(TEST_AUTH_SHARED_SECRET, CORPORAL) });
t.teardown(() => hs.stop());
const admin = hs.admin.accessToken;
const enc = encodeURIComponent;

const bob = await registerUser(hs, { localpart: 'bob', password: 'bob password' });
const holders = await Promise.all([1, 2].map((i) => registerUser(hs, { localpart: `holder${i}`, password: 'holder password' })));
const laterManaged = await createRoom(hs.baseUrl, admin, {
  preset: 'public_chat', room_version: '11', power_level_content_override: { users: { [CORPORAL]: 100, [bob.userId]: 100 } },
});
await matrixCall(hs.baseUrl, 'POST', `/_matrix/client/v3/join/${enc(laterManaged)}`, { token: bob.accessToken, body: {} });
// Large enough that a download nobody reads cannot finish into the socket buffers.
const upload = await fetch(`${hs.baseUrl}/_matrix/media/v3/upload?filename=big.bin`, {
  method: 'POST', headers: { authorization: `Bearer ${bob.accessToken}`, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(32 * 1024 * 1024, 0x61),
});
const mediaId = ((await upload.json()) as { content_uri: string }).content_uri.split('/').pop()!;

const { api, gatewayUrl } = await serveAgainst(t, {
  homeserverUrl: hs.baseUrl, registrationSharedSecret: hs.registrationSharedSecret, overrides: { HttpGateway: { UpstreamConnections: CONNECTIONS } },
});
const gatewayPort = Number(new URL(gatewayUrl).port);

/** A raw HTTP/1.1 exchange on its own connection; `answer()` is what came back so far. */
function rawRequest(text: string): { socket: Socket; answer: () => string } {
  const socket = connect(gatewayPort, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    if (received.length < 4096) received += chunk.toString('latin1');
  });
  socket.on('error', () => undefined);
  socket.write(text);
  return { socket, answer: () => received };
}

/** Holds every connection of the capped pool with downloads whose answers are not read, one per holder. */
async function holdThePool(): Promise<() => void> {
  const downloads = holders.slice(0, CONNECTIONS).map((holder) => {
    const download = rawRequest(`GET /_matrix/client/v1/media/download/localhost/${mediaId} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${holder.accessToken}\r\n\r\n`);
    download.socket.once('data', () => download.socket.pause());
    return download.socket;
  });
  await waitFor('every download answering', () => downloads.every((socket) => socket.bytesRead > 0), 10_000);
  return () => {
    for (const socket of downloads) socket.destroy();
  };
}

function post(method: string, path: string, token: string | null, body: string): { socket: Socket; answer: () => string } {
  const authorization = token === null ? '' : `Authorization: Bearer ${token}\r\n`;
  return rawRequest(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${authorization}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

async function settledAnswer(request: { socket: Socket; answer: () => string }): Promise<string> {
  await waitFor('an answer', () => /\r\n\r\n[\s\S]*\}/.test(request.answer()), 20_000);
  request.socket.destroy();
  return request.answer();
}

t.test('requests let through on a policy replaced while they waited for a connection are not sent', async (t) => {
  await api.statusWhenUp();
  await waitFor('the reconciler is ready', async () => (await api.status()).reconciler?.state === 'ready', 30_000);
  const alice = (password: string) => ({ id: '@alice:localhost', active: true, authType: 'plain', authCredential: password, joinedRooms: [] });
  await pushAndSettle(api, { schemaVersion: 2, flags: {}, managedRoomIds: [], users: [alice('first password')] });
  const loginBody = JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'first password' });
  const devices = async () => (await matrixCall<{ devices: unknown[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${enc('@alice:localhost')}/devices`, { token: admin })).devices.length;
  const devicesBefore = await devices();

  const release = await holdThePool();
  const tombstone = post('PUT', `/_matrix/client/v3/rooms/${enc(laterManaged)}/state/m.room.tombstone/`, bob.accessToken, JSON.stringify({ body: 'moved', replacement_room: '!elsewhere:localhost' }));
  const login = post('POST', '/_matrix/client/v3/login', null, loginBody);
  await pause(500);
  t.equal(tombstone.answer(), '', 'the tombstone, allowed, waits for a connection');
  t.equal(login.answer(), '', 'so does the login, checked');

  await pushAndSettle(api, { schemaVersion: 2, flags: {}, managedRoomIds: [laterManaged], users: [alice('second password')] });
  release();

  t.match(await settledAnswer(tombstone), /^HTTP\/1\.1 503[\s\S]*The policy changed while this request was being checked; try again/, 'the tombstone: 503');
  t.match(await settledAnswer(login), /^HTTP\/1\.1 503[\s\S]*The policy changed while this request was being checked; try again/, 'the login: 503');
  const { state } = await matrixCall<{ state: Array<{ type: string }> }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${enc(laterManaged)}/state`, { token: admin });
  t.notOk(state.some((event) => event.type === 'm.room.tombstone'), 'Synapse: the room managed since has no tombstone');
  t.equal(await devices(), devicesBefore, 'Synapse: alice has no new session');

  const again = await matrixRequest(gatewayUrl, 'POST', '/_matrix/client/v3/login', { body: JSON.parse(loginBody) as Record<string, unknown> });
  t.equal(again.status, 403, 'sent again, the login is decided on the newer policy');
});

t.test('soak review 18, S3: a queued login survives a policy push that leaves its user as it was', async (t) => {
  const alice = { id: '@alice:localhost', active: true, authType: 'plain', authCredential: 'second password', joinedRooms: [] };
  const carol = (displayName: string) => ({ id: '@carol:localhost', active: true, authType: 'plain', authCredential: 'carol password', displayName, joinedRooms: [] });
  await pushAndSettle(api, { schemaVersion: 2, flags: {}, managedRoomIds: [laterManaged], users: [alice, carol('Carol')] });
  const loginBody = JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'second password' });

  const bobLogin = JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: 'bob password' });
  let release = await holdThePool();
  let login = post('POST', '/_matrix/client/v3/login', null, loginBody);
  let unmanaged = post('POST', '/_matrix/client/v3/login', null, bobLogin);
  await pause(500);
  t.equal(login.answer(), '', 'the login, checked, waits for a connection');
  t.equal(unmanaged.answer(), '', 'so does an unmanaged user\'s, forwarded as sent');
  // Another user's display name changes: nothing the logins were decided on.
  await pushAndSettle(api, { schemaVersion: 2, flags: {}, managedRoomIds: [laterManaged], users: [alice, carol('Carol C.')] });
  release();
  t.match(await settledAnswer(login), /^HTTP\/1\.1 200[\s\S]*"user_id":"@alice:localhost"/, 'the login goes through');
  t.match(await settledAnswer(unmanaged), /^HTTP\/1\.1 200[\s\S]*"user_id":"@bob:localhost"/, 'so does the unmanaged one (verification 18, V1)');

  // The push makes the unmanaged user managed, with a policy password: the login sent as is must not go.
  release = await holdThePool();
  unmanaged = post('POST', '/_matrix/client/v3/login', null, bobLogin);
  await pause(500);
  const bobManaged = { id: '@bob:localhost', active: true, authType: 'plain', authCredential: 'policy password', joinedRooms: [] };
  await pushAndSettle(api, { schemaVersion: 2, flags: {}, managedRoomIds: [laterManaged], users: [alice, carol('Carol C.'), bobManaged] });
  release();
  t.match(await settledAnswer(unmanaged), /^HTTP\/1\.1 503[\s\S]*The policy changed while this request was being checked; try again/, 'bob, managed meanwhile: 503');
  login = post('POST', '/_matrix/client/v3/login', null, bobLogin);
  t.match(await settledAnswer(login), /^HTTP\/1\.1 403/, 'sent again, his Synapse password no longer logs him in');
});

t.test('red team 23, F2: a delayed event whose sender a newer policy made inactive while it waited for a connection is not sent', async (t) => {
  const alice = { id: '@alice:localhost', active: true, authType: 'plain', authCredential: 'second password', joinedRooms: [] };
  const bobAs = (active: boolean) => ({ id: '@bob:localhost', active, authType: 'passthrough', joinedRooms: [] });
  await pushAndSettle(api, { schemaVersion: 2, flags: {}, managedRoomIds: [], users: [alice, bobAs(true)] });
  const release = await holdThePool();
  const delayed = post('PUT', `/_matrix/client/v3/rooms/${enc(laterManaged)}/send/m.room.message/queued?org.matrix.msc4140.delay=60000`, bob.accessToken, JSON.stringify({ msgtype: 'm.text', body: 'queued' }));
  await pause(500);
  t.equal(delayed.answer(), '', 'the delayed event, its body complete and its sender active, waits for a connection');
  await pushAndSettle(api, { schemaVersion: 2, flags: {}, managedRoomIds: [], users: [alice, bobAs(false)] });
  release();
  t.match(await settledAnswer(delayed), /^HTTP\/1\.1 503[\s\S]*The policy changed while this request was being checked; try again/, 'not sent: 503');
});
