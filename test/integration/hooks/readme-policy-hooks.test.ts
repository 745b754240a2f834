import t from 'tap';
import { readPolicyFixtureText } from '../../fixtures/policy/fixture-files.js';
import { startHookScenario } from '../../support/hook-scenario.js';
import { createRoom, getJoinedRooms, matrixCall, registerUser } from '../../support/matrix-client.js';

/**
 * The hooks of matrix-corporal's README policy (test/fixtures/policy/readme-policy.json, a verbatim
 * copy: schema 1, a trailing comma, `routeMatchesRegex`/`methodMatchesRegex` shorthands), loaded as
 * a policy file is, with only its domain, room ids and hook service address adapted, enforced by
 * Corporal's real gateway in front of a real Synapse: banning is refused with Synapse's state
 * unchanged; room creation asks the REST service, whose answer decides.
 */

const scenario = await startHookScenario();
t.teardown(() => scenario.stop());
const { hs, service } = scenario;
const admin = scenario.users.corporal.accessToken;

const john = await registerUser(hs, { localpart: 'john', password: 'john-pw' });
const peter = await registerUser(hs, { localpart: 'peter', password: 'peter-pw' });
const levels = { room_version: '11', power_level_content_override: { users: { [scenario.users.corporal.userId]: 100, [john.userId]: 100 } } };
const roomA = await createRoom(hs.baseUrl, admin, { preset: 'public_chat', ...levels });
const roomB = await createRoom(hs.baseUrl, admin, { preset: 'public_chat', ...levels });
for (const member of [john, peter]) {
  for (const room of [roomA, roomB]) await matrixCall(hs.baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, { token: member.accessToken, body: {} });
}

const policyText = readPolicyFixtureText('readme-policy.json')
  .replaceAll('!roomA:example.com', roomA)
  .replaceAll('!roomB:example.com', roomB)
  .replaceAll('http://hook-rest-service:8080', service.origin)
  .replaceAll('example.com', hs.serverName);
await scenario.setPolicyText(policyText);

/** `user`'s membership in `room`, read at Synapse (admin API). */
async function membership(room: string, userId: string): Promise<string | null> {
  const { state } = await matrixCall<{ state: Array<{ type: string; state_key: string; content: { membership?: string } }> }>(
    hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}/state`, { token: admin },
  );
  return state.find((event) => event.type === 'm.room.member' && event.state_key === userId)?.content.membership ?? null;
}

t.test('banning is refused by the hook; Synapse state unchanged', async (t) => {
  for (const roomInPath of [roomA, encodeURIComponent(roomA)]) {
    const answer = await scenario.viaGateway(null, 'POST', `/_matrix/client/r0/rooms/${roomInPath}/ban`, {
      body: { user_id: peter.userId, reason: 'test' },
      headers: { authorization: `Bearer ${john.accessToken}` },
    });
    t.equal(answer.status, 403, roomInPath);
    t.same(answer.json, { errcode: 'M_FORBIDDEN', error: "Banning is forbidden on this server. We're nice like that!" });
    t.equal(answer.headers['access-control-allow-origin'], '*');
  }
  const anonymous = await scenario.viaGateway(null, 'POST', `/_matrix/client/r0/rooms/${encodeURIComponent(roomA)}/ban`, { body: { user_id: peter.userId } });
  t.equal(anonymous.status, 403, 'beforeAnyRequest: even before the token is looked at');
  t.match(anonymous.json, { error: "Banning is forbidden on this server. We're nice like that!" });
  t.equal(await membership(roomA, peter.userId), 'join', 'peter is still in the room');
});

t.test('room creation consults the REST service, which decides', async (t) => {
  const create = () => scenario.viaGateway(null, 'POST', '/_matrix/client/r0/createRoom', { body: { name: 'by john' }, headers: { authorization: `Bearer ${john.accessToken}` } });
  const roomsBefore = await getJoinedRooms(hs.baseUrl, john.accessToken);

  service.rejectProbability = 1;
  let from = service.requests.length;
  const rejected = await create();
  t.equal(rejected.status, 403);
  t.same(rejected.json, { errcode: 'M_FORBIDDEN', error: 'Rejected by the hook REST service' });
  t.same(await getJoinedRooms(hs.baseUrl, john.accessToken), roomsBefore, 'no room was created');
  const call = service.requests.slice(from).find((request) => request.path === '/reject/with-33-percent-chance');
  t.ok(call, 'the service was consulted');
  t.equal(call?.headers['authorization'], 'Bearer SOME_TOKEN', "the hook's RESTServiceRequestHeaders");
  t.match(call?.json, {
    meta: { hookId: 'custom-hook-to-reject-room-creation-once-in-a-while', authenticatedMatrixUserId: john.userId },
    request: { path: '/_matrix/client/r0/createRoom', method: 'POST', payload: JSON.stringify({ name: 'by john' }) },
    response: null,
  });

  service.rejectProbability = 0;
  const created = await create();
  t.equal(created.status, 200, created.text);
  const roomId = (created.json as { room_id: string }).room_id;
  t.ok((await getJoinedRooms(hs.baseUrl, john.accessToken)).includes(roomId), 'the room exists');

  // The README's one-in-three chance (seeded, so this run repeats): every consultation decides.
  service.rejectProbability = 1 / 3;
  from = service.requests.length;
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await create()).status);
  t.equal(callsOf(from), 12, 'one consultation per creation');
  t.ok(statuses.includes(403) && statuses.includes(200), `both outcomes occur: ${statuses.join(' ')}`);
  t.ok(statuses.every((status) => status === 403 || status === 200));
  const rooms = await getJoinedRooms(hs.baseUrl, john.accessToken);
  t.equal(rooms.length, roomsBefore.length + 1 + statuses.filter((status) => status === 200).length, 'a room for every creation the service let through, none for the others');
});

function callsOf(from: number): number {
  return service.requests.slice(from).filter((request) => request.path === '/reject/with-33-percent-chance').length;
}

t.test("the README's route regexes name r0 only, and match the same endpoint under every prefix (matrix-corporal's did not)", async (t) => {
  service.rejectProbability = 1;
  const roomsBefore = await getJoinedRooms(hs.baseUrl, john.accessToken);
  for (const prefix of ['v3', 'unstable', 'api/v1']) {
    const from = service.requests.length;
    const created = await scenario.viaGateway(null, 'POST', `/_matrix/client/${prefix}/createRoom`, { body: {}, headers: { authorization: `Bearer ${john.accessToken}` } });
    t.equal(created.status, 403, `${prefix} createRoom is consulted and rejected`);
    t.equal(callsOf(from), 1);
  }
  t.same(await getJoinedRooms(hs.baseUrl, john.accessToken), roomsBefore, 'no room was created (read at Synapse)');
});

t.test('without the policy hooks the same ban goes through (the refusal above was the hook)', async (t) => {
  await scenario.setHooks([]);
  const answer = await scenario.viaGateway(null, 'POST', `/_matrix/client/r0/rooms/${encodeURIComponent(roomA)}/ban`, {
    body: { user_id: peter.userId },
    headers: { authorization: `Bearer ${john.accessToken}` },
  });
  t.equal(answer.status, 200, answer.text);
  t.equal(await membership(roomA, peter.userId), 'ban');
});
