import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { accountDataUnfinishedLocks } from '../../../../src/control/loop/unfinished-locks-store.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import { json, startScriptedServer } from '../fixtures/scripted-server.js';
import { MAX_RECORD_BYTES, MAX_SAVED_UNFINISHED_LOCKS, readUnfinishedLocks, unfinishedLocksContent } from '../../../../src/control/loop/unfinished-locks-store.js';
import { DEFAULT_MAX_BODY_BYTES } from '../../../../src/control/synapse/synapse-http.js';

t.test('the record reads back what was saved', async (t) => {
  const entries = new Map([['@a:hs', 0], ['@b:hs', 4]]);
  t.same(readUnfinishedLocks(unfinishedLocksContent(entries)), entries);
  t.same(unfinishedLocksContent(new Map()), { users: {} }, 'an empty record');
});

t.test('entries that are not a user id with a count are skipped; a record of another shape reads as empty', async (t) => {
  const content = { users: { '@ok:hs': 1, 'no-at:hs': 1, '@neg:hs': -1, '@frac:hs': 1.5, '@text:hs': '2', '@huge:hs': 1e9, '@zero:hs': 0 } };
  t.same(readUnfinishedLocks(content), new Map([['@ok:hs', 1], ['@zero:hs', 0]]));
  for (const users of [undefined, null, [], 'x', 3]) t.same(readUnfinishedLocks({ users }), new Map(), JSON.stringify(users) ?? 'undefined');
});

t.test(`at most ${MAX_SAVED_UNFINISHED_LOCKS} users are saved and read`, async (t) => {
  const many = new Map(Array.from({ length: MAX_SAVED_UNFINISHED_LOCKS + 5 }, (_, i) => [`@u${i}:hs`, 0] as [string, number]));
  const content = unfinishedLocksContent(many);
  t.equal(Object.keys(content.users).length, MAX_SAVED_UNFINISHED_LOCKS);
  const users: Record<string, number> = {};
  for (const [userId, attempts] of many) users[userId] = attempts;
  t.equal(readUnfinishedLocks({ users }).size, MAX_SAVED_UNFINISHED_LOCKS);
});

t.test('the largest record fits the bound it is read back with', async (t) => {
  // Historical user ids: 255 bytes of printable ASCII, quotes and backslashes included (two bytes each in JSON).
  const id = (i: number) => `@${String(i).padStart(5, '0')}${'"\\'.repeat(120)}${'x'.repeat(255 - 1 - 5 - 240 - ':hs'.length)}:hs`;
  t.equal(Buffer.byteLength(id(0)), 255);
  const largest = new Map(Array.from({ length: MAX_SAVED_UNFINISHED_LOCKS }, (_, i) => [id(i), 1_000] as [string, number]));
  const bytes = Buffer.byteLength(JSON.stringify(unfinishedLocksContent(largest)));
  t.ok(bytes <= MAX_RECORD_BYTES, `${bytes} bytes`);
  t.ok(bytes > DEFAULT_MAX_BODY_BYTES, "more than the client's default bound");
});

t.test("the record in the corporal user's account data: absent reads empty, a large one reads whole, a save replaces it", async (t) => {
  const server = await startScriptedServer(json(404, { errcode: 'M_NOT_FOUND', error: 'Account data not found' }));
  t.teardown(() => server.close());
  const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 1, logger: createSilentLogger() });
  t.teardown(() => http.close());
  const store = accountDataUnfinishedLocks(http, 'admin-token', '@corporal:example.com');
  const path = '/_matrix/client/v3/user/%40corporal%3Aexample.com/account_data/io.corporal.unfinished_locks';
  t.same(await store.load(), new Map(), 'absent: empty');
  t.equal(server.requests[0]?.url, path);

  const pad = '"\\'.repeat(120);
  const users: Record<string, number> = {};
  for (let i = 0; i < MAX_SAVED_UNFINISHED_LOCKS; i++) users[`@${i}${pad}:hs`] = 1;
  server.queue.push(json(200, { users }));
  t.equal((await store.load()).size, MAX_SAVED_UNFINISHED_LOCKS, "a record past the client's default bound is read");

  server.queue.push(json(200, {}));
  await store.save(new Map([['@a:hs', 2]]));
  const put = server.requests.at(-1)!;
  t.match(put, { method: 'PUT', url: path });
  t.same(JSON.parse(put.body), { users: { '@a:hs': 2 } });

  server.queue.push(json(500, { errcode: 'M_UNKNOWN', error: 'down' }));
  await t.rejects(store.load(), 'another failure rejects');
});
