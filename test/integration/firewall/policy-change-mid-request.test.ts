import t from 'tap';
import { connect } from 'node:net';
import { derivedPassword } from '../../../src/common/derived-password.js';
import { pushAndSettle } from '../../support/control-plane-api.js';
import { pause, waitFor } from '../../support/control-plane.js';
import { TEST_AUTH_SHARED_SECRET } from '../../support/corporal-config.js';
import { createRoom, matrixCall, matrixRequest, registerUser } from '../../support/matrix-client.js';
import { serveAgainst, TEST_CORPORAL_USER as CORPORAL } from '../../support/serve-against.js';
import { startSynapse } from '../../support/start-synapse.js';

// Synapse acts on a request only once its body is complete, and the client chooses when that is.
// Requests opened under one policy and completed after the next one was applied and reconciled
// must be judged by the newer policy (red team 10, F1): a check that does not read the body, one
// that does, and a login with a password the newer policy replaced. Each refusal is checked in
// Synapse's state afterwards.

const hs = await startSynapse({ adminPassword: derivedPassword(TEST_AUTH_SHARED_SECRET, CORPORAL) });
t.teardown(() => hs.stop());
const admin = hs.admin.accessToken;
const enc = encodeURIComponent;

const bob = await registerUser(hs, { localpart: 'bob', password: 'bob password' });
const managed = await createRoom(hs.baseUrl, admin, { preset: 'public_chat', room_version: '11' });
// Unmanaged under the first policy, managed under the second; bob may tombstone it as far as Synapse goes.
const laterManaged = await createRoom(hs.baseUrl, admin, {
  preset: 'public_chat', room_version: '11', power_level_content_override: { users: { [CORPORAL]: 100, [bob.userId]: 100 } },
});
await matrixCall(hs.baseUrl, 'POST', `/_matrix/client/v3/join/${enc(laterManaged)}`, { token: bob.accessToken, body: {} });
const eve = await registerUser(hs, { localpart: 'eve', password: 'eve password' });
const openRoom = await createRoom(hs.baseUrl, admin, { preset: 'public_chat', room_version: '11' });

const { api, gatewayUrl } = await serveAgainst(t, { homeserverUrl: hs.baseUrl, registrationSharedSecret: hs.registrationSharedSecret });
const gatewayPort = Number(new URL(gatewayUrl).port);

const alice = (password: string, rooms: string[]) => ({
  id: '@alice:localhost', active: true, authType: 'plain', authCredential: password, joinedRooms: rooms.map((roomId) => ({ roomId, powerLevel: 0 })),
});
const FIRST = { schemaVersion: 2, flags: {}, managedRoomIds: [managed], users: [alice('first password', [managed])] };
const SECOND = { schemaVersion: 2, flags: { forbidRoomCreation: true }, managedRoomIds: [managed, laterManaged], users: [alice('second password', [])] };

/** A request whose headers and first body bytes are sent now, and the rest of its body by `finish`. */
function heldRequest(method: string, path: string, token: string | null, head: string, tail: string): { finish(): Promise<{ status: number; body: string }> } {
  const socket = connect(gatewayPort, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('utf8');
  });
  socket.on('error', () => undefined);
  const authorization = token === null ? '' : `Authorization: Bearer ${token}\r\n`;
  const length = Buffer.byteLength(head) + Buffer.byteLength(tail);
  socket.write(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${authorization}Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${head}`);
  return {
    async finish() {
      socket.write(tail);
      await waitFor(`an answer to ${method} ${path}`, () => complete(received), 15_000);
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0);
      return { status, body: received.slice(received.indexOf('\r\n\r\n') + 4) };
    },
  };
}

/** A whole HTTP/1.1 answer: headers and a body framed by Content-Length or chunked encoding. */
function complete(response: string): boolean {
  const end = response.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const head = response.slice(0, end);
  const body = response.slice(end + 4);
  if (/transfer-encoding: *chunked/i.test(head)) return body.endsWith('0\r\n\r\n');
  const length = /content-length: *(\d+)/i.exec(head)?.[1];
  return length !== undefined && Buffer.byteLength(body) >= Number(length);
}

async function members(roomId: string): Promise<string[]> {
  return (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${enc(roomId)}/members`, { token: admin })).members;
}

