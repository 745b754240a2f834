import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { createDirectoryLookup } from '../../../src/gateway/checks/directory-lookup.js';
import { createPowerLevelsReader } from '../../../src/gateway/checks/power-levels-reader.js';
import type { RequesterCredentials } from '../../../src/gateway/identity/masquerade.js';
import { createRoom, matrixCall, registerUser } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';

/**
 * The checks' own upstream look-ups against a real Synapse 1.163.2: alias resolution through the
 * client directory API and the current power levels (plus v12 creators) read as the requester.
 */

const hs = await startSynapse();
t.teardown(() => hs.stop());
const pool = new Pool(hs.baseUrl, { connections: 4 });
t.teardown(() => pool.close());
const options = { dispatcher: pool, basePath: '', timeoutMs: 5000 };

const alice = await registerUser(hs, { localpart: 'alice', password: 'pw' });
const bob = await registerUser(hs, { localpart: 'bob', password: 'pw' });
/** A user's own credentials, as a request with that user's token (no appservice `user_id`) presents them. */
const own = (user: { accessToken: string }): RequesterCredentials => ({ token: user.accessToken, masqueradeAs: null });

t.test('aliases resolve through the directory; unknown ones are null', async (t) => {
  const roomId = await createRoom(hs.baseUrl, alice.accessToken, { room_alias_name: 'lookup' });
  const lookup = createDirectoryLookup(options);
  t.same(await lookup(`#lookup:${hs.serverName}`, alice.userId), { roomId, servers: [hs.serverName] }, 'the room and the servers to join it through');
  t.equal(await lookup(`#nothing:${hs.serverName}`, alice.userId), null);
  await t.rejects(lookup('not-an-alias', alice.userId), 'Synapse answers 400 to a malformed alias');
});

t.test('a failing homeserver rejects instead of answering "no such alias"', async (t) => {
  const dead = new Pool('http://127.0.0.1:9', { connections: 1 });
  t.teardown(() => dead.close());
  await t.rejects(createDirectoryLookup({ dispatcher: dead, basePath: '', timeoutMs: 2000 })(`#lookup:${hs.serverName}`, alice.userId));
});

t.test('a homeserver that never finishes its answer: the look-ups give up at their deadline', async (t) => {
  // Headers at once, then a body that trickles forever: undici's per-chunk body timeout alone would never fire.
  const stalled = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"room_id":');
    const timer = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => stalled.close(() => resolve())));
  const slow = new Pool(`http://127.0.0.1:${(stalled.address() as AddressInfo).port}`, { connections: 2 });
  t.teardown(() => slow.destroy());
  const stalledOptions = { dispatcher: slow, basePath: '', timeoutMs: 500 };
  await t.rejects(createDirectoryLookup(stalledOptions)(`#lookup:${hs.serverName}`, alice.userId));
  t.equal(await createPowerLevelsReader(stalledOptions)('!r:hs', { token: 'token', masqueradeAs: null }, alice.userId), null);
});

t.test('levels Corporal cannot read exactly (a federated event in an old room version) stay, as NaN', async (t) => {
  // Synapse refuses such content from local clients, so a stand-in homeserver answers it.
  const federated = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.url?.includes('m.room.create')
      ? { type: 'm.room.create', sender: '@creator:hs', content: { room_version: '9' } }
      : { users: { '@corporal:hs': '1_00', '@x:hs': true, '@ok:hs': ' 42 ' }, users_default: '５' }));
  });
  await new Promise<void>((resolve) => federated.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => federated.close(() => resolve())));
  const dispatcher = new Pool(`http://127.0.0.1:${(federated.address() as AddressInfo).port}`, { connections: 2 });
  t.teardown(() => dispatcher.close());
  const levels = await createPowerLevelsReader({ dispatcher, basePath: '', timeoutMs: 5000 })('!r:hs', { token: 'token', masqueradeAs: null }, alice.userId);
  t.same(levels && { users: levels.users, usersDefault: levels.usersDefault }, { users: { '@corporal:hs': Number.NaN, '@x:hs': Number.NaN, '@ok:hs': 42 }, usersDefault: Number.NaN },
    'left out, the corporal user would count as at users_default, and a demotion check would pass');
});

t.test('power levels of a v11 room: users and users_default, no creators', async (t) => {
  const roomId = await createRoom(hs.baseUrl, alice.accessToken, {
    room_version: '11',
    invite: [bob.userId],
    power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 42 }, users_default: 3, kick: 60, invite: 5, events: { 'm.room.power_levels': 90 } },
  });
  const read = createPowerLevelsReader(options);
  const levels = await read(roomId, own(alice), alice.userId);
  t.same(levels && { users: levels.users, usersDefault: levels.usersDefault, thresholds: levels.thresholds, creators: [...levels.creators] }, {
    users: { [alice.userId]: 100, [bob.userId]: 42 },
    usersDefault: 3,
    thresholds: { kick: 60, ban: 50, invite: 5, powerLevels: 90 },
    creators: [],
  });
  t.equal(await read(roomId, own(bob), bob.userId), null, 'bob is only invited: Synapse refuses him the state');
  t.equal(await read('!nosuchroom:' + hs.serverName, own(alice), alice.userId), null);
});

t.test('v12 rooms: the creator and additional creators', async (t) => {
  const roomId = await createRoom(hs.baseUrl, alice.accessToken, { room_version: '12', creation_content: { additional_creators: [bob.userId] } });
  const levels = await createPowerLevelsReader(options)(roomId, own(alice), alice.userId);
  t.same(levels && [...levels.creators].sort(), [alice.userId, bob.userId].sort());
  t.notOk(levels && Object.hasOwn(levels.users, alice.userId), 'creators are not listed in users');
});

t.test('what the reader sees matches what Synapse stores after a change', async (t) => {
  const roomId = await createRoom(hs.baseUrl, alice.accessToken, { room_version: '10' });
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.power_levels`;
  const content = await matrixCall<Record<string, unknown>>(hs.baseUrl, 'GET', path, { token: alice.accessToken });
  await matrixCall(hs.baseUrl, 'PUT', path, { token: alice.accessToken, body: { ...content, users: { [alice.userId]: 100, [bob.userId]: 7 }, users_default: 1 } });
  const levels = await createPowerLevelsReader(options)(roomId, own(alice), alice.userId);
  t.same(levels?.users, { [alice.userId]: 100, [bob.userId]: 7 });
  t.equal(levels?.usersDefault, 1);
});
