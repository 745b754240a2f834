import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushAndSettle } from '../../support/control-plane-api.js';
import { matrixCall, matrixRequest } from '../../support/matrix-client.js';
import { POSTGRES_ERROR_CODE, startPostgresCluster } from '../../support/postgres-cluster.js';
import { orphanSynapse, waitUntilGone } from '../../support/orphan-synapse.js';
import { isProcessRunning } from '../../support/process-reaper.js';
import { threeUsersInTwoRooms } from '../../support/three-users-policy.js';
import { serveAgainst, synapseWithCorporalAdmin, TEST_CORPORAL_USER as CORPORAL } from '../../support/serve-against.js';

/**
 * Corporal against Synapse on PostgreSQL (a private cluster, postgres-cluster.ts): the reconciler
 * converges a small policy, the gateway logs a managed user in and refuses a policy-denied leave,
 * and Synapse's state is read back through its admin API and, to prove where it lives, from
 * PostgreSQL. Needs the PostgreSQL server binaries; without them the harness throws (no skip).
 */
const hs = await synapseWithCorporalAdmin(t, { database: 'postgres' });
const pg = hs.postgres;
if (pg === undefined) throw new Error('startSynapse({ database: "postgres" }) returned no cluster');
const admin = hs.admin.accessToken;
const enc = encodeURIComponent;
const { publicRoom, privateRoom, alice, bob, carol, policy } = await threeUsersInTwoRooms(hs.baseUrl, admin, (localpart) => `${localpart}-password`);

async function members(roomId: string): Promise<Set<string>> {
  return new Set((await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${enc(roomId)}/members`, { token: admin })).members);
}
async function powerLevels(roomId: string): Promise<Record<string, number>> {
  return (await matrixCall<{ users: Record<string, number> }>(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, { token: admin })).users;
}
/** Joined members of a room as PostgreSQL has them, sorted. */
async function joinedInPostgres(roomId: string): Promise<string[]> {
  const rows = await pg!.query(`SELECT user_id FROM local_current_membership WHERE room_id = '${roomId.replace(/'/g, "''")}' AND membership = 'join' ORDER BY user_id`);
  return rows === '' ? [] : rows.split('\n');
}

t.test('Synapse keeps its state in the PostgreSQL cluster', async (t) => {
  t.equal(hs.database, 'postgres');
  const version = await pg.query('SHOW server_version_num');
  t.ok(Number(version) >= 140000, `PostgreSQL ${version} is one Synapse supports`);
  t.equal(await pg.query(`SELECT datcollate || '/' || datctype || '/' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`), 'C/C/UTF8');
  t.equal(await pg.query(`SELECT name || ' ' || admin FROM users`), `${CORPORAL} 1`, 'the harness admin is a row in PostgreSQL');
});

const { api, corporal, gatewayUrl } = await serveAgainst(t, {
  homeserverUrl: hs.baseUrl,
  registrationSharedSecret: hs.registrationSharedSecret,
  overrides: { Reconciliation: { ResyncIntervalMilliseconds: 0 } },
});

t.test('the reconciler converges the policy', async (t) => {
  await api.statusWhenUp(30_000);
  await pushAndSettle(api, policy);
  const run = (await api.status()).reconciler?.lastRun;
  t.match(run, { generation: 1, outcome: 'completed', usersObserved: 3, usersTotal: 3, actionsFailed: 0, failures: [] });
  t.ok(run !== null && run !== undefined && run.actionsDone > 0 && run.actionsDone === run.actionsPlanned, 'every planned action done');

  t.same(await members(publicRoom), new Set([CORPORAL, alice, bob]));
  t.same(await members(privateRoom), new Set([CORPORAL, alice]), 'the invite-only room joined too');
  t.equal((await powerLevels(privateRoom))[alice], 50, 'power level set');
  t.equal((await powerLevels(publicRoom))[alice], undefined, 'power level 0 is the default, not written');
  const aliceAccount = await matrixCall<{ displayname: string; locked: boolean; deactivated: boolean }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${enc(alice)}`, { token: admin });
  t.match(aliceAccount, { displayname: 'Alice', locked: false, deactivated: false });
  t.equal((await matrixRequest(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${enc(carol)}`, { token: admin })).status, 404, 'the inactive user is not created');
  t.same(await joinedInPostgres(publicRoom), [alice, bob, CORPORAL].sort(), 'the memberships are rows in PostgreSQL');

  const again = await api.call('GET', '/_matrix/corporal/plan');
  t.same(again.json['actions'], [], 'a second look finds nothing to do');
});