async function tombstoneOf(roomId: string): Promise<unknown> {
  const { state } = await matrixCall<{ state: Array<{ type: string; state_key: string; content: unknown }> }>(
    hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${enc(roomId)}/state`, { token: admin },
  );
  return state.find((event) => event.type === 'm.room.tombstone' && event.state_key === '')?.content ?? null;
}

async function joinedRooms(token: string): Promise<string[]> {
  return (await matrixCall<{ joined_rooms: string[] }>(hs.baseUrl, 'GET', '/_matrix/client/v3/joined_rooms', { token })).joined_rooms;
}

t.test('requests opened under one policy and completed under the next are judged by the next', async (t) => {
  await api.statusWhenUp();
  await waitFor('the reconciler is ready', async () => (await api.status()).reconciler?.state === 'ready', 30_000);
  await pushAndSettle(api, FIRST);
  t.ok((await members(managed)).includes('@alice:localhost'), 'first policy: alice is in the managed room');
  const login = await matrixRequest(gatewayUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'first password' },
  });
  t.equal(login.status, 200, 'alice logs in with the first policy\'s password');
  const aliceToken = (login.json as { access_token: string }).access_token;
  const bobRoomsBefore = await joinedRooms(bob.accessToken);

  // Opened under the first policy, each allowed by it.
  const rejoin = heldRequest('POST', `/_matrix/client/v3/rooms/${enc(managed)}/join`, aliceToken, '{"reason":"back"', '}');
  const tombstone = heldRequest('PUT', `/_matrix/client/v3/rooms/${enc(laterManaged)}/state/m.room.tombstone/`, bob.accessToken,
    '{"body":"moved","replacement_room":"!elsewhere:localhost"', '}');
  const create = heldRequest('POST', '/_matrix/client/v3/createRoom', bob.accessToken, '{"name":"held"', '}');
  const oldPassword = heldRequest('POST', '/_matrix/client/v3/login', null,
    '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"alice"}', ',"password":"first password"}');
  await pause(300);

  await pushAndSettle(api, SECOND);
  t.notOk((await members(managed)).includes('@alice:localhost'), 'second policy applied: alice was taken out of the managed room');

  const answers = { rejoin: await rejoin.finish(), tombstone: await tombstone.finish(), create: await create.finish(), login: await oldPassword.finish() };
  t.match(answers.rejoin, { status: 403, body: /the policy does not list you in this managed room/ }, 'join (body not read by its check): refused');
  t.match(answers.tombstone, { status: 403, body: /Denied by policy/ }, 'tombstone in a room managed since: refused');
  t.match(answers.create, { status: 403, body: /cannot create rooms/ }, 'createRoom (its check reads the body) under forbidRoomCreation since: refused');
  t.match(answers.login, { status: 403, body: /Failed authentication/ }, 'a password the policy replaced no longer logs in');

  t.notOk((await members(managed)).includes('@alice:localhost'), 'Synapse: alice is still out of the managed room');
  t.equal(await tombstoneOf(laterManaged), null, 'Synapse: the managed room has no tombstone');
  t.same(await joinedRooms(bob.accessToken), bobRoomsBefore, 'Synapse: bob created no room');

  const fresh = await matrixRequest(gatewayUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'second password' },
  });
  t.equal(fresh.status, 200, 'the second policy\'s password logs in');
});

t.test('a streamed body completed after a policy change that adds a matching hook is not completed upstream', async (t) => {
  const messages = async (): Promise<string> => JSON.stringify(await matrixCall(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${enc(laterManaged)}/messages?dir=b&limit=20`, { token: admin }));
  const send = (txn: string, text: string) => heldRequest('PUT', `/_matrix/client/v3/rooms/${enc(laterManaged)}/send/m.room.message/${txn}`, bob.accessToken,
    `{"msgtype":"m.text","body":"${text}"`, '}');
  const sendRule = [{ type: 'route', regex: '/send/' }];
  const passSends = { id: 'pass-sends', eventType: 'beforeAuthenticatedRequest', action: 'pass.unmodified', matchRules: sendRule };
  const noSends = { id: 'no-sends', eventType: 'beforeAuthenticatedRequest', action: 'reject', matchRules: sendRule, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'no sends' };
  const noJoins = { id: 'no-joins', eventType: 'beforeAuthenticatedRequest', action: 'reject', matchRules: [{ type: 'route', regex: '/join$' }], rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'no joins' };
  await pushAndSettle(api, { ...SECOND, hooks: [passSends] }, false);

  const sameHooks = send('t1', 'across a change of users only');
  await pause(300);
  await pushAndSettle(api, { ...SECOND, users: [alice('third password', [])], hooks: [passSends] });
  t.match(await sameHooks.finish(), { status: 200 }, 'the hooks, which match it, did not change: the send completes');

  const newHook = send('t2', 'across a new reject hook');
  // A policy-checked route: its body is buffered and its check made on the newest policy, but its
  // before-hooks ran on the old one.
  const join = heldRequest('POST', `/_matrix/client/v3/rooms/${enc(openRoom)}/join`, eve.accessToken, '{"reason":"x"', '}');
  await pause(300);
  await pushAndSettle(api, { ...SECOND, users: [alice('third password', [])], hooks: [passSends, noSends, noJoins] }, false);
  t.match(await newHook.finish(), { status: 503, body: /The policy changed while this request was being checked; try again/ }, 'a hook now matches the streamed send: 503');
  t.match(await join.finish(), { status: 503, body: /The policy changed while this request was being checked; try again/ }, 'and the buffered join: 503');
  const joined = (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${enc(openRoom)}/members`, { token: admin })).members;
  t.notOk(joined.includes(eve.userId), 'Synapse: eve did not join');
  const after = await messages();
  t.match(after, /across a change of users only/, 'Synapse: the first message is there');
  t.notMatch(after, /across a new reject hook/, 'Synapse: the second never arrived');
  const fresh = await matrixRequest(gatewayUrl, 'PUT', `/_matrix/client/v3/rooms/${enc(laterManaged)}/send/m.room.message/t3`, { token: bob.accessToken, body: { msgtype: 'm.text', body: 'fresh' } });
  t.match(fresh, { status: 403, json: { error: 'no sends' } }, 'sent again, the hook answers it');
});
