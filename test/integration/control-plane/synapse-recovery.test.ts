import t from 'tap';
import { waitFor } from '../../support/control-plane.js';
import { pushAndSettle } from '../../support/control-plane-api.js';
import { serveBehindGate } from '../../support/serve-against.js';
import { matrixCall } from '../../support/matrix-client.js';

/**
 * After an outage, Corporal catches up as soon as Synapse answers again, not when a backoff that
 * grew during the outage runs out (up to `RetryMaxIntervalMilliseconds`, 10 minutes by default;
 * soak review 18, S2): both the first opening of the admin session and the retry of a failed
 * reconciliation. Synapse "goes down" behind a TCP gate that resets every connection.
 */

const RETRY_MS = 250;
/** A wait the backoff reaches after a few failures, and that a probe every RETRY_MS undercuts by far. */
const LONG_WAIT_MS = 3_000;

const { hs, room, gate, corporal, api } = await serveBehindGate(t, { RetryIntervalMilliseconds: RETRY_MS, RetryMaxIntervalMilliseconds: 600_000 });

const userPolicy = (ids: string[]) => ({
  schemaVersion: 2,
  managedRoomIds: [room],
  users: ids.map((id) => ({ id, active: true, authType: 'plain', authCredential: 'pw', displayName: id, joinedRooms: [{ roomId: room, powerLevel: 0 }] })),
});

async function members(): Promise<string[]> {
  return (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(room)}/members`, { token: hs.admin.accessToken })).members;
}

t.test('Synapse down at start: the admin session opens once Synapse answers, before the next attempt was due', async (t) => {
  await api.statusWhenUp();
  let nextAttemptAt = 0;
  await waitFor(`a start attempt waiting more than ${LONG_WAIT_MS} ms`, async () => {
    const reconciler = (await api.status()).reconciler;
    nextAttemptAt = reconciler?.nextAttemptAt === null || reconciler?.nextAttemptAt === undefined ? 0 : Date.parse(reconciler.nextAttemptAt);
    return nextAttemptAt - Date.now() > LONG_WAIT_MS;
  }, 30_000);
  gate.open();
  await waitFor('the admin session', async () => (await api.status()).reconciler?.state === 'ready', 30_000);
  t.ok(Date.now() < nextAttemptAt, 'before the backoff ran out');
  t.equal(corporal.logs.filter((line) => line.msg === 'Synapse answers again; opening the admin session now').length, 1, 'said once');
});

t.test('a reconciliation failed during an outage is retried once Synapse answers', async (t) => {
  await pushAndSettle(api, userPolicy(['@erin:localhost']));
  t.ok((await members()).includes('@erin:localhost'), 'reconciled while Synapse is up');

  gate.shut();
  t.equal((await api.putPolicy(userPolicy(['@erin:localhost', '@frank:localhost']))).status, 200, 'policies are still accepted');
  let dueAt = 0;
  await waitFor(`a retry waiting more than ${LONG_WAIT_MS} ms`, async () => {
    const retry = (await api.status()).reconciler?.retries.find((entry) => entry.userId === '@frank:localhost');
    dueAt = retry === undefined ? 0 : Date.parse(retry.dueAt);
    return dueAt - Date.now() > LONG_WAIT_MS;
  }, 30_000);
  t.notOk((await members()).includes('@frank:localhost'), 'nothing reached Synapse during the outage');

  gate.open();
  await waitFor('frank joined', async () => (await members()).includes('@frank:localhost'), 30_000);
  t.ok(Date.now() < dueAt, 'before the backoff ran out');
  await waitFor('the retry settled', async () => (await api.status()).reconciler?.retries.length === 0);
  t.equal(corporal.logs.filter((line) => line.msg === 'Synapse answers again; retrying the failed reconciliation now').length, 1, 'said once');
});

t.test('stops cleanly', async (t) => {
  corporal.process.kill('SIGTERM');
  t.equal(await corporal.exited, 0);
});
