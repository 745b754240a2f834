import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { getRoomState, getStateEvent } from '../../../../src/control/synapse/rooms-api.js';
import { observe, SWOLLEN_ROOM_MEMORY_MS } from '../../../../src/control/observe/observe.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import { hang, json, startScriptedServer, streamedArray, type Script } from '../fixtures/scripted-server.js';

/**
 * Red team 24, F1: anyone at `state_default` (a moderator, by Synapse's default levels) can store
 * as many custom state events of 64 KiB as rate limits allow, and the reconciler's one read of a
 * managed room's whole state then ran past its bound or its deadline: the room was unreadable and
 * nothing was enforced in it. Such a room is now read again type by type.
 */

/** A custom state event of about 190 KB once Synapse escapes it (15,800 astral characters). */
const PAD_EVENT = `{"type":"org.example.pad","state_key":"k","sender":"@mod:hs","content":{"pad":"${'\\ud800\\udc00'.repeat(15_800)}"}}`;

const CREATE = { type: 'm.room.create', state_key: '', sender: '@c:hs', content: { room_version: '11' } };
const LEVELS = { type: 'm.room.power_levels', state_key: '', sender: '@c:hs', content: { users: { '@c:hs': 100, '@mod:hs': 50 } } };
const MEMBERS = [
  { type: 'm.room.member', state_key: '@c:hs', sender: '@c:hs', content: { membership: 'join', displayname: 'C' } },
  { type: 'm.room.member', state_key: '@mod:hs', sender: '@mod:hs', content: { membership: 'join' } },
  { type: 'm.room.member', state_key: '@gone:hs', sender: '@c:hs', content: { membership: 'ban', reason: 'spam' } },
];
const JOIN_RULES = { type: 'm.room.join_rules', state_key: '', sender: '@c:hs', content: { join_rule: 'invite' } };
/**
 * The room's details as Synapse gives them after a moderator sent `m.room.join_rules` and
 * `m.room.encryption` under state key `x`: its stats job copies those of any state key there.
 */
const DETAILS = { room_id: '!r:hs', join_rules: 'public', encryption: 'm.megolm.v1.aes-sha2', replacement_room: null, tombstoned: false };

const state = (events: unknown[]): Script => json(200, { state: events });

const server = await startScriptedServer();
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 30_000, connections: 2, logger: createSilentLogger() });
t.teardown(() => http.close());
const paths = (): string[] => server.requests.map((request) => request.url);

t.beforeEach(() => {
  server.requests.length = 0;
  server.queue.length = 0;
});

t.test('a normal room: one call', async (t) => {
  server.queue.push(state([CREATE, LEVELS, ...MEMBERS]));
  const events = await getRoomState(http, 'admin-token', '!r:hs');
  t.equal(events.length, 5);
  t.same(paths(), ['/_synapse/admin/v1/rooms/!r%3Ahs/state']);
});

t.test('a room swollen past 64 MiB by custom state: read again by type, the custom state never asked for', async (t) => {
  server.queue.push(
    streamedArray('state', function* () {
      yield JSON.stringify(CREATE);
      for (let i = 0; i < 400; i++) yield PAD_EVENT; // 76 MB
    }),
    state(MEMBERS),
    state([CREATE]),
    state([LEVELS, { ...LEVELS, state_key: 'x', content: { users: { '@mod:hs': 100 } } }]),
    state([JOIN_RULES, { ...JOIN_RULES, state_key: 'x', content: { join_rule: 'public' } }]),
    json(200, DETAILS),
  );
  const events = await getRoomState(http, 'admin-token', '!r:hs');
  t.same(paths(), [
    '/_synapse/admin/v1/rooms/!r%3Ahs/state',
    '/_synapse/admin/v1/rooms/!r%3Ahs/state?type=m.room.member',
    '/_synapse/admin/v1/rooms/!r%3Ahs/state?type=m.room.create',
    '/_synapse/admin/v1/rooms/!r%3Ahs/state?type=m.room.power_levels',
    '/_synapse/admin/v1/rooms/!r%3Ahs/state?type=m.room.join_rules',
    '/_synapse/admin/v1/rooms/!r%3Ahs',
  ]);
  t.same(events.map((event) => [event.type, event.stateKey, event.content]), [
    ['m.room.member', '@c:hs', { membership: 'join' }],
    ['m.room.member', '@mod:hs', { membership: 'join' }],
    ['m.room.member', '@gone:hs', { membership: 'ban' }],
    ['m.room.create', '', { room_version: '11' }],
    ['m.room.power_levels', '', LEVELS.content],
    ['m.room.join_rules', '', { join_rule: 'invite' }],
  ], 'members, create, and the power levels and join rule of state key "" only; not the join rule or encryption of the details (review 27)');
  t.equal(events.find((event) => event.type === 'm.room.create')?.sender, '@c:hs', 'the creator is known (implicit levels, v12 creators)');
});

