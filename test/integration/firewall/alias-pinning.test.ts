import t from 'tap';
import { request as httpRequest } from 'node:http';
import { startSynapse } from '../../support/start-synapse.js';
import { createRoom, getJoinedRooms, matrixCall, registerUser } from '../../support/matrix-client.js';
import { startGateway } from '../gateway/fixtures/gateway-harness.js';
import { startHttpUpstream } from '../gateway/fixtures/http-upstream.js';

/**
 * A join by alias is checked against the room the alias resolves to, and then forwarded by that
 * room id: if the alias is re-pointed at a managed room between the gateway's look-up and
 * Synapse's own, Synapse still joins the room that was checked. The race is forced here by a
 * proxy between the gateway and Synapse that re-points the alias right after answering the
 * gateway's directory look-up, before it lets the join through.
 */

const hs = await startSynapse();
t.teardown(() => hs.stop());
const carol = await registerUser(hs, { localpart: 'carol', password: 'carol-pw' });
const bob = await registerUser(hs, { localpart: 'bob', password: 'bob-pw' });
const managed = await createRoom(hs.baseUrl, bob.accessToken, { preset: 'public_chat' });
const decoy = await createRoom(hs.baseUrl, bob.accessToken, { preset: 'public_chat' });
const alias = `#trap:${hs.serverName}`;
const directory = `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`;
const asBob = (method: string, path: string, body?: unknown) => matrixCall(hs.baseUrl, method, path, { token: bob.accessToken, body });
await asBob('PUT', directory, { room_id: decoy });

const joinPaths: string[] = [];
let repointed: Promise<unknown> | null = null;
const proxy = await startHttpUpstream((req, res) => {
  const url = req.url ?? '/';
  const forward = (): void => {
    const upstream = new URL(hs.baseUrl);
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      // Right after the gateway learnt where the alias points, it points somewhere else.
      if (url.startsWith(directory)) answer.once('end', () => (repointed ??= asBob('DELETE', directory).then(() => asBob('PUT', directory, { room_id: managed }))));
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  if (url.includes('/join/')) {
    joinPaths.push(url);
    void (repointed ?? Promise.resolve()).then(forward);
  } else forward();
});
t.teardown(() => proxy.close());

const gw = await startGateway({
  upstream: proxy.url,
  serverName: hs.serverName,
  threads: 1,
  policy: {
    schemaVersion: 2, flags: {}, managedRoomIds: [managed],
    users: [{ id: carol.userId, active: true, authType: 'passthrough', authCredential: '', joinedRooms: [] }],
  },
});
t.teardown(() => gw.stop());

t.test('the join goes to the room that was checked, not where the alias points by then', async (t) => {
  const joined = await matrixCall<{ room_id: string }>(gw.baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, { token: carol.accessToken, body: {} });
  t.equal(joined.room_id, decoy, 'carol joined the room the alias pointed at when it was checked');
  t.ok(repointed !== null, 'the alias was re-pointed in between');
  await repointed;
  t.same((await matrixCall<{ room_id: string }>(hs.baseUrl, 'GET', directory)).room_id, managed, 'it now points at the managed room');
  t.same(await getJoinedRooms(hs.baseUrl, carol.accessToken), [decoy], 'carol is not in the managed room');
  t.match(joinPaths, [new RegExp(`/join/${encodeURIComponent(decoy).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\?via=`)], 'forwarded by room id, with the directory servers');
});

t.test('and a join through the re-pointed alias is checked against the managed room', async (t) => {
  const denied = await matrixCall(gw.baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, { token: carol.accessToken, body: {} }).catch((err: { status?: number }) => err);
  t.match(denied, { status: 403 });
  t.same(await getJoinedRooms(hs.baseUrl, carol.accessToken), [decoy]);
});
