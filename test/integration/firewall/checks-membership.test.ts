import t, { type Test } from 'tap';
import { requestVariants, startFirewallScenario, type RequestVariant, type ScenarioUser, type VariantSpec } from '../../support/firewall-scenario.js';
import { matrixCall, matrixRequest } from '../../support/matrix-client.js';

/**
 * Membership checks through the real gateway in front of a real Synapse: every denial is tried in
 * every form (prefix, encoding, txn form, trailing slash) and must be answered 403 with the exact
 * error while Synapse's memberships stay as they were; every allowed action must really happen.
 */

// Delayed events (MSC4140) are off unless the server sets a maximum delay.
const s = await startFirewallScenario({ extraConfig: { max_event_delay_duration: '24h' } });
t.teardown(() => s.stop());
const { rooms, users } = s;

const DENIED_BY_POLICY = { errcode: 'M_FORBIDDEN', error: 'Denied by policy' };
const REQUIRED_MEMBER = { errcode: 'M_FORBIDDEN', error: 'Denied by policy (the policy requires this user in this room)' };
const NOT_LISTED = { errcode: 'M_FORBIDDEN', error: 'Denied by policy (the policy does not list you in this managed room)' };
const UNRESOLVABLE = { errcode: 'M_FORBIDDEN', error: 'Denied by policy (the room alias could not be resolved to check it)' };

/** The memberships the denials must leave untouched. */
async function memberships(): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const room of ['managed', 'open', 'knockable'] as const) {
    for (const user of ['alice', 'pat', 'carol', 'bob'] as const) out[`${room}/${user}`] = await s.membershipOf(rooms[room], user);
  }
  return out;
}

/** Sends every variant as `user`; each must be denied with `expected`. */
async function allDenied(tt: Test, user: ScenarioUser, variants: readonly RequestVariant[], body: unknown, expected: { errcode: string; error: string }): Promise<void> {
  for (const variant of variants) {
    const response = await s.viaGateway(user, variant.method, variant.path, body);
    tt.equal(response.status, 403, `${variant.label}: ${variant.path}`);
    tt.same(response.json, expected, `${variant.label}: body`);
  }
}

const before = await memberships();
t.same(before, {
  'managed/alice': 'join', 'managed/pat': 'join', 'managed/carol': null, 'managed/bob': 'join',
  'open/alice': null, 'open/pat': null, 'open/carol': null, 'open/bob': 'join',
  'knockable/alice': null, 'knockable/pat': null, 'knockable/carol': null, 'knockable/bob': null,
}, 'scenario memberships');

const roomSpec = (template: string, roomId: string, extra: Partial<VariantSpec> = {}): VariantSpec =>
  ({ method: 'POST', template, params: { roomId }, txn: true, ...extra });

