import t, { type Test } from 'tap';
import { matrixCall } from '../../support/matrix-client.js';
import { waitFor } from '../../support/control-plane.js';
import { requestVariants, startFirewallScenario, type RequestVariant, type ScenarioUser } from '../../support/firewall-scenario.js';

/**
 * Room creation, encryption, power levels, upgrades and sending through the real gateway in front
 * of a real Synapse: every denial in every form leaves Synapse's rooms, encryption state and power
 * levels as they were; every allowed action really changes them.
 */

const s = await startFirewallScenario();
t.teardown(() => s.stop());
const { rooms, users } = s;

const forbidden = (error: string) => ({ errcode: 'M_FORBIDDEN', error });
const CANNOT_CREATE = forbidden('Denied by policy (cannot create rooms)');
const CANNOT_ENCRYPT = forbidden('Denied by policy (cannot create encrypted rooms)');
const CANNOT_UNENCRYPTED = forbidden('Denied by policy (cannot create unencrypted rooms)');
const POWER_LEVELS = forbidden("Denied by policy (managed users' power levels in this room are set by the policy)");
const UPGRADE = forbidden('Denied by policy (managed rooms cannot be upgraded)');
const ENCRYPTION_STATE = [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }];

async function roomCount(): Promise<number> {
  const listed = await matrixCall<{ total_rooms: number }>(s.hs.baseUrl, 'GET', '/_synapse/admin/v1/rooms?limit=1', { token: users.corporal.accessToken });
  return listed.total_rooms;
}

async function allDenied(tt: Test, user: ScenarioUser, variants: readonly RequestVariant[], body: unknown, expected: unknown): Promise<void> {
  for (const variant of variants) {
    const response = await s.viaGateway(user, variant.method, variant.path, body);
    tt.same([response.status, response.json], [403, expected], `${variant.label}: ${variant.path}`);
  }
}

async function ok(tt: Test, user: ScenarioUser, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await s.viaGateway(user, method, path, body);
  tt.equal(response.status, 200, `${user} ${method} ${path}: ${response.text}`);
  return (response.json ?? {}) as Record<string, unknown>;
}

const createRoomVariants = requestVariants({ method: 'POST', template: 'createRoom', params: {}, txn: true });

t.test('room creation flags', async (t) => {
  const count = await roomCount();
  await s.setPolicy({ forbidRoomCreation: true });
  await allDenied(t, 'alice', createRoomVariants, {}, CANNOT_CREATE);
  await allDenied(t, 'bob', createRoomVariants, { initial_state: ENCRYPTION_STATE }, CANNOT_CREATE);
  t.equal(await roomCount(), count, 'no room was created');
  const created = await ok(t, 'corporal', 'POST', '/_matrix/client/unstable/createRoom', {});
  t.equal(await roomCount(), count + 1, 'the corporal user is exempt');
  t.type(created['room_id'], 'string');

  await s.setPolicy({ forbidEncryptedRoomCreation: true });
  await allDenied(t, 'bob', createRoomVariants, { initial_state: ENCRYPTION_STATE }, CANNOT_ENCRYPT);
  await allDenied(t, 'alice', createRoomVariants, { initial_state: [{ ...ENCRYPTION_STATE[0], state_key: 'x' }] }, CANNOT_ENCRYPT);
  t.equal(await roomCount(), count + 1);
  await ok(t, 'alice', 'PUT', '/_matrix/client/r0/createRoom/t-alice-1', { name: 'plain' });
  t.equal(await roomCount(), count + 2, 'an unencrypted room is fine');

  await s.setPolicy({ forbidUnencryptedRoomCreation: true }, { alice: { forbidUnencryptedRoomCreation: false } });
  await allDenied(t, 'bob', createRoomVariants, {}, CANNOT_UNENCRYPTED);
  // An encryption event under another state key, or without an algorithm, leaves the room
  // unencrypted for clients (Synapse keys initial_state by (type, state_key)).
  await allDenied(t, 'bob', createRoomVariants, { initial_state: [{ ...ENCRYPTION_STATE[0], state_key: 'x' }] }, CANNOT_UNENCRYPTED);
  await allDenied(t, 'bob', createRoomVariants, { initial_state: [{ ...ENCRYPTION_STATE[0], content: {} }] }, CANNOT_UNENCRYPTED);
  t.equal(await roomCount(), count + 2);
  await ok(t, 'alice', 'POST', '/_matrix/client/v3/createRoom', {});
  const encrypted = await ok(t, 'bob', 'POST', '/_matrix/client/api/v1/createRoom', { initial_state: ENCRYPTION_STATE });
  t.equal(await roomCount(), count + 4, "alice's override; bob's encrypted room");
  t.same(await s.stateOf(encrypted['room_id'] as string, 'm.room.encryption'), ENCRYPTION_STATE[0]?.content);
  await s.setPolicy();
});

