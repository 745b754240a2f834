import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { sharedSecretAuthPassword } from '../support/matrix-hmac.js';
import {
  createRoom,
  getJoinedRooms,
  joinRoom,
  login,
  matrixRequest,
  passwordLoginBody,
  registerUser,
  sendMessage,
  whoami,
} from '../support/matrix-client.js';
import { orphanSynapse, waitUntilGone } from '../support/orphan-synapse.js';
import { isProcessRunning } from '../support/process-reaper.js';
import { provisionSynapse, SYNAPSE_VERSION } from '../support/provision-synapse.js';
import { START_ERROR_CODE, startSynapse } from '../support/start-synapse.js';

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}


t.test('provisioning reuses the cached virtualenv keyed by version and Python', async (t) => {
  const first = await provisionSynapse();
  const again = await provisionSynapse();
  t.equal(again.installed, false, 'second call reuses');
  t.equal(again.venvDir, first.venvDir);
  const [major, minor] = again.pythonVersion.split('.');
  t.equal(basename(again.venvDir), `synapse-${SYNAPSE_VERSION}-py${major}.${minor}`);
  t.comment(`provisioning: first call ${first.durationMs} ms (${first.installed ? 'installed' : 'reused'}), reuse ${again.durationMs} ms`);
});

t.test('the admin created at start can use the admin API; the helpers drive a real homeserver', async (t) => {
  const hs = await startSynapse();
  t.teardown(() => hs.stop());
  t.comment(`Synapse ready ${hs.startupMs} ms after spawn; RSS ${rssMiB(hs.pid)} MiB`);
  t.equal(hs.serverName, 'localhost');
  t.equal(hs.admin.userId, '@corporal:localhost');
  t.match(hs.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);

  const version = await matrixRequest(hs.baseUrl, 'GET', '/_synapse/admin/v1/server_version', { token: hs.admin.accessToken });
  t.equal(version.status, 200);
  t.match(version.json, { server_version: new RegExp(`^${SYNAPSE_VERSION.replace(/\./g, '\\.')}`) });

  const users = await matrixRequest(hs.baseUrl, 'GET', '/_synapse/admin/v2/users', { token: hs.admin.accessToken, query: { limit: 1 } });
  t.equal(users.status, 200, 'admin-only endpoint answers the admin');
  t.equal((users.json as { users: unknown[] }).users.length, 1);

  const bob = await registerUser(hs, { localpart: 'bob', password: 'bob password' });
  t.equal(bob.userId, '@bob:localhost');
  const denied = await matrixRequest(hs.baseUrl, 'GET', '/_synapse/admin/v2/users', { token: bob.accessToken, query: { limit: 1 } });
  t.equal(denied.status, 403, 'a non-admin is refused, so the admin flag is real');
  t.match(denied.json, { errcode: 'M_FORBIDDEN' });
  t.same(await whoami(hs.baseUrl, bob.accessToken), { userId: bob.userId, deviceId: bob.deviceId });

  // Synapse's default rc_login.account allows a burst of 5 and rc_login.failed_attempts 3:
  // twelve of each in a row only pass because the harness raised the limits.
  for (let i = 0; i < 12; i++) {
    const failed = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/login', { body: passwordLoginBody('bob', 'wrong') });
    t.equal(failed.status, 403, `failed login ${i + 1} is 403, not 429`);
  }
  for (let i = 0; i < 12; i++) {
    const session = await login(hs.baseUrl, passwordLoginBody('bob', 'bob password'));
    t.equal(session.userId, bob.userId, `login ${i + 1}`);
  }

  // Without the shared-secret-auth module, an HMAC "password" is just a wrong password.
  const hmacLogin = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/login', {
    body: passwordLoginBody(bob.userId, sharedSecretAuthPassword('some secret', bob.userId)),
  });
  t.equal(hmacLogin.status, 403);

  const roomId = await createRoom(hs.baseUrl, hs.admin.accessToken, { preset: 'public_chat' });
  t.equal(await joinRoom(hs.baseUrl, bob.accessToken, roomId), roomId);
  t.match(await sendMessage(hs.baseUrl, bob.accessToken, roomId, 'hello'), /^\$/);
  t.same(await getJoinedRooms(hs.baseUrl, bob.accessToken), [roomId]);

  await hs.stop();
  t.notOk(isProcessRunning(hs.pid), 'stop() leaves no Synapse process');
  t.notOk(existsSync(hs.dataDir), 'stop() removes the data dir');
  await hs.stop();
});

t.test('with sharedSecretAuth, a user logs in with m.login.password and hex(HMAC-SHA512(secret, mxid))', async (t) => {
  const secret = 'shared-auth-secret-for-tests';
  const hs = await startSynapse({ serverName: 'corporal.test', sharedSecretAuth: { sharedSecret: secret }, adminLocalpart: 'boss' });
  t.teardown(() => hs.stop());
  t.equal(hs.admin.userId, '@boss:corporal.test');

  const alice = await registerUser(hs, { localpart: 'alice', password: 'alice real password' });
  t.equal(alice.userId, '@alice:corporal.test');
  const token = sharedSecretAuthPassword(secret, alice.userId);
  const byMxid = await login(hs.baseUrl, passwordLoginBody(alice.userId, token));
  t.equal(byMxid.userId, alice.userId);
  t.equal((await whoami(hs.baseUrl, byMxid.accessToken)).userId, alice.userId);
  const byLocalpart = await login(hs.baseUrl, passwordLoginBody('alice', token));
  t.equal(byLocalpart.userId, alice.userId, 'a localpart identifier is qualified with the server name');

  const wrong = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/login', {
    body: passwordLoginBody(alice.userId, sharedSecretAuthPassword('another secret', alice.userId)),
  });
  t.equal(wrong.status, 403, 'an HMAC made with another secret is refused');
  const real = await login(hs.baseUrl, passwordLoginBody('alice', 'alice real password'));
  t.equal(real.userId, alice.userId, 'the real password still works (database fallback)');
});

t.test('a Synapse that cannot start fails with its log, and leaves nothing behind', async (t) => {
  const failure = await startSynapse({ extraConfig: { database: { name: 'no-such-engine' } } }).then(
    () => new Error('startSynapse should have failed') as Error & { code?: string },
    (err: unknown) => err as Error & { code?: string },
  );
  t.equal(failure.code, START_ERROR_CODE);
  t.match(failure.message, /never answered GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/versions: pid \d+ exited with code \d+/);
  t.match(failure.message, /no-such-engine/, 'the log tail names the cause');
  const dataDir = /keep (\S+)\)/.exec(failure.message)?.[1];
  t.ok(dataDir && !existsSync(dataDir), 'the data dir is removed');
});

for (const ending of ['SIGKILL', 'SIGTERM', 'exit'] as const) {
  t.test(`a test process that ends by ${ending} without stop() leaves no Synapse behind`, async (t) => {
    const started = await orphanSynapse(t, {}, ending);
    if (ending !== 'exit') t.ok(started.ranBefore, 'Synapse ran while its test process did');
    t.ok(await waitUntilGone(started.pid, 30_000), `Synapse pid ${started.pid} is gone`);
    if (ending !== 'SIGKILL') t.notOk(existsSync(started.dataDir), 'the exit handler removed the data dir');
  });
}
