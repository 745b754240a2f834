import t from 'tap';
import { request as httpRequest } from 'node:http';
import { MAX_CHECK_READS_IN_FLIGHT, MAX_CHECK_READS_PER_REQUESTER } from '../../../src/gateway/checks/upstream-json.js';
import { startSynapse } from '../../support/start-synapse.js';
import { createRoom, getJoinedRooms, matrixRequest, registerUser, type MatrixResponse } from '../../support/matrix-client.js';
import { waitFor } from '../../support/control-plane.js';
import { startGateway } from '../gateway/fixtures/gateway-harness.js';
import { startHttpUpstream } from '../gateway/fixtures/http-upstream.js';

/**
 * One managed user cannot take every policy-check read of a thread. Joins by aliases that Synapse
 * takes long to resolve (a remote server that does not answer; here a proxy that holds those
 * directory look-ups) each keep a read for up to `Matrix.TimeoutMilliseconds`, whether their client
 * waits or not. Before the per-user bound, enough of them refused every other user's join by alias.
 */

const hs = await startSynapse();
t.teardown(() => hs.stop());
const attacker = await registerUser(hs, { localpart: 'attacker', password: 'attacker-pw' });
const victim = await registerUser(hs, { localpart: 'victim', password: 'victim-pw' });
const owner = await registerUser(hs, { localpart: 'owner', password: 'owner-pw' });
const managed = await createRoom(hs.baseUrl, owner.accessToken, { preset: 'public_chat' });
const free = await createRoom(hs.baseUrl, owner.accessToken, { preset: 'public_chat', room_alias_name: 'free' });

const held: Array<() => void> = [];
const proxy = await startHttpUpstream((req, res) => {
  // The directory look-ups of `#slow…` aliases hang, as towards a server that never answers.
  if (req.url?.startsWith('/_matrix/client/v3/directory/room/%23slow')) {
    held.push(() => res.destroy());
    return;
  }
  const upstream = new URL(hs.baseUrl);
  const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on('error', () => res.destroy());
  req.pipe(out);
});
t.teardown(() => proxy.close());

const managedUser = (userId: string) => ({ id: userId, active: true, authType: 'passthrough', authCredential: '', joinedRooms: [] });
const gw = await startGateway({
  upstream: proxy.url,
  serverName: hs.serverName,
  threads: 1,
  upstreamTimeoutMs: 20_000,
  policy: { schemaVersion: 2, flags: {}, managedRoomIds: [managed], users: [managedUser(attacker.userId), managedUser(victim.userId)] },
});
t.teardown(() => gw.stop());

t.test('a user holding its share of reads leaves the others theirs', async (t) => {
  const joinByAlias = (token: string, alias: string) =>
    matrixRequest(gw.baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, { token, body: {}, timeoutMs: 30_000 });
  // More joins than the thread has places: without a per-user bound they would take them all.
  const settled: MatrixResponse[] = [];
  const flood = Array.from({ length: MAX_CHECK_READS_IN_FLIGHT + 4 }, (_, i) =>
    joinByAlias(attacker.accessToken, `#slow${i}:${hs.serverName}`).then((answer) => settled.push(answer)));
  await waitFor('every join past the attacker\'s share answered', () => settled.length === flood.length - MAX_CHECK_READS_PER_REQUESTER, 20_000);
  await waitFor('the attacker\'s share of look-ups at the homeserver', () => held.length === MAX_CHECK_READS_PER_REQUESTER, 20_000);
  const refusals = () => settled.map((answer) => `${answer.status} ${(answer.json as { errcode?: string } | null)?.errcode}`);
  t.same(refusals(), Array(flood.length - MAX_CHECK_READS_PER_REQUESTER).fill('403 M_FORBIDDEN'), 'the joins past the attacker\'s share are refused at once');

  const joined = await joinByAlias(victim.accessToken, `#free:${hs.serverName}`);
  t.equal(joined.status, 200, 'the other user\'s join by alias is checked and let through');
  t.same(await getJoinedRooms(hs.baseUrl, victim.accessToken), [free], 'and Synapse has the other user in the room');

  t.equal(held.length, MAX_CHECK_READS_PER_REQUESTER, 'no other look-up of the attacker reached the homeserver');
  for (const release of held.splice(0)) release();
  await Promise.all(flood);
  t.same(refusals(), Array(flood.length).fill('403 M_FORBIDDEN'), 'every join of the attacker was refused, those whose look-up failed too');
  t.same(await getJoinedRooms(hs.baseUrl, attacker.accessToken), [], 'the attacker joined nothing');
});
