import t from 'tap';
import { observe } from '../../../src/control/observe/observe.js';
import { planReconciliation } from '../../../src/control/plan/index.js';
import { createSilentLogger } from '../../../src/common/logger.js';
import { SynapseHttp } from '../../../src/control/synapse/synapse-http.js';
import { createRoom, joinRoom, matrixCall, registerUser } from '../../support/matrix-client.js';
import { AUTH_SECRET, snapshot, startInterceptingProxy, synapseWithClient } from './fixtures/reconciler.js';

// A run over a few users reads only the managed rooms they are joined to or listed in (observe.ts,
// `roomsOf`). Its plan for those users must be the plan a full observation gives them: users in
// rooms they are invited to, knocking on, banned from, locked users to kick (one kick refused),
// users without an account, erased, in another case, sharing a level group, a v12 creator.

const { hs, http, admin } = await synapseWithClient(t);
const C = hs.admin.userId;
const enc = encodeURIComponent;
const post = (token: string, path: string, body: unknown = {}) => matrixCall(hs.baseUrl, 'POST', path, { token, body });
const [ann, ben, cat, eve, fay, ivy, jay, kim] = await Promise.all(
  ['ann', 'ben', 'cat', 'eve', 'fay', 'ivy', 'jay', 'kim'].map((localpart) => registerUser(hs, { localpart, password: `${localpart} password` })),
);
const pub = { preset: 'public_chat', room_version: '10' };
const listed = await createRoom(hs.baseUrl, admin, { ...pub, power_level_content_override: { users: { [C]: 100, [ivy!.userId]: 50 } } });
const other = await createRoom(hs.baseUrl, admin, pub);
const invited = await createRoom(hs.baseUrl, admin, { preset: 'private_chat', room_version: '10' });
const knocked = await createRoom(hs.baseUrl, admin, { preset: 'private_chat', room_version: '10', initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] });
const equalLevel = await createRoom(hs.baseUrl, admin, { ...pub, power_level_content_override: { users: { [C]: 50, [cat!.userId]: 50 }, events: { 'm.room.power_levels': 50 } } });
const created = await createRoom(hs.baseUrl, kim!.accessToken, { preset: 'public_chat', room_version: '12' });
await joinRoom(hs.baseUrl, admin, created);

await joinRoom(hs.baseUrl, ann!.accessToken, listed);
await joinRoom(hs.baseUrl, ann!.accessToken, other);
await post(admin, `/_matrix/client/v3/rooms/${enc(invited)}/invite`, { user_id: ann!.userId });
await post(ann!.accessToken, `/_matrix/client/v3/knock/${enc(knocked)}`);
await post(admin, `/_matrix/client/v3/rooms/${enc(other)}/ban`, { user_id: ben!.userId });
for (const room of [listed, other, equalLevel]) await joinRoom(hs.baseUrl, cat!.accessToken, room);
await matrixCall(hs.baseUrl, 'PUT', `/_synapse/admin/v2/users/${enc(cat!.userId)}`, { token: admin, body: { locked: true } });
await joinRoom(hs.baseUrl, eve!.accessToken, other);
await joinRoom(hs.baseUrl, fay!.accessToken, other);
await post(admin, `/_synapse/admin/v1/deactivate/${enc(fay!.userId)}`, { erase: true });
await joinRoom(hs.baseUrl, ivy!.accessToken, listed);
await joinRoom(hs.baseUrl, jay!.accessToken, other);

const policy = snapshot(1, [listed, other, invited, knocked, equalLevel, created, '!missing:localhost'], [
  { id: ann!.userId, joinedRooms: [[listed, 50]] },
  { id: ben!.userId, joinedRooms: [[other, 0], [invited, 0]] },
  { id: cat!.userId, active: false, joinedRooms: [[listed, 0]] },
  { id: '@dan:localhost', joinedRooms: [[listed, 0], [knocked, 0]] },
  { id: eve!.userId, active: false },
  { id: fay!.userId, joinedRooms: [[listed, 0]] },
  { id: ivy!.userId, joinedRooms: [[listed, 0]] },
  { id: '@Jay:localhost' },
  { id: kim!.userId, joinedRooms: [[created, 50], ['!missing:localhost', 0]] },
]);
const options = { admin, authSharedSecret: AUTH_SECRET, concurrency: 4 };
const planOptions = { deactivatedDisplayNameMarker: true, authSharedSecret: AUTH_SECRET, corporalUserId: C };
const full = await observe(policy, { ...options, http });

/** The plan for `users` from an observation of those users alone, and from the full one. */
async function bothPlans(users: ReadonlySet<string>, via: SynapseHttp = http) {
  const few = await observe(policy, { ...options, http: via, users });
  return {
    few,
    fromFew: planReconciliation(few.state, policy, { ...planOptions, users }),
    fromFull: planReconciliation(full.state, policy, { ...planOptions, users }),
  };
}

t.test('each user, alone and with the others: the same actions and warnings as from a full observation', async (t) => {
  const subsets = [...[...policy.users.keys()].map((userId) => [userId]), [ann!.userId, ivy!.userId], [...policy.users.keys()]];
  for (const users of subsets) {
    const { few, fromFew, fromFull } = await bothPlans(new Set(users));
    t.strictSame(fromFew.actions, fromFull.actions, `actions of ${users.join(', ')}`);
    t.strictSame(fromFew.warnings, fromFull.warnings, `warnings of ${users.join(', ')}`);
    if (users.length === 1 && users[0] === ann!.userId) t.same(few.state.unreadRooms, new Set([invited, knocked, equalLevel, created, '!missing:localhost']), 'invites and knocks are not read');
  }
  const cats = await bothPlans(new Set([cat!.userId]));
  t.match(cats.fromFew, { actions: [{ type: 'room.leave', roomId: other, viaKick: true }], warnings: [{ code: 'plan.kick_not_possible', roomId: equalLevel }] }, 'the locked user is kicked, and the refused kick is reported');
});

t.test('a failed joined-rooms read: every managed room is read, and the plan is the same', async (t) => {
  for (const answer of [500, 403, 404, 'not a list'] as const) {
    const proxy = await startInterceptingProxy(hs.baseUrl, (req, res) => {
      if (!(req.url ?? '').endsWith('/joined_rooms') || !(req.url ?? '').includes(enc(cat!.userId))) return false;
      res.writeHead(typeof answer === 'number' ? answer : 200, { 'content-type': 'application/json' });
      res.end(typeof answer === 'number' ? '{"errcode":"M_UNKNOWN","error":"injected"}' : '{"joined_rooms":5}');
      return true;
    });
    const viaProxy = new SynapseHttp({ baseUrl: proxy.url, timeoutMs: 10_000, connections: 4, logger: createSilentLogger() });
    const { few, fromFew, fromFull } = await bothPlans(new Set([cat!.userId, ann!.userId]), viaProxy);
    await viaProxy.close();
    await proxy.close();
    t.equal(few.state.unreadRooms, undefined, `${answer}: nothing left unread`);
    t.equal(few.state.rooms.size, policy.managedRoomIds.size);
    t.strictSame(fromFew.actions, fromFull.actions, `${answer}: the same actions (the kick included)`);
    t.strictSame(fromFew.warnings, fromFull.warnings, `${answer}: the same warnings`);
  }
});
