import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { derivedPassword } from '../../../src/common/derived-password.js';
import { findFreePort } from '../../support/free-port.js';
import { TEST_AUTH_SHARED_SECRET as AUTH_SECRET, testConfigRaw, type RawConfig } from '../../support/corporal-config.js';
import { CORPORAL_MAIN } from '../../support/corporal-process.js';
import { createRoom, matrixCall, matrixRequest } from '../../support/matrix-client.js';
import { synapseWithCorporalAdmin, TEST_CORPORAL_USER as CORPORAL } from '../../support/serve-against.js';

const hs = await synapseWithCorporalAdmin(t);
const admin = hs.admin.accessToken;
const room = await createRoom(hs.baseUrl, admin, { preset: 'public_chat' });
const dir = mkdtempSync(join(tmpdir(), 'corporal-plan-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const alice = '@alice:localhost';
const policyPath = join(dir, 'policy.json');
writeFileSync(policyPath, JSON.stringify({
  schemaVersion: 2,
  managedRoomIds: [room],
  users: [{ id: alice, active: true, authType: 'plain', authCredential: 'pw', displayName: 'Alice', joinedRooms: [{ roomId: room, powerLevel: 50 }] }],
}));

function writeConfig(name: string, overrides: RawConfig = {}, provider?: Record<string, unknown>): string {
  const raw = testConfigRaw({ homeserverUrl: hs.baseUrl, gatewayPort: 41080, policyCachePath: join(dir, 'missing-last-seen.json'), overrides });
  if (provider) raw['PolicyProvider'] = provider;
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(raw));
  return path;
}

/** Runs `corporal <args>` without blocking this process (Synapse answers meanwhile). */
function corporal(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CORPORAL_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function devicesOfCorporal(): Promise<string[]> {
  const answer = await matrixCall<{ devices: Array<{ device_id: string }> }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(CORPORAL)}/devices`, { token: admin });
  return answer.devices.map((device) => device.device_id);
}

const config = writeConfig('config');

t.test('plan --json: the pending actions, redacted, and nothing changed on Synapse', async (t) => {
  const devicesBefore = await devicesOfCorporal();
  const run = await corporal('plan', '--config', config, '--policy', policyPath, '--json');
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stderr, '');
  const report = JSON.parse(run.stdout) as Record<string, unknown>;
  t.match(report, {
    policy: { path: policyPath, users: 1 },
    homeserver: hs.baseUrl,
    generation: null,
    usersObserved: 1,
    actionsByType: { 'user.create': 1, 'user.set_display_name': 1, 'room.join': 1, 'room.users_set_power_levels': 1 },
    warnings: [],
    skippedRooms: [],
  });
  t.same(report['actions'], [
    { type: 'user.create', userId: alice, password: '<redacted>', passwordIsDerived: true },
    { type: 'user.set_display_name', userId: alice, displayName: 'Alice' },
    { type: 'room.join', userId: alice, roomId: room },
    { type: 'room.users_set_power_levels', roomId: room, levels: { [alice]: 50 } },
  ]);
  t.notOk(run.stdout.includes(derivedPassword(AUTH_SECRET, alice)), 'the password is not printed');
  t.equal((await matrixRequest(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(alice)}`, { token: admin })).status, 404, 'the user was not created');
  t.notOk((await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}/members`, { token: admin })).members.includes(alice));
  t.same(await devicesOfCorporal(), devicesBefore, 'its own session (device corporal-plan) was logged out, no other device touched');
  t.equal((await matrixRequest(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: admin })).status, 200, 'other sessions of the admin still work');
});

t.test('plan: a table by default, from the configured provider\'s file', async (t) => {
  const staticConfig = writeConfig('static', {}, { Type: 'static_file', Path: policyPath });
  const run = await corporal('plan', '--config', staticConfig);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, `Plan for policy ${policyPath} (1 user, hash `);
  t.match(run.stdout, '4 action(s) pending: 1 user.create, 1 user.set_display_name, 1 room.join, 1 room.users_set_power_levels.');
  t.match(run.stdout, /user\.create +@alice:localhost +- +password=<redacted> passwordIsDerived=true/);
  t.match(run.stdout, /room\.join +@alice:localhost +!\S+ *\n/);
  t.notOk(run.stdout.includes(derivedPassword(AUTH_SECRET, alice)));
});

t.test('plan: exit 2 for configuration and policy problems', async (t) => {
  const lastSeen = await corporal('plan', '--config', config);
  t.equal(lastSeen.code, 2, 'last_seen_store_policy with no saved policy yet');
  t.match(lastSeen.stderr, /missing-last-seen\.json cannot be read: .*ENOENT/);

  const http = writeConfig('http', {}, { Type: 'http', Uri: 'http://127.0.0.1:9/policy', AuthorizationBearerToken: null, CachePath: null, ReloadIntervalSeconds: null, TimeoutMilliseconds: null });
  const noCache = await corporal('plan', '--config', http);
  t.equal(noCache.code, 2);
  t.match(noCache.stderr, 'PolicyProvider (http) has no CachePath to read a policy from; pass --policy FILE');

  const invalidPath = join(dir, 'invalid.json');
  writeFileSync(invalidPath, JSON.stringify({ schemaVersion: 2, users: [{ id: '@bob:elsewhere.org', authType: 'plain', authCredential: 'x' }] }));
  const invalid = await corporal('plan', '--config', config, '--policy', invalidPath);
  t.equal(invalid.code, 2);
  t.match(invalid.stderr, /invalid\.json is invalid \(1 error\):\n {2}\/users\/0\/id: .*not hosted on the managed homeserver domain \(localhost\)/);
  t.equal(invalid.stdout, '');

  const brokenConfig = join(dir, 'broken.json');
  writeFileSync(brokenConfig, JSON.stringify({ Matrix: {} }));
  const broken = await corporal('plan', '--config', brokenConfig, '--policy', policyPath);
  t.equal(broken.code, 2);
  t.match(broken.stderr, /invalid configuration .*broken\.json/);
});

t.test('plan: exit 1 when Synapse cannot be observed', async (t) => {
  const down = writeConfig('down', { Matrix: { HomeserverApiEndpoint: `http://127.0.0.1:${await findFreePort()}` } });
  const unreachable = await corporal('plan', '--config', down, '--policy', policyPath);
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, /cannot plan against http:\/\/127\.0\.0\.1:\d+: admin session: .*cannot reach Synapse/);
  t.equal(unreachable.stdout, '');

  const otherSecret = writeConfig('other-secret', { Matrix: { AuthSharedSecret: 'another-secret', RegistrationSharedSecret: hs.registrationSharedSecret } });
  const refused = await corporal('plan', '--config', otherSecret, '--policy', policyPath);
  t.equal(refused.code, 1, 'a refused derived password');
  t.match(refused.stderr, /admin session: .*\n\(plan logs in as Corporal\.UserID .* it never registers that user\)/);
  t.match(refused.stderr, /refused the derived password of @corporal:localhost, and this command never registers it: .*start serve once/);
  t.notMatch(refused.stderr, /RegistrationSharedSecret is empty/, 'the configured secret is not called empty');
  t.equal((await matrixRequest(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(CORPORAL)}`, { token: admin })).status, 200);
});
