import t from 'tap';
import { createSilentLogger } from '../../../src/common/logger.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { matrixCall, matrixRequest } from '../../support/matrix-client.js';
import { observedRoomFromState } from '../../../src/control/observe/room-state.js';
import { getRoomStateByType } from '../../../src/control/synapse/rooms-api.js';
import { startFirewallScenario } from '../../support/firewall-scenario.js';
import { reconcilerConfig, snapshot, startInterceptingProxy } from '../control/fixtures/reconciler.js';

/**
 * Red team 24, F1: a moderator of a managed room (alice, listed at level 50 by the policy) stores
 * custom state events in it through the gateway — `org.example.pad` under many state keys, each
 * near Synapse's 64 KiB, in characters Synapse's answers escape to 6 bytes. Synapse's default
 * power levels let anyone at `state_default` (50) send any type they do not list, and the gateway
 * does not look at these (catch-all). The reconciler read a managed room's whole state in one
 * call, so that answer ran past its bound (1 GiB then) or its deadline: the room became
 * unreadable and was skipped on every run, and a policy that removed alice from the room left
 * her there. The red team showed it with 5,600 events (1.08 GB of answer; 11 minutes of Synapse
 * here), a test that failed before the fix.
 *
 * Since the fix a room whose whole state passes 64 MiB is read by type, so custom state costs the
 * read nothing. This test stores just enough (360 events, about 70 MB of answer) to pass that
 * bound, and checks that the room is read by type and reconciled: alice is removed. The deadline
 * is matrix-corporal's example `Matrix.TimeoutMilliseconds` (45 s).
 */

/** Just past the whole read's 64 MiB (`ROOM_STATE_WHOLE_READ_MAX_BYTES` in rooms-api.ts), at 193,800 bytes each. */
const PAD_EVENTS = 360;
const DEADLINE_MS = 45_000;
/** 32,300 × `é`: 64,600 bytes of UTF-8 in Synapse's canonical JSON (within its 65,536 per event), 193,800 once escaped. */
const PAD = 'é'.repeat(32_300);

const scenario = await startFirewallScenario();
t.teardown(() => scenario.stop());
const { hs, users, rooms } = scenario;
const admin = hs.admin.accessToken;
// The reconciler reaches Synapse through a proxy that records its room-state reads.
const stateReads: string[] = [];
const proxy = await startInterceptingProxy(hs.baseUrl, (req) => {
  if (req.url?.startsWith('/_synapse/admin/v1/rooms/') && req.url.includes('/state')) stateReads.push(req.url);
  return false;
});
t.teardown(() => proxy.close());
const reconciler = await startReconciler({ config: reconcilerConfig(hs, { baseUrl: proxy.url, corporal: { AccessToken: admin }, timeoutMs: DEADLINE_MS }), logger: createSilentLogger() });
t.teardown(() => reconciler.close());
const { loop } = reconciler;
const roomPath = `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.managed)}`;

/** `userId`'s membership in the managed room, read at Synapse as the corporal user (one event, not the swollen whole). */
async function membership(userId: string): Promise<string | null> {
  const answer = await matrixRequest(hs.baseUrl, 'GET', `${roomPath}/state/m.room.member/${encodeURIComponent(userId)}`, { token: admin });
  if (answer.status === 404) return null;
  const content = answer.json as { membership?: unknown };
  return typeof content.membership === 'string' ? content.membership : null;
}

t.test('custom state stored by a moderator does not keep the reconciler from removing her', async (t) => {
  let next = 0;
  const refused: string[] = [];
  const started = Date.now();
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < PAD_EVENTS) {
      const key = `k${next++}`;
      const answer = await scenario.viaGateway('alice', 'PUT', `${roomPath}/state/org.example.pad/${key}`, { pad: PAD });
      if (answer.status !== 200) refused.push(`${key}: ${answer.status} ${answer.text.slice(0, 200)}`);
    }
  }));
  t.same(refused, [], `alice stores ${PAD_EVENTS} custom state events through the gateway (${Date.now() - started} ms)`);

  // The policy no longer lists alice in the room.
  loop.onPolicy(snapshot(1, [rooms.managed], [
    { id: users.alice.userId, authType: 'passthrough', joinedRooms: [] },
    { id: users.pat.userId, authType: 'passthrough', joinedRooms: [[rooms.managed, 0]] },
  ]), 'all');
  await loop.idle();
  const run = loop.status().lastRun;
  t.comment(`skipped rooms: ${JSON.stringify(run?.skippedRooms)}; failures: ${JSON.stringify(run?.failures.map((f) => [f.actionType, f.code]))}`);
  t.same(run?.skippedRooms ?? [], [], 'the managed room is read');
  t.ok(stateReads.some((url) => url.includes('type=m.room.member')), `by type, after the whole read passed its bound (${stateReads.length} state reads)`);
  t.equal(await membership(users.alice.userId), 'leave', 'alice is out of the room, as the policy says');
  t.equal(await membership(users.pat.userId), 'join', 'pat stays');
});

t.test('power-levels events under other state keys, which a read by type would return, are refused in a managed room', async (t) => {
  // bob: unmanaged, level 100 in the room, so Synapse would let him send them.
  const answer = await scenario.viaGateway('bob', 'PUT', `${roomPath}/state/m.room.power_levels/org.example.pad`, { pad: PAD });
  t.equal(answer.status, 403, answer.text.slice(0, 200));
  const stored = await matrixRequest(hs.baseUrl, 'GET', `${roomPath}/state/m.room.power_levels/org.example.pad`, { token: admin });
  t.equal(stored.status, 404, 'Synapse has no such event');
});

t.test('review 27: the read by type takes the join rule of state key "", not the room details\' (which follow any state key)', async (t) => {
  // bob, at 100, stores a join rule under another state key: inert to Synapse's auth rules, and
  // the gateway lets it through (catch-all). The managed room stays public.
  const answer = await scenario.viaGateway('bob', 'PUT', `${roomPath}/state/m.room.join_rules/org.example.pad`, { join_rule: 'invite' });
  t.equal(answer.status, 200, answer.text.slice(0, 200));
  const detailsPath = `/_synapse/admin/v1/rooms/${encodeURIComponent(rooms.managed)}`;
  let detailsRule: unknown = null;
  for (let tries = 0; tries < 100 && detailsRule !== 'invite'; tries++) {
    detailsRule = (await matrixCall<{ join_rules?: unknown }>(hs.baseUrl, 'GET', detailsPath, { token: admin })).join_rules;
    if (detailsRule !== 'invite') await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(detailsRule, 'invite', 'Synapse\'s stats job copied the other state key\'s join rule into the room details');
  const observed = observedRoomFromState(rooms.managed, await getRoomStateByType(reconciler.http, admin, rooms.managed));
  t.equal(observed.joinRule, 'public', 'the room\'s own join rule');
});
