import t from 'tap';
import { derivedPassword } from '../../../src/common/derived-password.js';
import { waitFor } from '../../support/control-plane.js';
import type { RunBody, StatusBody } from '../../support/control-plane-api.js';
import { TEST_AUTH_SHARED_SECRET as AUTH_SECRET } from '../../support/corporal-config.js';
import { serveAgainst, synapseWithCorporalAdmin, TEST_CORPORAL_USER as CORPORAL } from '../../support/serve-against.js';
import { threeUsersInTwoRooms } from '../../support/three-users-policy.js';
import { matrixCall, matrixRequest, registerUser } from '../../support/matrix-client.js';

const hs = await synapseWithCorporalAdmin(t);
const admin = hs.admin.accessToken;
const { publicRoom, privateRoom, alice, bob, carol, policy } = await threeUsersInTwoRooms(hs.baseUrl, admin);

const { corporal, api } = await serveAgainst(t, {
  homeserverUrl: hs.baseUrl,
  registrationSharedSecret: hs.registrationSharedSecret,
  overrides: {
    Reconciliation: { ResyncIntervalMilliseconds: 0 },
    // Debug: the supervisor's eviction relay is logged at debug, and no level may leak a secret.
    Misc: { Debug: true },
  },
});
const issuedTokens: string[] = [];

const enc = encodeURIComponent;
async function members(roomId: string): Promise<string[]> {
  return (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${enc(roomId)}/members`, { token: admin })).members;
}
async function powerLevels(roomId: string): Promise<Record<string, number>> {
  return (await matrixCall<{ users: Record<string, number> }>(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, { token: admin })).users;
}
/** Waits for a finished run matching `accept` and returns it. */
async function finishedRun(what: string, accept: (run: RunBody) => boolean): Promise<RunBody> {
  let status: StatusBody | undefined;
  await waitFor(what, async () => {
    status = await api.status();
    const run = status.reconciler?.lastRun;
    return run !== null && run !== undefined && accept(run) && !status.reconciler!.running;
  }, 60_000, 100);
  return status!.reconciler!.lastRun!;
}
async function mint(userId: string, body: unknown) {
  const answer = await api.call('POST', `/_matrix/corporal/user/${enc(userId)}/access-token/new`, body);
  if (typeof answer.json['accessToken'] === 'string') issuedTokens.push(answer.json['accessToken']);
  return answer;
}
const revoke = (userId: string, body: unknown) => api.call('DELETE', `/_matrix/corporal/user/${enc(userId)}/access-token`, body);
const whoamiStatus = async (token: string) => {
  const answer = await matrixRequest(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token });
  return { status: answer.status, json: answer.json as Record<string, unknown> };
};

t.test('the reconciler opens its admin session and reports it in status', async (t) => {
  await api.statusWhenUp();
  await waitFor('reconciler ready', async () => (await api.status()).reconciler?.state === 'ready', 30_000);
  const status = await api.status();
  t.match(status.reconciler, { state: 'ready', failedAttempts: 0, running: false, policyGeneration: null, lastRun: null });
  const idle = await api.call('POST', '/_matrix/corporal/reconcile');
  t.equal(idle.status, 503, 'nothing to reconcile before a policy');
  t.match(idle.json, { errcode: 'M_UNKNOWN', error: 'Cannot reconcile: no policy has been loaded yet' });
  t.equal((await api.call('GET', '/_matrix/corporal/plan')).status, 503);
});

t.test('a policy pushed through the API is reconciled: users created, rooms joined, power levels set', async (t) => {
  t.equal((await api.putPolicy(policy)).status, 200);
  const run = await finishedRun('the first pass', (r) => r.generation === 1);
  t.match(run, { kind: 'full', generation: 1, outcome: 'completed', usersObserved: 3, usersTotal: 3, actionsFailed: 0, failures: [] });
  t.ok(run.actionsDone > 0 && run.actionsDone === run.actionsPlanned);
  t.same(new Set(await members(publicRoom)), new Set([CORPORAL, alice, bob]));
  t.same(new Set(await members(privateRoom)), new Set([CORPORAL, alice]), 'invite-only room joined too');
  t.equal((await powerLevels(privateRoom))[alice], 50);
  const carolAccount = await matrixRequest(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${enc(carol)}`, { token: admin });
  t.equal(carolAccount.status, 404, 'an inactive policy user is not created');
  const status = await api.status();
  t.match(status.reconciler, { state: 'ready', policyGeneration: 1, lastRun: { generation: 1, outcome: 'completed', failuresByCode: {} } });
  t.same(status.reconciler?.lastFullRun, status.reconciler?.lastRun, 'the first pass is the last full pass');
  t.match(status.reconciler?.lastRun, { startedAt: /^\d{4}-\d\d-\d\dT/, finishedAt: /^\d{4}-\d\d-\d\dT/ }, 'times as ISO 8601');
  const gatewayWait = corporal.logs.filter((line) => String(line.msg).startsWith('the gateway threads '));
  t.match(gatewayWait, [{ generation: 1, msg: 'the gateway threads enforce this policy generation; reconciling it' }], 'the run waited for the gateway threads to enforce the policy');
});