t.test('a createRoom that fails half-way leaves no unencrypted room behind (red team 9, F2)', async (t) => {
  await s.setPolicy({ forbidUnencryptedRoomCreation: true });
  const joinedRooms = async () =>
    (await matrixCall<{ joined_rooms: string[] }>(s.hs.baseUrl, 'GET', '/_matrix/client/v3/joined_rooms', { token: users.bob.accessToken })).joined_rooms;
  const before = new Set(await joinedRooms());
  // Each passes the check (a valid encryption entry), then fails in Synapse's second batch of events,
  // after the room's create event and bob's join were stored.
  const attempts = [
    { body: { room_version: '11', initial_state: ENCRYPTION_STATE, power_level_content_override: { events: { 'm.room.encryption': 101 } } }, status: 403 },
    { body: { initial_state: [...ENCRYPTION_STATE, { type: 'm.room.server_acl', state_key: '', content: { allow: [] } }] }, status: 400 },
  ];
  for (const { body, status } of attempts) {
    const response = await s.viaGateway('bob', 'POST', '/_matrix/client/v3/createRoom', body);
    t.equal(response.status, status, `Synapse refused it: ${response.text}`);
  }
  const leftBehind = (await joinedRooms()).filter((roomId) => !before.has(roomId));
  t.equal(leftBehind.length, 2, 'Synapse kept a room from each failed request (what the repair is for)');
  const encryptedNow = async (roomId: string) => typeof (await s.stateOf(roomId, 'm.room.encryption'))?.['algorithm'] === 'string';
  await waitFor('the rooms left behind to be encrypted', async () => (await Promise.all(leftBehind.map(encryptedNow))).every(Boolean));
  for (const roomId of leftBehind) {
    t.same(await s.stateOf(roomId, 'm.room.encryption'), { algorithm: 'm.megolm.v1.aes-sha2' }, `${roomId} is encrypted`);
  }
  // Rooms the user joined or already had are not touched: bob's free room stays unencrypted.
  t.equal(await s.stateOf(rooms.free, 'm.room.encryption'), null);
  await s.setPolicy();
});

