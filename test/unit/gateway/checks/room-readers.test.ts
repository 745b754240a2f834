import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { createPowerLevelsReader } from '../../../../src/gateway/checks/power-levels-reader.js';
import { createEncryptionReader } from '../../../../src/gateway/checks/encryption-reader.js';
import { createDirectoryLookup } from '../../../../src/gateway/checks/directory-lookup.js';

/**
 * The checks' room reads against a stand-in homeserver: only "there is no such event" (404
 * `M_NOT_FOUND`) reads as absent; any other answer that is not a 200 is unreadable (null), which
 * the checks refuse on (fail closed). Alias look-ups likewise: only a 200 naming a room resolves.
 */

type Answer = readonly [status: number, body: unknown];
let answers: Record<string, Answer> = {};
const urls: string[] = [];
/** A request made with a user's own token (no appservice `user_id`). */
const OWN_TOKEN = { token: 'token', masqueradeAs: null };

const server = createServer((req, res) => {
  urls.push(req.url ?? '');
  const type = (req.url ?? '').includes('/directory/room/') ? 'directory' : /\/state\/([^?/]+)/.exec(req.url ?? '')?.[1] ?? '';
  const [status, body] = answers[type] ?? [500, { errcode: 'M_UNKNOWN', error: 'no answer scripted' }];
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 2 });
t.teardown(async () => {
  await pool.close();
  server.close();
});
const options = { dispatcher: pool, basePath: '', timeoutMs: 5000 };

const CREATE_V11: Answer = [200, { type: 'm.room.create', sender: '@creator:hs', content: { room_version: '11' } }];

t.test('power levels: absent only on 404 M_NOT_FOUND; any other failure is unreadable', async (t) => {
  const read = createPowerLevelsReader(options);
  answers = { 'm.room.create': CREATE_V11, 'm.room.power_levels': [404, { errcode: 'M_NOT_FOUND', error: 'Event not found.' }] };
  t.match(await read('!r:hs', OWN_TOKEN, '@u:hs'), { users: {}, usersDefault: 0 }, 'no power-levels event: no levels');
  const failures: Answer[] = [
    [500, { errcode: 'M_UNKNOWN', error: 'Internal server error' }],
    [403, { errcode: 'M_FORBIDDEN', error: 'not in room' }],
    [404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }],
    [429, { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 1000 }],
  ];
  for (const failure of failures) {
    answers = { 'm.room.create': CREATE_V11, 'm.room.power_levels': failure };
    t.equal(await read('!r:hs', OWN_TOKEN, '@u:hs'), null, `power levels answered ${failure[0]}: unreadable, not "no levels"`);
  }
});

t.test('encryption: not encrypted only on 404 M_NOT_FOUND; any other failure is unreadable', async (t) => {
  const read = createEncryptionReader(options);
  answers = { 'm.room.encryption': [404, { errcode: 'M_NOT_FOUND', error: 'Event not found.' }] };
  t.same(await read('!r:hs', OWN_TOKEN, '@u:hs'), { present: false, enabled: false, eventId: null });
  answers = { 'm.room.encryption': [200, { type: 'm.room.encryption', event_id: '$enc', content: {} }] };
  t.same(await read('!r:hs', OWN_TOKEN, '@u:hs'), { present: true, enabled: false, eventId: '$enc' }, 'content without an algorithm: present, not enabled');
  for (const failure of [[500, { errcode: 'M_UNKNOWN' }], [403, { errcode: 'M_FORBIDDEN' }], [404, { errcode: 'M_UNRECOGNIZED' }]] as const) {
    answers = { 'm.room.encryption': failure };
    t.equal(await read('!r:hs', OWN_TOKEN, '@u:hs'), null, `answered ${failure[0]} ${failure[1].errcode}: unreadable`);
  }
});

t.test('the reads of an appservice request carry its user_id, byte for byte (red team 16, F1)', async (t) => {
  answers = { 'm.room.create': CREATE_V11, 'm.room.power_levels': [200, { users: {} }], 'm.room.encryption': [404, { errcode: 'M_NOT_FOUND' }] };
  const masquerading = { token: 'as-token', masqueradeAs: Buffer.from('@bob:hs', 'latin1') };
  urls.length = 0;
  await createPowerLevelsReader(options)('!r:hs', masquerading, '@bob:hs');
  await createEncryptionReader(options)('!r:hs', masquerading, '@bob:hs');
  t.same(urls.sort(), [
    '/_matrix/client/v3/rooms/!r%3Ahs/state/m.room.create?format=event&user_id=%40bob%3Ahs',
    '/_matrix/client/v3/rooms/!r%3Ahs/state/m.room.encryption?format=event&user_id=%40bob%3Ahs',
    '/_matrix/client/v3/rooms/!r%3Ahs/state/m.room.power_levels?user_id=%40bob%3Ahs',
  ]);
  urls.length = 0;
  await createPowerLevelsReader(options)('!r:hs', OWN_TOKEN, '@u:hs');
  t.notOk(urls.some((url) => url.includes('user_id')), 'a user\'s own token reads without one');
});

t.test('aliases: only a 200 naming a room resolves; 404 is "no such alias"; anything else fails the look-up', async (t) => {
  const lookup = createDirectoryLookup(options);
  answers = { directory: [200, { room_id: '!r:hs', servers: ['hs', 7] }] };
  t.same(await lookup('#a:hs', '@u:hs'), { roomId: '!r:hs', servers: ['hs'] });
  answers = { directory: [404, { errcode: 'M_NOT_FOUND' }] };
  t.equal(await lookup('#a:hs', '@u:hs'), null);
  for (const failure of [[200, { room_id: '' }], [500, { errcode: 'M_UNKNOWN', room_id: '!r:hs' }], [403, { errcode: 'M_FORBIDDEN', room_id: '!r:hs' }]] as const) {
    answers = { directory: failure };
    await t.rejects(lookup('#a:hs', '@u:hs'), `answered ${failure[0]} ${JSON.stringify(failure[1])}`);
  }
});
