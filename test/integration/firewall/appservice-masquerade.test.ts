import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFirewallScenario } from '../../support/firewall-scenario.js';
import { matrixRequest, type MatrixResponse } from '../../support/matrix-client.js';

/**
 * Appservice tokens through the gateway (red team 16). The policy checks read the room as the user
 * Synapse will act as, `user_id` included (F1, F2); no appservice acts as the corporal user (F3);
 * Synapse's refusal of a `user_id` is passed on as Synapse's (F6). Every denial is checked in
 * Synapse's state afterwards.
 */

const BRIDGE_TOKEN = 'bridge-as-token';
const PUPPETS_TOKEN = 'puppets-as-token';
const dir = mkdtempSync(join(tmpdir(), 'corporal-as-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A non-exclusive registration covering every user, like a double-puppeting appservice's. */
function registration(id: string, asToken: string, sender: string): string {
  const file = join(dir, `${id}.yaml`);
  writeFileSync(file, [
    `id: ${id}`, 'url: null', `as_token: ${asToken}`, `hs_token: ${id}-hs-token`, `sender_localpart: ${sender}`, 'rate_limited: false',
    'namespaces:', '  users:', '    - exclusive: false', '      regex: "@.*"', '  aliases: []', '  rooms: []', '',
  ].join('\n'));
  return file;
}

const s = await startFirewallScenario({
  extraConfig: { app_service_config_files: [registration('bridge', BRIDGE_TOKEN, 'bridgebot'), registration('puppets', PUPPETS_TOKEN, 'puppetbot')] },
});
t.teardown(() => s.stop());
const { users, rooms } = s;
const hs = s.hs.baseUrl;
const enc = encodeURIComponent;
const show = (answer: MatrixResponse): string => `${answer.status} ${answer.text.slice(0, 200)}`;
const levelsPath = (roomId: string): string => `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`;
const levels = async (): Promise<Record<string, unknown>> => (await s.stateOf(rooms.managed, 'm.room.power_levels')) ?? {};
const aliceLevel = async (): Promise<unknown> => ((await levels())['users'] as Record<string, unknown>)[users.alice.userId];

/** Sets alice's level in the managed room directly at Synapse, as the corporal user. */
async function setAliceDirectly(level: number): Promise<void> {
  const content = await levels();
  const answer = await matrixRequest(hs, 'PUT', levelsPath(rooms.managed), { token: users.corporal.accessToken, body: { ...content, users: { ...(content['users'] as object), [users.alice.userId]: level } } });
  if (answer.status !== 200) throw new Error(`setting alice's level: ${show(answer)}`);
}

/** The bridge's sender joins `roomId` and leaves it again, directly at Synapse: it can then read only the state as of its leave. */
async function bridgeBotVisits(roomId: string, meanwhile: () => Promise<void> = async () => undefined): Promise<void> {
  const joined = await matrixRequest(hs, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/join`, { token: BRIDGE_TOKEN, body: {} });
  if (joined.status !== 200) throw new Error(`bridgebot join: ${show(joined)}`);
  await meanwhile();
  const left = await matrixRequest(hs, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { token: BRIDGE_TOKEN, body: {} });
  if (left.status !== 200) throw new Error(`bridgebot leave: ${show(left)}`);
}

t.test('a power-levels check reads the room as the masqueraded user, not as the appservice\'s departed sender (F1)', async (t) => {
  // The sender saw alice at 0 when it left; the current state has her at the policy's 50.
  await bridgeBotVisits(rooms.managed, () => setAliceDirectly(0));
  await setAliceDirectly(50);
  const content = await levels();
  const demotion = { ...content, users: { ...(content['users'] as object), [users.alice.userId]: 0 } };
  const answer = await matrixRequest(s.gateway.baseUrl, 'PUT', levelsPath(rooms.managed), { query: { access_token: BRIDGE_TOKEN, user_id: users.bob.userId }, body: demotion });
  t.equal(answer.status, 403, show(answer));
  t.equal(await aliceLevel(), 50, 'Synapse: alice is still at her policy level');
});

t.test('a masqueraded user whose appservice sender was never in the room is checked like the user (F2)', async (t) => {
  const harmless = { ...(await levels()), events_default: 1 };
  const answer = await matrixRequest(s.gateway.baseUrl, 'PUT', levelsPath(rooms.managed), { query: { access_token: PUPPETS_TOKEN, user_id: users.bob.userId }, body: harmless });
  t.equal(answer.status, 200, show(answer));
  t.equal((await levels())['events_default'], 1, 'Synapse: the edit landed, sent by bob');
});

t.test('the encryption check of a redaction reads the room as the masqueraded user (F1)', async (t) => {
  await s.setPolicy({ forbidUnencryptedRoomCreation: true });
  t.teardown(() => s.setPolicy());
  const created = await matrixRequest(hs, 'POST', '/_matrix/client/v3/createRoom', { token: users.alice.accessToken, body: { preset: 'public_chat', room_version: '11' } });
  const roomId = (created.json as { room_id: string }).room_id;
  await bridgeBotVisits(roomId);
  const encrypted = await matrixRequest(hs, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.encryption/`, { token: users.alice.accessToken, body: { algorithm: 'm.megolm.v1.aes-sha2' } });
  const eventId = (encrypted.json as { event_id: string }).event_id;
  const answer = await matrixRequest(s.gateway.baseUrl, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/as1`, { query: { access_token: BRIDGE_TOKEN, user_id: users.alice.userId }, body: {} });
  t.equal(answer.status, 403, show(answer));
  t.equal((await s.stateOf(roomId, 'm.room.encryption'))?.['algorithm'], 'm.megolm.v1.aes-sha2', 'Synapse: the room is still encrypted');
});

t.test('no appservice acts as the corporal user through the gateway (F3)', async (t) => {
  const asCorporal = { access_token: PUPPETS_TOKEN, user_id: users.corporal.userId };
  const kick = await matrixRequest(s.gateway.baseUrl, 'POST', `/_matrix/client/v3/rooms/${enc(rooms.managed)}/kick`, { query: asCorporal, body: { user_id: users.alice.userId } });
  t.equal(kick.status, 403, show(kick));
  t.match(kick.json, { errcode: 'M_FORBIDDEN', error: /appservice cannot act as the corporal user/ });
  t.equal(await s.membershipOf(rooms.managed, 'alice'), 'join', 'Synapse: alice is still in the room the policy requires');
  const admin = await matrixRequest(s.gateway.baseUrl, 'GET', '/_synapse/admin/v2/users', { query: asCorporal });
  t.equal(admin.status, 403, `the admin API as well: ${show(admin)}`);
  const own = await matrixRequest(s.gateway.baseUrl, 'GET', '/_synapse/admin/v2/users', { token: users.corporal.accessToken });
  t.equal(own.status, 200, 'the corporal user\'s own token is not affected');
});

t.test('no appservice acts as the corporal user through a form body, on the admin API either (quality review 17)', async (t) => {
  /** A JSON body that Twisted also parses as a form carrying `user_id` (`parse_qs` splits on `&`). */
  const resetBody = (password: string): string => JSON.stringify({ new_password: password, logout_devices: false, x: `&user_id=${enc(users.corporal.userId)}&` });
  const reset = (baseUrl: string, password: string): Promise<MatrixResponse> => matrixRequest(baseUrl, 'POST', `/_synapse/admin/v1/reset_password/${enc(users.carol.userId)}`, {
    query: { access_token: PUPPETS_TOKEN }, rawBody: resetBody(password), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const logsIn = async (password: string): Promise<boolean> => (await matrixRequest(hs, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: users.carol.userId }, password },
  })).status === 200;
  const direct = await reset(hs, 'taken-over-direct');
  t.equal(direct.status, 200, `the premise: straight to Synapse the form's user_id makes the appservice the admin: ${show(direct)}`);
  t.ok(await logsIn('taken-over-direct'), 'Synapse: carol\'s password was reset');
  const through = await reset(s.gateway.baseUrl, 'taken-over-gateway');
  t.equal(through.status, 415, show(through));
  t.match(through.json, { errcode: 'M_UNRECOGNIZED' });
  t.notOk(await logsIn('taken-over-gateway'), 'Synapse: the gateway\'s request reset nothing');
  t.ok(await logsIn('taken-over-direct'), 'carol\'s password is still the one set straight at Synapse');
});

t.test('a user_id Synapse refuses is answered as Synapse answers it, not as a homeserver failure (F6)', async (t) => {
  const nobody = `@nobody-registered:${s.hs.serverName}`;
  const direct = await matrixRequest(hs, 'GET', '/_matrix/client/v3/account/whoami', { query: { access_token: BRIDGE_TOKEN, user_id: nobody } });
  const through = await matrixRequest(s.gateway.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { query: { access_token: BRIDGE_TOKEN, user_id: nobody } });
  t.ok(direct.status === 400 || direct.status === 403, `Synapse refuses it: ${show(direct)}`);
  t.equal(through.status, direct.status, show(through));
  t.equal((through.json as { errcode?: string }).errcode, (direct.json as { errcode?: string }).errcode);
  const leave = await matrixRequest(s.gateway.baseUrl, 'POST', `/_matrix/client/v3/rooms/${enc(rooms.managed)}/leave`, { query: { access_token: BRIDGE_TOKEN, user_id: nobody }, body: {} });
  t.equal(leave.status, direct.status, `a policy-checked route too: ${show(leave)}`);
});