t.test('drift: /plan shows the repair without applying it; /reconcile applies it', async (t) => {
  const minted = await mint(alice, { deviceId: 'drift' });
  t.equal(minted.status, 200);
  await matrixCall(hs.baseUrl, 'POST', `/_matrix/client/v3/rooms/${enc(privateRoom)}/leave`, { token: minted.json['accessToken'] as string, body: {} });
  t.notOk((await members(privateRoom)).includes(alice), 'alice left behind Corporal\'s back');

  const plan = await api.call('GET', '/_matrix/corporal/plan');
  t.equal(plan.status, 200);
  t.match(plan.json, { generation: 1, usersObserved: 3, actionsByType: { 'room.join': 1 }, warnings: [], skippedRooms: [] });
  t.same(plan.json['actions'], [{ type: 'room.join', userId: alice, roomId: privateRoom }]);
  t.ok((plan.json['requests'] as number) > 0);
  t.notOk((await members(privateRoom)).includes(alice), 'the dry run changed nothing');

  const requestedAt = Date.now();
  const trigger = await api.call('POST', '/_matrix/corporal/reconcile');
  t.equal(trigger.status, 202);
  t.same(trigger.json, {});
  const run = await finishedRun('the triggered pass', (r) => r.kind === 'full' && Date.parse(r.startedAt) >= requestedAt - 5);
  t.match(run, { outcome: 'completed', generation: 1, actionsPlanned: 1, actionsDone: 1 });
  t.ok((await members(privateRoom)).includes(alice), 'alice is back');
  t.same((await api.call('GET', '/_matrix/corporal/plan')).json['actions'], [], 'nothing left to do');
});

t.test('access-token/new: validation, refusals and minting', async (t) => {
  t.match(await mint('@alice:elsewhere.org', { deviceId: 'x' }), {
    status: 400,
    json: { errcode: 'M_INVALID_USERNAME', error: 'Bad user id (@alice:elsewhere.org) - not part of the homeserver domain (localhost)' },
  });
  t.match(await mint(alice, 'not json'), { status: 400, json: { errcode: 'M_BAD_JSON', error: 'Bad body payload' } });
  t.match(await mint(alice, { deviceId: 7 }), { status: 400, json: { errcode: 'M_BAD_JSON' } });
  t.match(await mint(alice, {}), { status: 400, json: { errcode: 'M_MISSING_PARAM', error: 'Bad body payload - empty or missing device id' } });
  t.match(await mint(alice, { deviceId: 'x', validitySeconds: -1 }), { status: 400, json: { errcode: 'M_INVALID_PARAM' } });
  t.match(await mint(carol, { deviceId: 'x' }), {
    status: 403,
    json: { errcode: 'M_USER_DEACTIVATED', error: `Could not obtain access token: ${carol} is inactive in the policy` },
  });
  t.match(await mint('@nobody:localhost', { deviceId: 'x' }), { status: 404, json: { errcode: 'M_NOT_FOUND', error: /^Could not obtain access token: / } });

  const expiring = await mint(alice, { DeviceID: 'ops', validitySeconds: 3600 });
  t.equal(expiring.status, 200, 'keys match case-insensitively, as in matrix-corporal');
  t.same(Object.keys(expiring.json), ['accessToken']);
  t.match(await whoamiStatus(expiring.json['accessToken'] as string), { status: 200, json: { user_id: alice } }, 'the token works at Synapse');

  const self = await mint(CORPORAL, { deviceId: 'ops-console' });
  t.equal(self.status, 200);
  t.match(await whoamiStatus(self.json['accessToken'] as string), { status: 200, json: { user_id: CORPORAL, device_id: 'ops-console' } }, 'the corporal user gets a session on its device');
  t.equal((await revoke(CORPORAL, { accessToken: self.json['accessToken'] })).status, 200);
});