t.test('turning encryption on', async (t) => {
  await s.setPolicy({ forbidEncryptedRoomCreation: true });
  const content = { algorithm: 'm.megolm.v1.aes-sha2' };
  const noKey = requestVariants({ method: 'PUT', template: 'rooms/{roomId}/state/{eventType}', params: { roomId: rooms.free, eventType: 'm.room.encryption' } });
  const withKey = (stateKey: string) => requestVariants({ method: 'PUT', template: 'rooms/{roomId}/state/{eventType}/{stateKey}', params: { roomId: rooms.free, eventType: 'm.room.encryption', stateKey } });
  t.ok(noKey.some((v) => v.path.includes('/state/m%2Eroom%2Eencryption')), 'the encoded event type is among the variants');
  for (const user of ['bob', 'alice'] as const) {
    await allDenied(t, user, noKey, content, CANNOT_ENCRYPT);
    await allDenied(t, user, withKey(''), content, CANNOT_ENCRYPT);
    await allDenied(t, user, withKey('x'), content, CANNOT_ENCRYPT);
  }
  t.equal(await s.stateOf(rooms.free, 'm.room.encryption'), null, 'the room is still unencrypted');
  t.equal(await s.stateOf(rooms.free, 'm.room.encryption', 'x'), null);
  await ok(t, 'corporal', 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.free)}/state/m.room.encryption/`, content);
  t.same(await s.stateOf(rooms.free, 'm.room.encryption'), content, 'the corporal user is exempt');
  await s.setPolicy();
});

/** The managed room's `m.room.power_levels` path under a client API prefix. */
const path = (prefix: string) => `/_matrix/client/${prefix}/rooms/${encodeURIComponent(rooms.managed)}/state/m.room.power_levels`;
/** The managed room's power levels, read at Synapse. */
const current = async () => (await s.stateOf(rooms.managed, 'm.room.power_levels')) as { users: Record<string, number>; [key: string]: unknown };
const variants = requestVariants({ method: 'PUT', template: 'rooms/{roomId}/state/{eventType}/{stateKey}', params: { roomId: rooms.managed, eventType: 'm.room.power_levels', stateKey: '' } })
  .concat(requestVariants({ method: 'PUT', template: 'rooms/{roomId}/state/{eventType}', params: { roomId: rooms.managed, eventType: 'm.room.power_levels' } }));

t.test('power levels in a managed room', async (t) => {
  const before = await current();
  t.same(before.users, { [users.corporal.userId]: 100, [users.alice.userId]: 50, [users.bob.userId]: 100 });
  const withUsers = (levels: Record<string, number>, extra: Record<string, unknown> = {}) => ({ ...before, ...extra, users: { ...before.users, ...levels } });
  await allDenied(t, 'bob', variants, withUsers({ [users.alice.userId]: 0 }), POWER_LEVELS);
  await allDenied(t, 'bob', variants, withUsers({ [users.pat.userId]: 100 }), POWER_LEVELS);
  await allDenied(t, 'bob', variants.slice(0, 4), withUsers({}, { users_default: 10 }), POWER_LEVELS);
  await allDenied(t, 'alice', variants.slice(0, 4), withUsers({ [users.alice.userId]: 100 }), POWER_LEVELS);
  t.same(await current(), before, 'power levels unchanged');

  await ok(t, 'bob', 'PUT', path('v3'), withUsers({}, { events: { ...(before['events'] as object), 'm.room.topic': 100 } }));
  t.equal(((await current())['events'] as Record<string, number>)['m.room.topic'], 100, 'an edit that keeps the policy levels goes through');

  // Drift the room directly at Synapse (as if set before the policy said otherwise).
  await matrixCall(s.hs.baseUrl, 'PUT', path('v3'), { token: users.corporal.accessToken, body: withUsers({ [users.alice.userId]: 75 }) });
  const drifted = await current();
  await ok(t, 'bob', 'PUT', path('r0'), { ...drifted, state_default: 60 });
  t.equal((await current())['state_default'], 60, "an edit that leaves a drifted level as it is goes through (the current event is read)");
  const response = await s.viaGateway('bob', 'PUT', path('unstable'), { ...drifted, users: { ...drifted.users, [users.alice.userId]: 80 } });
  t.same([response.status, response.json], [403, POWER_LEVELS], 'moving a drifted level elsewhere is not');
  t.equal((await current()).users[users.alice.userId], 75);
  await ok(t, 'bob', 'PUT', path('api/v1'), { ...drifted, users: { ...drifted.users, [users.alice.userId]: 50 } });
  t.equal((await current()).users[users.alice.userId], 50, 'moving it back to the policy is');

  await ok(t, 'corporal', 'PUT', path('v3'), withUsers({ [users.alice.userId]: 10 }));
  t.equal((await current()).users[users.alice.userId], 10, 'the corporal user may set any level');
  await ok(t, 'corporal', 'PUT', path('v3'), before);

  // Red team 12, F3: an inactive managed user may not be raised (at the corporal user's level, the reconciler could never kick them).
  await s.setPolicy({}, { pat: { active: false } });
  await allDenied(t, 'bob', variants.slice(0, 2), withUsers({ [users.pat.userId]: 100 }), POWER_LEVELS);
  // Verification round 13, F2: through users_default, with every active managed user listed, or with pat's entry dropped.
  await allDenied(t, 'bob', variants.slice(0, 2), withUsers({}, { users_default: 100 }), POWER_LEVELS);
  await ok(t, 'corporal', 'PUT', path('v3'), withUsers({ [users.pat.userId]: 0 }));
  const withPat = await current();
  await allDenied(t, 'bob', variants.slice(0, 2), { ...withPat, users: before.users, users_default: 100 }, POWER_LEVELS);
  t.same(await current(), withPat, 'the inactive user was not raised');
  await ok(t, 'corporal', 'PUT', path('v3'), before);
  await s.setPolicy();
});

t.test('red team 22, F3: a room admin cannot raise an active managed user the room does not list', async (t) => {
  // carol is managed and active, listed in no room and not in this one; bob (unmanaged) is at 100
  // in it, the corporal user's level: a level he gave carol, the reconciler could never lower.
  const before = await current();
  const withUsers = (levels: Record<string, number>, extra: Record<string, unknown> = {}) => ({ ...before, ...extra, users: { ...before.users, ...levels } });
  const carol = users.carol.userId;
  await allDenied(t, 'bob', variants.slice(0, 4), withUsers({ [carol]: 100 }), POWER_LEVELS);
  await allDenied(t, 'bob', variants.slice(0, 2), withUsers({ [carol]: 1 }), POWER_LEVELS);
  // Every user the room lists has an entry (pat at the policy's 0): the default still lifts carol (and dave).
  await allDenied(t, 'bob', variants.slice(0, 4), withUsers({ [users.pat.userId]: 0 }, { users_default: 100 }), POWER_LEVELS);
  t.same(await current(), before, 'Synapse\'s power levels unchanged: carol not raised');

  await ok(t, 'corporal', 'PUT', path('v3'), withUsers({ [carol]: 20 }));
  t.equal((await current()).users[carol], 20, 'the corporal user may raise her');
  const raised = await current();
  const response = await s.viaGateway('bob', 'PUT', path('v3'), { ...raised, users: { ...raised.users, [carol]: 30 } });
  t.same([response.status, response.json], [403, POWER_LEVELS], 'nor from a level she already has');
  await ok(t, 'bob', 'PUT', path('v3'), { ...raised, users: { ...raised.users, [carol]: 10 } });
  t.equal((await current()).users[carol], 10, 'a room admin may lower her');
  await ok(t, 'bob', 'PUT', path('v3'), withUsers({ [carol]: 10, [`@stranger:${s.hs.serverName}`]: 50 }));
  t.equal((await current()).users[`@stranger:${s.hs.serverName}`], 50, 'and raise a user the policy does not know');
  await ok(t, 'corporal', 'PUT', path('v3'), before);
  t.same(await current(), before);
});

t.test('upgrades', async (t) => {
  const count = await roomCount();
  const upgrade = requestVariants({ method: 'POST', template: 'rooms/{roomId}/upgrade', params: { roomId: rooms.managed } });
  await allDenied(t, 'bob', upgrade, { new_version: '11' }, UPGRADE);
  await allDenied(t, 'alice', upgrade.slice(0, 4), { new_version: '12' }, UPGRADE);
  t.equal(await roomCount(), count, 'no replacement room');
  t.equal(await s.stateOf(rooms.managed, 'm.room.tombstone'), null, 'no tombstone');

  const own = (await ok(t, 'bob', 'POST', '/_matrix/client/v3/createRoom', {}))['room_id'] as string;
  await s.setPolicy({ forbidRoomCreation: true });
  const denied = await s.viaGateway('bob', 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(own)}/upgrade`, { new_version: '11' });
  t.same([denied.status, denied.json], [403, CANNOT_CREATE], 'an upgrade creates a room');
  await s.setPolicy();
  const upgraded = await ok(t, 'bob', 'POST', `/_matrix/client/unstable/rooms/${encodeURIComponent(own)}/upgrade`, { new_version: '11' });
  t.type(upgraded['replacement_room'], 'string', 'an unmanaged room may be upgraded');
  t.equal(await roomCount(), count + 2);

  // Synapse copies m.room.encryption into the replacement room: the encryption flags apply.
  const plain = upgraded['replacement_room'] as string;
  const encrypted = (await ok(t, 'bob', 'POST', '/_matrix/client/v3/createRoom', { initial_state: ENCRYPTION_STATE }))['room_id'] as string;
  await s.setPolicy({ forbidUnencryptedRoomCreation: true });
  const unencryptedUpgrade = await s.viaGateway('bob', 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(plain)}/upgrade`, { new_version: '11' });
  t.same([unencryptedUpgrade.status, unencryptedUpgrade.json], [403, CANNOT_UNENCRYPTED], 'an unencrypted room is not upgraded into a new unencrypted one');
  t.equal(await s.stateOf(plain, 'm.room.tombstone'), null, 'no tombstone');
  const encryptedUpgrade = await ok(t, 'bob', 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(encrypted)}/upgrade`, { new_version: '11' });
  const successor = encryptedUpgrade['replacement_room'] as string;
  t.same(await s.stateOf(successor, 'm.room.encryption'), ENCRYPTION_STATE[0]?.content, 'an encrypted room may be, and stays encrypted');
  await s.setPolicy({ forbidEncryptedRoomCreation: true });
  const encryptedAgain = await s.viaGateway('bob', 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(successor)}/upgrade`, { new_version: '11' });
  t.same([encryptedAgain.status, encryptedAgain.json], [403, CANNOT_ENCRYPT], 'an encrypted room is not upgraded into a new encrypted one');
  t.equal(await s.stateOf(successor, 'm.room.tombstone'), null, 'no tombstone');
  await s.setPolicy();
  t.equal(await roomCount(), count + 4, 'the refused upgrades created no room');
});

t.test('redacting the encryption event under forbidUnencryptedRoomCreation (router parity F2)', async (t) => {
  const room = (await ok(t, 'bob', 'POST', '/_matrix/client/v3/createRoom', { initial_state: ENCRYPTION_STATE }))['room_id'] as string;
  const encryptionEvent = await matrixCall<{ event_id: string }>(s.hs.baseUrl, 'GET',
    `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.encryption?format=event`, { token: users.bob.accessToken });
  const message = (await ok(t, 'bob', 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/t-redact-1`, { msgtype: 'm.text', body: 'x' }))['event_id'] as string;
  await s.setPolicy({ forbidUnencryptedRoomCreation: true });
  const redact = requestVariants({ method: 'POST', template: 'rooms/{roomId}/redact/{eventId}', params: { roomId: room, eventId: encryptionEvent.event_id }, txn: true });
  const cannotUnencrypt = forbidden('Denied by policy (cannot make rooms unencrypted)');
  await allDenied(t, 'bob', redact, { reason: 'off' }, cannotUnencrypt);
  // Verification round 12, F1: an m.room.redaction sent as an event redacts `content.redacts` (room v11+).
  const asEvent = { redacts: encryptionEvent.event_id };
  await allDenied(t, 'bob', requestVariants({ method: 'POST', template: 'rooms/{roomId}/send/{eventType}', params: { roomId: room, eventType: 'm.room.redaction' }, txn: true }), asEvent, cannotUnencrypt);
  await allDenied(t, 'bob', requestVariants({ method: 'PUT', template: 'rooms/{roomId}/state/{eventType}/{stateKey}', params: { roomId: room, eventType: 'm.room.redaction', stateKey: 'x' } }), asEvent, cannotUnencrypt);
  // Quality review 5, M2: replacing the event with one without an algorithm has the same effect.
  const encryptionState = requestVariants({ method: 'PUT', template: 'rooms/{roomId}/state/{eventType}', params: { roomId: room, eventType: 'm.room.encryption' } });
  await allDenied(t, 'bob', encryptionState, {}, cannotUnencrypt);
  await allDenied(t, 'bob', encryptionState, { algorithm: 1 }, cannotUnencrypt);
  t.same(await s.stateOf(room, 'm.room.encryption'), ENCRYPTION_STATE[0]?.content, 'the room stays encrypted');
  await ok(t, 'bob', 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.encryption`, { algorithm: 'm.megolm.v1.aes-sha2', rotation_period_ms: 604800000 });
  t.same(await s.stateOf(room, 'm.room.encryption'), { algorithm: 'm.megolm.v1.aes-sha2', rotation_period_ms: 604800000 }, 'content that keeps encryption on goes through');
  await ok(t, 'bob', 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/redact/${encodeURIComponent(message)}/t-redact-2`, { reason: 'typo' });
  await s.setPolicy();
  const current = await matrixCall<{ event_id: string }>(s.hs.baseUrl, 'GET',
    `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.encryption?format=event`, { token: users.bob.accessToken });
  await ok(t, 'bob', 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/redact/${encodeURIComponent(current.event_id)}/t-redact-3`, {});
  t.same(await s.stateOf(room, 'm.room.encryption'), {}, 'without the flag the redaction goes through (and empties the event)');
});

t.test('a tombstone (an upgrade by hand) in a managed room: only the corporal user', async (t) => {
  const tombstone = requestVariants({ method: 'PUT', template: 'rooms/{roomId}/state/{eventType}', params: { roomId: rooms.managed, eventType: 'm.room.tombstone' } });
  await allDenied(t, 'bob', tombstone, { replacement_room: rooms.free, body: 'moved' }, UPGRADE);
  t.equal(await s.stateOf(rooms.managed, 'm.room.tombstone'), null, 'no tombstone in the managed room');
  const own = (await ok(t, 'bob', 'POST', '/_matrix/client/v3/createRoom', {}))['room_id'] as string;
  await ok(t, 'bob', 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(own)}/state/m.room.tombstone`, { replacement_room: rooms.free, body: 'moved' });
  t.same(await s.stateOf(own, 'm.room.tombstone'), { replacement_room: rooms.free, body: 'moved' }, 'unmanaged rooms are not restricted');
});

t.test('sending is policy-checked only for the token', async (t) => {
  const sent = await ok(t, 'alice', 'PUT', `/_matrix/client/r0/rooms/${encodeURIComponent(rooms.managed)}/send/m.room.message/t-send-1`, { msgtype: 'm.text', body: 'hi' });
  t.type(sent['event_id'], 'string');
  const anonymous = await s.viaGateway(null, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.managed)}/send/m.room.message/t-send-2`, { msgtype: 'm.text', body: 'hi' });
  t.same([anonymous.status, anonymous.json], [401, { errcode: 'M_MISSING_TOKEN', error: 'Missing access token' }]);
});
