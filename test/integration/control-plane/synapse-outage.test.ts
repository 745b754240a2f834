import t from 'tap';
import { waitFor } from '../../support/control-plane.js';
import { allThreadsAt } from '../../support/control-plane-api.js';
import { serveBehindGate } from '../../support/serve-against.js';
import { matrixCall } from '../../support/matrix-client.js';

t.test('Synapse down at start: the child keeps serving, reports the error, and reconciles once Synapse is back', async (t) => {
  const { hs, room, gate, corporal, api } = await serveBehindGate(t, { RetryIntervalMilliseconds: 200, RetryMaxIntervalMilliseconds: 500 });

  await api.statusWhenUp();
  await waitFor('two failed start attempts', async () => ((await api.status()).reconciler?.failedAttempts ?? 0) >= 2);
  const down = (await api.status()).reconciler;
  t.match(down, { state: 'waiting', lastError: { message: /admin session: .*cannot reach Synapse/ }, running: false, lastRun: null });
  t.ok(down?.nextAttemptAt !== null, 'the next attempt is scheduled');

  const policy = {
    schemaVersion: 2,
    managedRoomIds: [room],
    users: [{ id: '@erin:localhost', active: true, authType: 'plain', authCredential: 'pw', displayName: 'Erin', joinedRooms: [{ roomId: room, powerLevel: 0 }] }],
  };
  t.equal((await api.putPolicy(policy)).status, 200, 'policies are still accepted');
  await waitFor('the gateway enforces it', async () => allThreadsAt(await api.status(), 1));
  for (const [method, path, body, prefix] of [
    ['POST', '/_matrix/corporal/reconcile', undefined, 'Cannot reconcile'],
    ['GET', '/_matrix/corporal/plan', undefined, 'Cannot plan'],
    ['POST', '/_matrix/corporal/user/%40erin%3Alocalhost/access-token/new', { deviceId: 'x' }, 'Could not obtain access token'],
    ['DELETE', '/_matrix/corporal/user/%40erin%3Alocalhost/access-token', { accessToken: 'x' }, 'Could not destroy access token'],
  ] as const) {
    const answer = await api.call(method, path, body);
    t.equal(answer.status, 503, `${method} ${path}`);
    t.match(answer.json, { errcode: 'M_UNKNOWN', error: new RegExp(`^${prefix}: the admin session could not be opened: `) });
  }

  gate.open();
  await waitFor('the pending policy reconciled', async () => (await api.status()).reconciler?.lastRun?.outcome === 'completed', 30_000);
  const up = (await api.status()).reconciler;
  t.match(up, { state: 'ready', failedAttempts: 0, policyGeneration: 1, lastRun: { kind: 'full', generation: 1, actionsFailed: 0 } });
  const members = await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}/members`, { token: hs.admin.accessToken });
  t.ok(members.members.includes('@erin:localhost'), 'the user was created and joined');
  t.equal(corporal.logs.filter((line) => line.msg === 'control child started').length, 1, 'the control child never restarted');

  corporal.process.kill('SIGTERM');
  t.equal(await corporal.exited, 0);
});