t.test('a whole read Synapse does not finish within the deadline: read again by type; a tombstone from the details', async (t) => {
  const quick = new SynapseHttp({ baseUrl: server.url, timeoutMs: 300, connections: 2, logger: createSilentLogger() });
  t.teardown(() => quick.close());
  server.queue.push(hang, state(MEMBERS), state([CREATE]), state([LEVELS]), state([JOIN_RULES]), json(200, { ...DETAILS, tombstoned: true, replacement_room: '!new:hs' }));
  const events = await getRoomState(quick, 'admin-token', '!r:hs');
  t.equal(server.requests.length, 6);
  t.same(events.find((event) => event.type === 'm.room.tombstone')?.content, { replacement_room: '!new:hs' });
});

t.test('member events swollen too: the joined members alone', async (t) => {
  const quick = new SynapseHttp({ baseUrl: server.url, timeoutMs: 300, connections: 2, logger: createSilentLogger() });
  t.teardown(() => quick.close());
  server.queue.push(hang, hang, json(200, { members: ['@c:hs', '@mod:hs'], total: 2 }), state([CREATE]), state([LEVELS]), state([JOIN_RULES]), json(200, DETAILS));
  const events = await getRoomState(quick, 'admin-token', '!r:hs');
  t.same(paths()[2], '/_synapse/admin/v1/rooms/!r%3Ahs/members');
  t.same(events.filter((event) => event.type === 'm.room.member').map((event) => [event.stateKey, event.content['membership']]), [['@c:hs', 'join'], ['@mod:hs', 'join']]);
});

t.test('a 5xx of the whole read is retried by type; a 404 or 403 is not', async (t) => {
  server.queue.push(json(500, { errcode: 'M_UNKNOWN', error: 'Internal server error' }), state(MEMBERS), state([CREATE]), state([LEVELS]), state([JOIN_RULES]), json(200, DETAILS));
  t.equal((await getRoomState(http, 'admin-token', '!r:hs')).length, 6);
  server.requests.length = 0;
  server.queue.push(json(404, { errcode: 'M_NOT_FOUND', error: 'Room not found' }));
  await t.rejects(getRoomState(http, 'admin-token', '!r:hs'), { code: 'CORP_ERR_UPSTREAM_STATUS', status: 404 });
  t.equal(server.requests.length, 1, 'one call');
});

