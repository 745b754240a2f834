import t from 'tap';
import type { Action } from '../../../src/control/actions.js';
import type { ActionScope, ApplyContext } from '../../../src/control/apply/apply-context.js';
import { ACTION_HANDLERS, applyAction } from '../../../src/control/apply/apply-action.js';
import { AVATAR_SOURCE_ERROR, createAvatarDispatcher } from '../../../src/control/apply/avatar-source.js';
import { UserTokenLease } from '../../../src/control/synapse/user-token-lease.js';
import { createRoom, joinRoom, matrixCall, matrixRequest, registerUser } from '../../support/matrix-client.js';
import { AUTH_SECRET, startLocalServer, synapseWithClient } from './fixtures/reconciler.js';

const { hs, http, logger, admin } = await synapseWithClient(t);
const avatarDispatcher = createAvatarDispatcher(10_000);
t.teardown(() => avatarDispatcher.close());
const adminSource = { token: async () => admin, renew: async () => admin };
const ctx: ApplyContext = { http, admin: adminSource, adminUserId: hs.admin.userId, authSharedSecret: AUTH_SECRET, avatarMaxBytes: 65536, avatarTimeoutMs: 10_000, avatarDispatcher, logger };

/** Runs one action as the reconciler does: user tokens minted on demand and logged out afterwards. */
async function apply(action: Action): Promise<string[]> {
  const leases: UserTokenLease[] = [];
  const scope: ActionScope = {
    userToken: (userId) => {
      const lease = new UserTokenLease(http, adminSource, userId, logger);
      leases.push(lease);
      return lease;
    },
  };
  try {
    await applyAction(action, ctx, scope, 60_000);
  } finally {
    for (const lease of leases) await lease.release();
  }
  return leases.map((lease) => lease.userId);
}

const user = (userId: string) => matrixCall<{ displayname: string | null; avatar_url: string | null; locked: boolean }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, { token: admin });
const members = async (roomId: string) => (await matrixCall<{ members: string[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/members`, { token: admin })).members;

t.test('one handler per action type', async (t) => {
  t.same(Object.keys(ACTION_HANDLERS).sort(), [
    'room.corporal_join',
    'room.join',
    'room.leave',
    'room.users_set_power_levels',
    'user.activate',
    'user.create',
    'user.deactivate',
    'user.finish_lock',
    'user.set_avatar',
    'user.set_display_name',
    'user.set_password',
  ]);
});

t.test('user.create of an account that appeared since it was observed ends the sessions of whoever made it', async (t) => {
  const squatter = await registerUser(hs, { localpart: 'appeared', password: 'squatter password' });
  t.same(await apply({ type: 'user.create', userId: squatter.userId, password: 'policy password', passwordIsDerived: false }), []);
  const whoami = await matrixRequest(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: squatter.accessToken });
  t.equal(whoami.status, 401, "Synapse: the earlier session's token is dead");
  const devices = await matrixCall<{ devices: unknown[] }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(squatter.userId)}/devices`, { token: admin });
  t.same(devices.devices, [], 'and its device is gone');
  const login = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'appeared' }, password: 'policy password' },
  });
  t.equal(login.status, 200, 'the password is the one the policy gave');
});

t.test('user.activate unlocks and leaves the profile to the planner', async (t) => {
  const bob = await registerUser(hs, { localpart: 'bob', password: 'pw', displayname: '[x] Bob' });
  await matrixCall(hs.baseUrl, 'PUT', `/_synapse/admin/v2/users/${encodeURIComponent(bob.userId)}`, { token: admin, body: { locked: true } });
  t.same(await apply({ type: 'user.activate', userId: bob.userId }), [], 'no user token needed');
  t.match(await user(bob.userId), { locked: false, displayname: '[x] Bob' });
  t.equal((await matrixRequest(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: bob.accessToken })).status, 200, "the user's session works again");
});

