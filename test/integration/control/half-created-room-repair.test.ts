import t from 'tap';
import { createSilentLogger } from '../../../src/common/logger.js';
import { createAdminRepairQueue } from '../../../src/control/half-created-rooms.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { createRoom, getJoinedRooms, joinRoom, matrixCall, matrixRequest, registerUser } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { reconcilerConfig } from './fixtures/reconciler.js';

/**
 * Red team 9, F2 (verification): a room creation that fails half-way, by a user who logs their token
 * out before the gateway could repair the room with it. The gateway hands the job to the control
 * child, which repairs through the admin API and a token minted for the user. Real Synapse.
 */

const hs = await startSynapse();
t.teardown(() => hs.stop());
const admin = hs.admin.accessToken;
const reconciler = await startReconciler({ config: reconcilerConfig(hs, { corporal: { AccessToken: admin } }), logger: createSilentLogger() });
t.teardown(() => reconciler.close());

const ENCRYPTION = { algorithm: 'm.megolm.v1.aes-sha2' };

async function encryptionOf(roomId: string): Promise<unknown> {
  const state = await matrixCall<{ state: { type: string; state_key: string; content: unknown }[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/state`, { token: admin });
  return state.state.find((event) => event.type === 'm.room.encryption' && event.state_key === '')?.content ?? null;
}

t.test('the control child encrypts the room a failed createRoom left, though the user logged out', async (t) => {
  const bob = await registerUser(hs, { localpart: 'bob', password: 'bob-password-1' });
  const roomsBefore = new Set(await getJoinedRooms(hs.baseUrl, bob.accessToken));
  const startedAt = Date.now();
  const failed = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/createRoom', {
    token: bob.accessToken,
    body: {
      room_version: '11',
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: ENCRYPTION }],
      power_level_content_override: { events: { 'm.room.encryption': 101 } },
    },
  });
  t.equal(failed.status, 403, `Synapse refused it half-way: ${failed.text}`);
  // Meanwhile bob also joined a fresh room someone else created: not his to repair.
  const othersRoom = await createRoom(hs.baseUrl, admin, { preset: 'public_chat' });
  await joinRoom(hs.baseUrl, bob.accessToken, othersRoom);
  const leftBehind = (await getJoinedRooms(hs.baseUrl, bob.accessToken)).filter((roomId) => !roomsBefore.has(roomId) && roomId !== othersRoom);
  t.equal(leftBehind.length, 1, 'Synapse kept the half-created room');
  t.equal(await encryptionOf(leftBehind[0]!), null, 'unencrypted');
  t.equal((await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/logout', { token: bob.accessToken, body: {} })).status, 200, 'bob logs out');

  const queue = createAdminRepairQueue(() => reconciler, createSilentLogger());
  queue.add({ userId: bob.userId, roomsBefore, startedAt, passDelaysMs: [0] });
  await queue.whenIdle();

  t.same(await encryptionOf(leftBehind[0]!), ENCRYPTION, 'the half-created room is encrypted');
  t.equal(await encryptionOf(othersRoom), null, 'the room bob joined is untouched');
});