t.test('denials leave Synapse untouched, in every form', async (t) => {
  t.test('a managed user cannot leave a required room', async (t) => {
    await allDenied(t, 'alice', requestVariants(roomSpec('rooms/{roomId}/leave', rooms.managed)), {}, DENIED_BY_POLICY);
  });
  t.test('nor kick or ban themselves out of it', async (t) => {
    for (const action of ['kick', 'ban']) {
      await allDenied(t, 'pat', requestVariants(roomSpec(`rooms/{roomId}/${action}`, rooms.managed)), { user_id: users.pat.userId }, DENIED_BY_POLICY);
    }
  });
  t.test('nobody but the corporal user removes a required member', async (t) => {
    for (const action of ['kick', 'ban']) {
      await allDenied(t, 'bob', requestVariants(roomSpec(`rooms/{roomId}/${action}`, rooms.managed)), { user_id: users.alice.userId, reason: 'x' }, REQUIRED_MEMBER);
    }
  });
  t.test('nor through the state API', async (t) => {
    const spec: VariantSpec = {
      method: 'PUT', template: 'rooms/{roomId}/state/{eventType}/{stateKey}',
      params: { roomId: rooms.managed, eventType: 'm.room.member', stateKey: users.alice.userId },
    };
    for (const membership of ['leave', 'ban', 'kick']) await allDenied(t, 'bob', requestVariants(spec), { membership }, REQUIRED_MEMBER);
    await allDenied(t, 'alice', requestVariants(spec), { membership: 'leave' }, DENIED_BY_POLICY);
    await allDenied(t, 'alice', requestVariants(spec), { membership: 'join', displayname: 'Renamed' }, DENIED_BY_POLICY);
  });
  t.test('nor set a per-room name or avatar in a required room by joining it again (red team 9, F1)', async (t) => {
    const memberEvent = () => s.stateOf(rooms.managed, 'm.room.member', users.alice.userId);
    const original = await memberEvent();
    t.equal(original?.['membership'], 'join');
    const spec: VariantSpec = { method: 'POST', template: 'join/{id}', params: { id: rooms.managed }, txn: true };
    await allDenied(t, 'alice', requestVariants(spec), { displayname: '[x] Bob (server admin)', avatar_url: 'mxc://localhost/evil' }, DENIED_BY_POLICY);
    await allDenied(t, 'alice', requestVariants(spec), { displayname: null }, DENIED_BY_POLICY);
    t.same(await memberEvent(), original, 'the member event is unchanged');
  });
  t.test('a managed user cannot join a managed room the policy does not list', async (t) => {
    await allDenied(t, 'alice', requestVariants(roomSpec('rooms/{roomId}/join', rooms.open)), {}, NOT_LISTED);
    await allDenied(t, 'carol', requestVariants(roomSpec('rooms/{roomId}/join', rooms.managed)), {}, NOT_LISTED);
    await allDenied(t, 'carol', requestVariants({ method: 'POST', template: 'join/{id}', params: { id: rooms.open }, txn: true }), {}, NOT_LISTED);
    await allDenied(t, 'carol', requestVariants({ method: 'POST', template: 'join/{id}', params: { id: s.aliases.open }, txn: true }), {}, NOT_LISTED);
    const state: VariantSpec = { method: 'PUT', template: 'rooms/{roomId}/state/{eventType}/{stateKey}', params: { roomId: rooms.open, eventType: 'm.room.member', stateKey: users.carol.userId } };
    await allDenied(t, 'carol', requestVariants(state), { membership: 'join' }, NOT_LISTED);
  });
  t.test('nor knock on one', async (t) => {
    const prefixes = ['r0', 'v3', 'unstable'];
    await allDenied(t, 'carol', requestVariants({ method: 'POST', template: 'knock/{id}', params: { id: rooms.knockable }, prefixes }), { reason: 'please' }, NOT_LISTED);
    const state: VariantSpec = { method: 'PUT', template: 'rooms/{roomId}/state/{eventType}/{stateKey}', params: { roomId: rooms.knockable, eventType: 'm.room.member', stateKey: users.carol.userId } };
    await allDenied(t, 'carol', requestVariants(state), { membership: 'knock' }, NOT_LISTED);
  });
  t.test('an alias that does not resolve is refused to managed users', async (t) => {
    await allDenied(t, 'carol', requestVariants({ method: 'POST', template: 'join/{id}', params: { id: `#nowhere:${s.hs.serverName}` } }), {}, UNRESOLVABLE);
  });
  t.same(await memberships(), before, 'no membership changed');
});