t.test('room.join and room.leave tolerate a membership that changed since it was observed', async (t) => {
  const carol = await registerUser(hs, { localpart: 'carol', password: 'pw' });
  const room = await createRoom(hs.baseUrl, admin, { preset: 'private_chat' });
  await apply({ type: 'room.join', userId: carol.userId, roomId: room });
  await apply({ type: 'room.join', userId: carol.userId, roomId: room });
  t.ok((await members(room)).includes(carol.userId), 'joined; a second join counts as done');
  t.same(await apply({ type: 'room.leave', userId: carol.userId, roomId: room, viaKick: false }), [carol.userId], 'the leave acts as the user');
  t.notOk((await members(room)).includes(carol.userId));
  const frank = await registerUser(hs, { localpart: 'frank', password: 'pw' });
  const refused = await matrixRequest(hs.baseUrl, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/leave`, { token: frank.accessToken, body: {} });
  t.equal(refused.status, 403, 'Synapse refuses a leave from a user who was never in the room');
  await apply({ type: 'room.leave', userId: frank.userId, roomId: room, viaKick: false });
  t.pass('for the reconciler that leave counts as done');
  await t.rejects(apply({ type: 'room.join', userId: carol.userId, roomId: '!nope:localhost' }), { code: 'CORP_ERR_UPSTREAM_STATUS' }, 'a real refusal still fails');
});

t.test('room.leave via kick for a locked account', async (t) => {
  const dave = await registerUser(hs, { localpart: 'dave', password: 'pw' });
  const room = await createRoom(hs.baseUrl, admin, { preset: 'public_chat' });
  await joinRoom(hs.baseUrl, dave.accessToken, room);
  await matrixCall(hs.baseUrl, 'PUT', `/_synapse/admin/v2/users/${encodeURIComponent(dave.userId)}`, { token: admin, body: { locked: true } });
  t.same(await apply({ type: 'room.leave', userId: dave.userId, roomId: room, viaKick: true }), [], 'the corporal user kicks');
  t.notOk((await members(room)).includes(dave.userId));
  const state = await matrixCall<{ membership: string; reason?: string }>(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.member/${encodeURIComponent(dave.userId)}`, { token: admin });
  t.match(state, { membership: 'leave', reason: /Corporal/ });
});

t.test('power levels: one read-modify-write, nothing sent when nothing changes', async (t) => {
  const room = await createRoom(hs.baseUrl, admin, { preset: 'public_chat', room_version: '10' });
  const read = () => matrixCall<Record<string, unknown>>(hs.baseUrl, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.power_levels/`, { token: admin });
  const before = await read();
  await apply({ type: 'room.users_set_power_levels', roomId: room, levels: { '@x:localhost': 50, '@y:localhost': 0 } });
  const after = await read();
  t.same(after, { ...before, users: { ...(before['users'] as object), '@x:localhost': 50, '@y:localhost': 0 } });
  const count = http.requestCount;
  await apply({ type: 'room.users_set_power_levels', roomId: room, levels: { '@x:localhost': 50 } });
  t.equal(http.requestCount - count, 1, 'only the read');
});

t.test('avatars: removal, and a source that is not an image', async (t) => {
  const erin = await registerUser(hs, { localpart: 'erin', password: 'pw' });
  await matrixCall(hs.baseUrl, 'PUT', `/_synapse/admin/v2/users/${encodeURIComponent(erin.userId)}`, { token: admin, body: { avatar_url: 'mxc://localhost/old' } });
  await apply({ type: 'user.set_avatar', userId: erin.userId, avatarUri: '' });
  t.equal((await user(erin.userId)).avatar_url, null, 'removed');
  const site = await startLocalServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'));
  t.teardown(() => site.close());
  await t.rejects(apply({ type: 'user.set_avatar', userId: erin.userId, avatarUri: `${site.url}/page` }), { code: AVATAR_SOURCE_ERROR, message: /text\/html, not an image/ });
  t.equal((await user(erin.userId)).avatar_url, null, 'nothing was changed');
});