t.test('observe: a swollen room is read by type at once on the next runs, for an hour', async (t) => {
  const quick = new SynapseHttp({ baseUrl: server.url, timeoutMs: 300, connections: 2, logger: createSilentLogger() });
  t.teardown(() => quick.close());
  const policy = fixtureSnapshot({ users: [], managedRoomIds: ['!r:hs'] });
  let clock = 1_000;
  const swollenRooms = new Map<string, number>();
  const options = { http: quick, admin: 'admin-token', authSharedSecret: 's', concurrency: 1, swollenRooms, now: () => clock };
  const users = json(200, { users: [] });
  const byType = (): Script[] => [state(MEMBERS), state([CREATE]), state([LEVELS]), state([JOIN_RULES]), json(200, DETAILS)];
  const statePaths = (): string[] => paths().filter((path) => path.startsWith('/_synapse/admin/v1/rooms/'));

  server.queue.push(users, hang, ...byType());
  const first = await observe(policy, options);
  t.equal(first.state.rooms.get('!r:hs')?.readable, true, 'read, by type, after the whole read timed out');
  t.equal(statePaths().length, 6);
  t.equal(first.state.rooms.get('!r:hs')?.joinRule, 'invite', 'the join rule of state key "", not the details\' (review 27)');

  server.requests.length = 0;
  clock += SWOLLEN_ROOM_MEMORY_MS - 1;
  server.queue.push(users, ...byType());
  const second = await observe(policy, options);
  t.same(second.state.rooms.get('!r:hs')?.joinedMembers, new Set(['@c:hs', '@mod:hs']));
  t.equal(statePaths()[0], '/_synapse/admin/v1/rooms/!r%3Ahs/state?type=m.room.member', 'no whole read within the hour');
  t.equal(statePaths().length, 5);

  server.requests.length = 0;
  clock += 2;
  server.queue.push(users, state([CREATE, LEVELS, ...MEMBERS]));
  await observe(policy, options);
  t.same(statePaths(), ['/_synapse/admin/v1/rooms/!r%3Ahs/state'], 'after the hour, whole again');

  server.requests.length = 0;
  swollenRooms.set('!gone:hs', clock + 10);
  server.queue.push(users, state([CREATE, LEVELS, ...MEMBERS]));
  await observe(policy, options);
  t.notOk(swollenRooms.has('!gone:hs'), 'a room no longer managed is forgotten');
});

t.test('join rules swollen under other state keys: the room is read without a join rule, not made unreadable (review 27)', async (t) => {
  const quick = new SynapseHttp({ baseUrl: server.url, timeoutMs: 300, connections: 2, logger: createSilentLogger() });
  t.teardown(() => quick.close());
  server.queue.push(hang, state(MEMBERS), state([CREATE]), state([LEVELS]), hang, json(200, DETAILS));
  const events = await getRoomState(quick, 'admin-token', '!r:hs');
  t.equal(paths()[4], '/_synapse/admin/v1/rooms/!r%3Ahs/state?type=m.room.join_rules');
  t.equal(server.requests.length, 6, 'the details are still read, for the tombstone');
  t.same(events.filter((event) => event.type === 'm.room.join_rules'), [], 'no join rule: joins are held while the corporal user is not joined');
  t.ok(events.some((event) => event.type === 'm.room.power_levels'));
});

t.test('getStateEvent: the event of state key "" of one type, whole; other state keys dropped; none: null (review 27)', async (t) => {
  const encryption = { type: 'm.room.encryption', state_key: '', sender: '@c:hs', content: { algorithm: 'm.megolm.v1.aes-sha2', rotation_period_ms: 1 } };
  server.queue.push(state([{ ...encryption, state_key: 'x', content: { algorithm: 'forged' } }, encryption]));
  t.same((await getStateEvent(http, 'admin-token', '!r:hs', 'm.room.encryption'))?.content, encryption.content);
  t.same(paths(), ['/_synapse/admin/v1/rooms/!r%3Ahs/state?type=m.room.encryption']);
  server.queue.push(state([{ ...encryption, state_key: 'x' }]));
  t.equal(await getStateEvent(http, 'admin-token', '!r:hs', 'm.room.encryption'), null, 'only under another state key: none');
});

t.test('observe: a room whose by-type read fails too is not remembered as swollen (a failing Synapse, not a swollen room; review 27)', async (t) => {
  const policy = fixtureSnapshot({ users: [], managedRoomIds: ['!r:hs'] });
  const swollenRooms = new Map<string, number>();
  const failing = json(502, { errcode: 'M_UNKNOWN', error: 'Bad gateway' });
  server.queue.push(json(200, { users: [] }), failing, failing, failing);
  const observed = await observe(policy, { http, admin: 'admin-token', authSharedSecret: 's', concurrency: 1, swollenRooms, now: () => 1_000 });
  t.equal(observed.state.rooms.get('!r:hs')?.readable, false);
  t.same(paths().filter((path) => path.startsWith('/_synapse/admin/v1/rooms/')), [
    '/_synapse/admin/v1/rooms/!r%3Ahs/state',
    '/_synapse/admin/v1/rooms/!r%3Ahs/state?type=m.room.member',
    '/_synapse/admin/v1/rooms/!r%3Ahs/members',
  ]);
  t.equal(swollenRooms.size, 0, 'the next run reads it whole again');
});