t.test('allowed actions happen', async (t) => {
  // Through the gateway, checking Synapse afterwards.
  const expectOk = async (user: ScenarioUser, method: string, path: string, body: unknown = {}): Promise<void> => {
    const response = await s.viaGateway(user, method, path, body);
    t.equal(response.status, 200, `${user} ${method} ${path}: ${response.text}`);
  };
  await expectOk('carol', 'POST', `/_matrix/client/v3/join/${encodeURIComponent(s.aliases.free)}`, { displayname: 'Carol here' });
  t.equal(await s.membershipOf(rooms.free, 'carol'), 'join', 'carol joined an unmanaged room by alias');
  t.equal((await s.stateOf(rooms.free, 'm.room.member', users.carol.userId))?.['displayname'], 'Carol here', 'with a per-room name, as it is not a required room');
  await expectOk('alice', 'POST', `/_matrix/client/v3/join/${encodeURIComponent(rooms.managed)}`, { reason: 'still here' });
  t.equal((await s.stateOf(rooms.managed, 'm.room.member', users.alice.userId))?.['reason'], 'still here', 'a join body without a profile passes in a required room');
  await expectOk('carol', 'POST', `/_matrix/client/unstable/rooms/${encodeURIComponent(rooms.free)}/leave`);
  t.equal(await s.membershipOf(rooms.free, 'carol'), 'leave', 'and left it');
  await expectOk('bob', 'POST', `/_matrix/client/r0/knock/${encodeURIComponent(rooms.knockable)}`, { reason: 'hi' });
  t.equal(await s.membershipOf(rooms.knockable, 'bob'), 'knock', 'an unmanaged user may knock on a managed room');
  await expectOk('bob', 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.open)}/leave/t-bob-1`);
  t.equal(await s.membershipOf(rooms.open, 'bob'), 'leave', 'an unmanaged user may leave a managed room');
  await expectOk('bob', 'POST', `/_matrix/client/api/v1/join/${encodeURIComponent(s.aliases.open)}`);
  t.equal(await s.membershipOf(rooms.open, 'bob'), 'join', 'and join it again by alias');
  await expectOk('corporal', 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.managed)}/kick`, { user_id: users.pat.userId });
  t.equal(await s.membershipOf(rooms.managed, 'pat'), 'leave', 'the corporal user may remove a required member');
  await expectOk('bob', 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.managed)}/ban`, { user_id: users.carol.userId });
  t.equal(await s.membershipOf(rooms.managed, 'carol'), 'ban', 'banning someone the policy does not require there is left to Synapse');
  await expectOk('bob', 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.managed)}/unban`, { user_id: users.carol.userId });
  t.equal(await s.membershipOf(rooms.managed, 'carol'), 'leave');
});

t.test('the policy decides, not the snapshot at start: listing carol in a room lets her in', async (t) => {
  await s.setPolicy({}, { carol: { joinedRooms: [{ roomId: rooms.managed, powerLevel: 0 }] } });
  const response = await s.viaGateway('carol', 'POST', `/_matrix/client/unstable/rooms/${encodeURIComponent(rooms.managed)}/join`, {});
  t.equal(response.status, 200, response.text);
  t.equal(await s.membershipOf(rooms.managed, 'carol'), 'join');
  const leave = await s.viaGateway('carol', 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.managed)}/leave`, {});
  t.same([leave.status, leave.json], [403, DENIED_BY_POLICY], 'and now she may not leave');
  await s.setPolicy();
});

t.test('an alias re-pointed at a managed room is checked against that room at once', async (t) => {
  const alias = `#trap:${s.hs.serverName}`;
  const asBob = (method: string, path: string, body?: unknown) => matrixRequest(s.hs.baseUrl, method, path, { token: users.bob.accessToken, body });
  const created = await asBob('POST', '/_matrix/client/v3/createRoom', { preset: 'public_chat' });
  const decoy = (created.json as { room_id: string }).room_id;
  const directory = `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`;
  t.equal((await asBob('PUT', directory, { room_id: decoy })).status, 200);
  // Joined on both gateway threads (connections are spread over them), so any kept answer would be warm.
  for (let i = 0; i < 4; i++) {
    const join = await s.viaGateway('carol', 'POST', `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, {});
    t.equal(join.status, 200, 'carol may join an unmanaged room by alias');
  }
  t.equal((await asBob('DELETE', directory)).status, 200);
  t.equal((await asBob('PUT', directory, { room_id: rooms.open })).status, 200, 'bob, a member of a managed room, points the alias at it');
  const trapped = await s.viaGateway('carol', 'POST', `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, {});
  t.same([trapped.status, trapped.json], [403, NOT_LISTED]);
  t.equal(await s.membershipOf(rooms.open, 'carol'), null, 'carol is not in the managed room');
});

