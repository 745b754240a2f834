import t from 'tap';
import { createSilentLogger } from '../../../src/common/logger.js';
import { AdminRepairCalls } from '../../../src/control/half-created-rooms.js';
import type { Reconciler } from '../../../src/control/loop/create-reconciler.js';
import { SynapseHttp } from '../../../src/control/synapse/synapse-http.js';
import { json, startScriptedServer } from './fixtures/scripted-server.js';

/**
 * Review 27: the control child's repair of a half-created room reads the room's create and
 * encryption events of state key `""` by type. Before, it read the whole state and, for a room
 * too large to read whole, the room details' `encryption`, which Synapse's stats job copies from
 * an `m.room.encryption` event of any state key: a user under `forbidUnencryptedRoomCreation` who
 * sent one under state key `x` (the gateway lets a user who may create encrypted rooms do so) and
 * swelled the room with custom state had the repair take the room for encrypted.
 */

const server = await startScriptedServer();
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 30_000, connections: 2, logger: createSilentLogger() });
t.teardown(() => http.close());
const calls = new AdminRepairCalls(() => ({ http, session: 'admin-token' }) as unknown as Reconciler, createSilentLogger());
const job = { userId: '@u:hs', roomsBefore: new Set<string>(), startedAt: 0, passDelaysMs: [0] };
const ENCRYPTION = { type: 'm.room.encryption', sender: '@u:hs', content: { algorithm: 'm.megolm.v1.aes-sha2' } };

t.beforeEach(() => {
  server.requests.length = 0;
  server.queue.length = 0;
});

t.test('encrypted only by an encryption event of state key ""', async (t) => {
  server.queue.push(json(200, { state: [{ ...ENCRYPTION, state_key: 'x' }] }));
  t.equal(await calls.isEncrypted(job, '!r:hs'), false, 'an encryption event under another state key does not count');
  t.same(server.requests.map((request) => request.url), ['/_synapse/admin/v1/rooms/!r%3Ahs/state?type=m.room.encryption'], 'one read, by type; not the room details');
  server.queue.push(json(200, { state: [{ ...ENCRYPTION, state_key: 'x' }, { ...ENCRYPTION, state_key: '' }] }));
  t.equal(await calls.isEncrypted(job, '!r:hs'), true);
  server.queue.push(json(200, { state: [{ ...ENCRYPTION, state_key: '', content: {} }] }));
  t.equal(await calls.isEncrypted(job, '!r:hs'), false, 'no algorithm');
});

t.test('an encryption read that fails rejects (the queue logs it), it does not count as encrypted', async (t) => {
  server.queue.push(json(500, { errcode: 'M_UNKNOWN', error: 'no' }));
  await t.rejects(calls.isEncrypted(job, '!r:hs'), { code: 'CORP_ERR_UPSTREAM_STATUS', status: 500 });
});

t.test('the creation from the create event, read by type', async (t) => {
  server.queue.push(json(200, { state: [{ type: 'm.room.create', state_key: '', sender: '@u:hs', origin_server_ts: 1234, content: { room_version: '11' } }] }));
  t.same(await calls.creation(job, '!r:hs'), { creator: '@u:hs', createdAt: 1234 });
  t.same(server.requests.map((request) => request.url), ['/_synapse/admin/v1/rooms/!r%3Ahs/state?type=m.room.create']);
  server.queue.push(json(200, { state: [] }));
  await t.rejects(calls.creation(job, '!r:hs'), /no m\.room\.create event/);
});