t.test('a managed user logs in through the gateway; leaving a managed room is refused', async (t) => {
  const login = await matrixRequest(gatewayUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'alice-password' },
  });
  // The answer holds a token: quoted only when the login failed.
  t.equal(login.status, 200, login.status === 200 ? 'login with the policy password' : `login with the policy password: ${login.text.slice(0, 200)}`);
  const token = (login.json as { access_token: string; user_id: string }).access_token;
  t.equal((login.json as { user_id: string }).user_id, alice);
  const wrong = await matrixRequest(gatewayUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'not her password' },
  });
  t.equal(wrong.status, 403, 'a wrong password is refused');

  const whoami = await matrixRequest(gatewayUrl, 'GET', '/_matrix/client/v3/account/whoami', { token });
  t.match(whoami, { status: 200, json: { user_id: alice } }, 'the token works through the gateway');
  const leave = await matrixRequest(gatewayUrl, 'POST', `/_matrix/client/v3/rooms/${enc(privateRoom)}/leave`, { token, body: {} });
  t.same([leave.status, leave.json], [403, { errcode: 'M_FORBIDDEN', error: 'Denied by policy' }], 'leaving a managed room is denied');
  t.ok((await members(privateRoom)).has(alice), 'alice is still a member at Synapse');
  t.ok((await joinedInPostgres(privateRoom)).includes(alice), 'and in PostgreSQL');

  const read = await matrixRequest(gatewayUrl, 'GET', `/_matrix/client/v3/rooms/${enc(privateRoom)}/joined_members`, { token });
  t.equal(read.status, 200, 'an allowed request passes through to Synapse');
});

t.test('a test process killed outright leaves neither Synapse nor PostgreSQL running', async (t) => {
  const started = await orphanSynapse(t, { database: 'postgres' }, 'SIGKILL');
  t.ok(started.postgres, 'the child reported its cluster');
  t.ok(started.ranBefore, 'Synapse and its postmaster ran while the test process did');
  t.ok(await waitUntilGone(started.pid, 30_000), `Synapse pid ${started.pid} is gone`);
  t.ok(await waitUntilGone(started.postgres!.pid, 30_000), `postmaster pid ${started.postgres!.pid} is gone (parent-death signal)`);
});

t.test('a test process ended by SIGTERM without stop() leaves no cluster behind', async (t) => {
  const started = await orphanSynapse(t, { database: 'postgres' }, 'SIGTERM');
  t.ok(started.ranBefore, 'Synapse and its postmaster ran while the test process did');
  t.ok(await waitUntilGone(started.postgres!.pid, 30_000), `postmaster pid ${started.postgres!.pid} is gone (process reaper)`);
  t.notOk(existsSync(started.postgres!.dir), 'its directory was removed');
});

t.test('a cluster without its programs fails loudly, with the fix, and leaves nothing behind', async (t) => {
  // A temp dir of this test's own: other test files may be making clusters at the same time.
  const ownTmp = mkdtempSync(join(tmpdir(), 'corporal-postgres-test-'));
  const saved = { bin: process.env['CORPORAL_POSTGRES_BIN'], tmp: process.env['TMPDIR'] };
  process.env['CORPORAL_POSTGRES_BIN'] = '/nonexistent/postgresql/bin';
  process.env['TMPDIR'] = ownTmp;
  t.teardown(() => {
    for (const [name, value] of [['CORPORAL_POSTGRES_BIN', saved.bin], ['TMPDIR', saved.tmp]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(ownTmp, { recursive: true, force: true });
  });
  await t.rejects(startPostgresCluster(), {
    code: POSTGRES_ERROR_CODE,
    message: /initdb, postgres, pg_ctl, psql not found in \/nonexistent\/postgresql\/bin\. Fix: Install the PostgreSQL server binaries .*CORPORAL_POSTGRES_BIN/,
  });
  t.same(readdirSync(ownTmp), [], 'no cluster directory was made');
});

t.test('stop() stops the cluster with Synapse', async (t) => {
  corporal.process.kill('SIGTERM');
  t.equal(await corporal.exited, 0, 'corporal serve stopped first');
  await hs.stop();
  t.notOk(isProcessRunning(hs.pid), 'Synapse is gone');
  t.notOk(isProcessRunning(pg.pid), 'the postmaster is gone');
  t.notOk(existsSync(pg.socketDir), 'the cluster directory is removed');
});