t.test('MSC4140 delayed membership, power-level, encryption, tombstone and redaction events are refused in every room; others are scheduled', async (t) => {
  const DELAYED = { errcode: 'M_FORBIDDEN', error: 'Denied by policy (delayed membership, power-level, encryption, tombstone and redaction events are not allowed)' };
  const state = (room: string, rest: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/${rest}?org.matrix.msc4140.delay=600000`;
  const scheduledByBob = async () => {
    const list = await matrixCall<{ delayed_events: { room_id: string; type: string }[] }>(s.hs.baseUrl, 'GET', '/_matrix/client/unstable/org.matrix.msc4140/delayed_events', { token: users.bob.accessToken });
    return list.delayed_events.map((event) => `${event.room_id === rooms.managed ? 'managed' : event.room_id === rooms.free ? 'free' : event.room_id} ${event.type}`).sort();
  };
  const levels = await s.stateOf(rooms.managed, 'm.room.power_levels');
  t.equal((levels?.['users'] as Record<string, number>)[users.alice.userId], 50);

  const unchangedLevels = await s.viaGateway('bob', 'PUT', state(rooms.managed, 'm.room.power_levels'), levels);
  t.same([unchangedLevels.status, unchangedLevels.json], [403, DELAYED], 'even a power-levels event that keeps the policy\'s levels');
  const ownLeave = await s.viaGateway('bob', 'PUT', state(rooms.managed, `m.room.member/${encodeURIComponent(users.bob.userId)}`), { membership: 'leave' });
  t.same([ownLeave.status, ownLeave.json], [403, DELAYED], 'an unmanaged member\'s own delayed leave');
  const encodedKey = await s.viaGateway('bob', 'PUT', state(rooms.managed, 'm.room.power_levels').replace('msc4140.delay', 'msc4140.%64elay'), levels);
  t.same([encodedKey.status, encodedKey.json], [403, DELAYED], 'the parameter name percent-encoded, as Synapse decodes it');

  t.equal((await s.viaGateway('bob', 'POST', `/_matrix/client/v3/join/${encodeURIComponent(rooms.free)}`, {})).status, 200);
  const topic = await s.viaGateway('bob', 'PUT', state(rooms.managed, 'm.room.topic'), { topic: 'later' });
  t.equal(topic.status, 200, `other state types are scheduled: ${topic.text}`);
  t.type((topic.json as { delay_id?: unknown }).delay_id, 'string', 'Synapse scheduled it (delayed events are on)');
  // Red team 9, F3: refused in unmanaged rooms too, as the room may be managed (or a flag set) by the time they land.
  for (const [rest, body] of [
    [`m.room.member/${encodeURIComponent(users.bob.userId)}`, { membership: 'leave' }],
    ['m.room.power_levels', (await s.stateOf(rooms.free, 'm.room.power_levels'))!],
    ['m.room.tombstone', { body: 'moved', replacement_room: rooms.open }],
    ['m.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' }],
  ] as const) {
    const delayed = await s.viaGateway('bob', 'PUT', state(rooms.free, rest), body);
    t.same([delayed.status, delayed.json], [403, DELAYED], `a delayed ${rest.split('/')[0]} in an unmanaged room`);
  }
  // Quality review 5, M1: a redaction sent as an event, delayed, would land unchecked after forbidUnencryptedRoomCreation.
  const message = (await s.viaGateway('bob', 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.free)}/send/m.room.message/t-delayed-1`, { msgtype: 'm.text', body: 'x' })).json as { event_id: string };
  const delayedSend = await s.viaGateway('bob', 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.free)}/send/m.room.redaction/t-delayed-2?org.matrix.msc4140.delay=600000`, { redacts: message.event_id });
  t.same([delayedSend.status, delayedSend.json], [403, DELAYED], 'a delayed redaction sent as an event');
  const delayedStateRedaction = await s.viaGateway('bob', 'PUT', state(rooms.free, 'm.room.redaction/x'), { redacts: message.event_id });
  t.same([delayedStateRedaction.status, delayedStateRedaction.json], [403, DELAYED], 'a delayed redaction sent as state');
  const freeTopic = await s.viaGateway('bob', 'PUT', state(rooms.free, 'm.room.topic'), { topic: 'later' });
  t.equal(freeTopic.status, 200, freeTopic.text);
  t.same(await scheduledByBob(), ['free m.room.topic', 'managed m.room.topic'], 'Synapse holds only the allowed delayed events');
  t.equal((await s.stateOf(rooms.managed, 'm.room.member', users.bob.userId))?.['membership'], 'join');
});

t.test("the corporal user cannot be thrown out of, or demoted in, a managed room, even by a v12 room's creator", async (t) => {
  const PROTECTED = { errcode: 'M_FORBIDDEN', error: 'Denied by policy (the corporal user cannot be removed from or demoted in a managed room)' };
  // bob creates a room (v12: his power is unlimited) and gives the corporal user 100; the room is then put under management.
  const created = await matrixCall<{ room_id: string }>(s.hs.baseUrl, 'POST', '/_matrix/client/v3/createRoom', {
    token: users.bob.accessToken,
    body: { preset: 'public_chat', room_version: '12', power_level_content_override: { users: { [users.corporal.userId]: 100 } } },
  });
  const room = created.room_id;
  await matrixCall(s.hs.baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, { token: users.corporal.accessToken, body: {} });
  await s.setPolicy({}, {}, [room]);
  const corporalMembership = async () => (await s.stateOf(room, 'm.room.member', users.corporal.userId))?.['membership'];
  const corporalLevel = async () => ((await s.stateOf(room, 'm.room.power_levels'))?.['users'] as Record<string, number>)[users.corporal.userId];

  const encodedRoom = encodeURIComponent(room);
  for (const [method, path, body] of [
    ['POST', `/_matrix/client/v3/rooms/${encodedRoom}/kick`, { user_id: users.corporal.userId }],
    ['POST', `/_matrix/client/r0/rooms/${encodedRoom}/ban`, { user_id: users.corporal.userId }],
    ['PUT', `/_matrix/client/v3/rooms/${encodedRoom}/state/m.room.member/${encodeURIComponent(users.corporal.userId)}`, { membership: 'leave' }],
  ] as const) {
    const answer = await s.viaGateway('bob', method, path, body);
    t.same([answer.status, answer.json], [403, PROTECTED], `${method} ${path}`);
  }
  const demote = await s.viaGateway('bob', 'PUT', `/_matrix/client/v3/rooms/${encodedRoom}/state/m.room.power_levels`, { users: { [users.corporal.userId]: 0 } });
  t.same([demote.status, demote.json], [403, PROTECTED], 'demotion');
  t.same([await corporalMembership(), await corporalLevel()], ['join', 100], 'Synapse: still joined at 100');
  // Nor can the creator lock it out by raising the levels it needs above its 100.
  const levelsPath = `/_matrix/client/v3/rooms/${encodedRoom}/state/m.room.power_levels`;
  const corporalUsers = { [users.corporal.userId]: 100 };
  const before = await s.stateOf(room, 'm.room.power_levels');
  for (const raised of [{ kick: 150 }, { ban: 150 }, { invite: 150 }, { state_default: 150 }, { events: { 'm.room.power_levels': 150 } }]) {
    const answer = await s.viaGateway('bob', 'PUT', levelsPath, { users: corporalUsers, ...raised });
    t.same([answer.status, answer.json], [403, PROTECTED], `raising ${JSON.stringify(raised)}`);
  }
  t.same(await s.stateOf(room, 'm.room.power_levels'), before, 'Synapse: the power levels are unchanged');
  const topicLevels = await s.viaGateway('bob', 'PUT', levelsPath, { users: corporalUsers, events: { 'm.room.topic': 0 }, kick: 100 });
  t.equal(topicLevels.status, 200, `other power-level edits pass, up to the corporal user's level: ${topicLevels.text}`);

  // Premise: Synapse itself lets the creator demote the corporal user.
  await matrixCall(s.hs.baseUrl, 'PUT', `/_matrix/client/v3/rooms/${encodedRoom}/state/m.room.power_levels`, { token: users.bob.accessToken, body: { users: { [users.corporal.userId]: 0 } } });
  t.equal(await corporalLevel(), 0, 'straight at Synapse the creator could');
  await s.setPolicy();
});