t.test('access-token DELETE: owner checked, revoked at Synapse, evicted from the gateway', async (t) => {
  const minted = await mint(alice, { deviceId: 'x' });
  const token = minted.json['accessToken'] as string;
  t.match(await revoke(alice, {}), { status: 400, json: { errcode: 'M_MISSING_PARAM', error: 'Bad body payload - empty or missing access token' } });
  t.match(await revoke('@alice:elsewhere.org', { accessToken: token }), { status: 400, json: { errcode: 'M_INVALID_USERNAME' } });
  t.match(await revoke(bob, { accessToken: token }), {
    status: 403,
    json: { errcode: 'M_FORBIDDEN', error: `Could not destroy access token: the access token does not belong to ${bob}` },
  });
  t.equal((await whoamiStatus(token)).status, 200, 'a refused DELETE leaves the token alone');

  const evictions = () => corporal.logs.filter((line) => line.msg === 'relaying a token eviction to the gateway threads');
  const before = evictions().length;
  t.match(await revoke(alice, { accessToken: token }), { status: 200, json: {} });
  t.match(await whoamiStatus(token), { status: 401, json: { errcode: 'M_UNKNOWN_TOKEN' } }, 'the revoked token fails at Synapse');
  await waitFor('the eviction at the supervisor', () => evictions().length > before);
  t.match(evictions().at(-1), { component: 'supervisor', tokens: 1, userId: null }, 'identity.evict reached the supervisor, which relays it to every gateway thread');

  t.match(await revoke(alice, { accessToken: token }), { status: 200 }, 'revoking a token Synapse no longer knows succeeds');
});

t.test('locked users: no new tokens, old tokens can still be revoked', async (t) => {
  const dave = await registerUser(hs, { localpart: 'dave', password: 'dave password' });
  const minted = await mint(dave.userId, { deviceId: 'x' });
  t.equal(minted.status, 200, 'an unmanaged user gets a token, as in matrix-corporal');
  const token = minted.json['accessToken'] as string;
  await matrixCall(hs.baseUrl, 'PUT', `/_synapse/admin/v2/users/${enc(dave.userId)}`, { token: admin, body: { locked: true } });
  t.match(await mint(dave.userId, { deviceId: 'x' }), { status: 403, json: { errcode: 'M_USER_LOCKED', error: /^Could not obtain access token: / } });
  t.match(await whoamiStatus(token), { status: 401, json: { errcode: 'M_USER_LOCKED' } });
  t.equal((await revoke(dave.userId, { accessToken: token })).status, 200, 'the owner of a locked token cannot be checked, the token is revoked anyway');
  await matrixCall(hs.baseUrl, 'PUT', `/_synapse/admin/v2/users/${enc(dave.userId)}`, { token: admin, body: { locked: false } });
  t.match(await whoamiStatus(token), { status: 401, json: { errcode: 'M_UNKNOWN_TOKEN' } }, 'and stays revoked after unlocking');
});

t.test('status keeps the last run; no token, password or secret was ever logged', async (t) => {
  const status = await api.status();
  t.match(status.reconciler, { state: 'ready', running: false, lastRun: { kind: 'full', outcome: 'completed' } });
  const output = `${corporal.logs.map((line) => JSON.stringify(line)).join('\n')}\n${corporal.text.join('')}`;
  t.ok(corporal.logs.some((line) => line.msg === 'access token issued through the API'), 'token issuance is logged');
  for (const token of issuedTokens) t.notOk(output.includes(token), 'an issued token is not in the logs');
  t.notOk(output.includes(AUTH_SECRET), 'the auth shared secret is not in the logs');
  t.notOk(output.includes(derivedPassword(AUTH_SECRET, alice)), 'no derived password is in the logs');
  t.notOk(output.includes('test-api-token'), 'the API token is not in the logs');
  t.notOk(output.includes(hs.registrationSharedSecret), 'the registration secret is not in the logs');
});

t.test('shutdown stops the reconciler and exits 0', async (t) => {
  corporal.process.kill('SIGTERM');
  t.equal(await corporal.exited, 0);
});
