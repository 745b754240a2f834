import t from 'tap';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { request } from 'undici';
import { CheckPhase } from '../../../../src/gateway/checks/check-phase.js';
import type { AliasTarget } from '../../../../src/gateway/checks/alias-resolver.js';
import { PolicyHolder } from '../../../../src/gateway/policy-holder.js';
import { loadUws } from '../../../../src/gateway/uws.js';
import { compilePolicy } from '../../../../src/policy/compile.js';
import { hashPolicy } from '../../../../src/policy/hash.js';
import { loadPolicyValue } from '../../../../src/policy/load.js';
import type { PolicySnapshot } from '../../../../src/policy/snapshot.js';
import { waitFor } from '../../../support/control-plane.js';
import { listenOnLoopback } from '../../../support/uws-listen.js';
import { routedAsAlice } from '../fixtures/routed-context.js';

/**
 * The check phase on a real uWS app: the policy a request is decided on is the thread's newest
 * once the decision is made (red team 10 F1), also when it changed while a check looked something
 * up. Alice's token resolves to `@alice:example.com`; `#room:example.com` resolves to the managed
 * room only when the test lets {@link pendingAlias} go.
 */

const ROOM = '!managed:example.com';

function snapshot(generation: number, alice: { active: boolean; rooms: string[] }): PolicySnapshot {
  const loaded = loadPolicyValue({
    schemaVersion: 2, managedRoomIds: [ROOM],
    users: [{ id: '@alice:example.com', active: alice.active, authType: 'passthrough', joinedRooms: alice.rooms.map((roomId) => ({ roomId, powerLevel: 0 })) }],
  }, { homeserverDomain: 'example.com' });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return compilePolicy(loaded.document, { generation, hash: hashPolicy(loaded.document), loadedAt: 0, source: 'test' });
}

const holder = new PolicyHolder(snapshot(1, { active: true, rooms: [ROOM] }));
let generation = 1;
/** Offers the next generation of the policy to the thread. */
function offer(alice: { active: boolean; rooms: string[] }): void {
  holder.offer(snapshot(++generation, alice));
}

/** Alias look-ups wait here until the test settles them. */
const pendingAlias: Array<{ settle: (target: AliasTarget | null) => void }> = [];
let onAliasLookup: (() => void) | null = null;

const outcomes: string[] = [];
const phase = new CheckPhase(
  {
    corporalUserId: '@corporal:example.com',
    serverName: 'example.com',
    maxBodyBytes: 64 * 1024,
    resolveAlias: () => new Promise<AliasTarget | null>((resolve) => {
      pendingAlias.push({ settle: resolve });
      onAliasLookup?.();
    }),
    readPowerLevels: () => Promise.reject(new Error('not used')),
    readEncryption: () => Promise.reject(new Error('not used')),
  },
  {
    allowed: (ctx) => {
      outcomes.push(`allowed on generation ${ctx.snapshot?.generation}`);
      ctx.exchange.sendText(200, 'allowed');
    },
    denied: (ctx, decision) => {
      outcomes.push(`denied on generation ${ctx.snapshot?.generation}: ${decision.message}`);
      ctx.exchange.sendMatrixError(decision.status, decision.errcode, decision.message);
    },
    failed: (ctx, err) => {
      outcomes.push(`failed: ${String(err)}`);
      ctx.exchange.sendText(500, 'failed');
    },
  },
);

const { uws } = loadUws(false);
const app: TemplatedApp = uws.App().any('/*', (res, req) => {
  const ctx = routedAsAlice(res, req, holder);
  phase.run(ctx, phase.checkFor(ctx)!);
});
const { port, close } = await listenOnLoopback(uws, app);
t.teardown(close);

function send(path: string): Promise<number> {
  return request(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', headersTimeout: 5_000 })
    .then(async (response) => {
      await response.body.dump();
      return response.statusCode;
    });
}

/** Resolves at the next alias look-up; rejects when none starts within 5 s. */
function nextAliasLookup(): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no alias look-up started')), 5_000);
    onAliasLookup = () => {
      clearTimeout(timer);
      onAliasLookup = null;
      resolve();
    };
  });
}

t.test('a check that needed a look-up is made again when the policy changed meanwhile', async (t) => {
  outcomes.length = 0;
  const lookedUp = nextAliasLookup();
  const answer = send(`/_matrix/client/v3/join/${encodeURIComponent('#room:example.com')}`);
  await lookedUp;
  offer({ active: true, rooms: [] }); // alice is no longer listed in the managed room
  const again = nextAliasLookup();
  pendingAlias.shift()!.settle({ roomId: ROOM, servers: ['example.com'] });
  await again; // the second decision looks the alias up once more
  pendingAlias.shift()!.settle({ roomId: ROOM, servers: ['example.com'] });
  t.equal(await answer, 403);
  t.same(outcomes, ['denied on generation 2: Denied by policy (the policy does not list you in this managed room)'],
    'decided once more, on the newer policy');
});

t.test('a policy that keeps changing during look-ups: 503 after two new decisions', async (t) => {
  outcomes.length = 0;
  offer({ active: true, rooms: [ROOM] });
  const answer = send(`/_matrix/client/v3/join/${encodeURIComponent('#room:example.com')}`);
  for (let lookUp = 0; lookUp < 3; lookUp++) {
    await waitFor(`look-up ${lookUp + 1}`, () => pendingAlias.length > 0, 5_000);
    offer({ active: true, rooms: [ROOM] });
    pendingAlias.shift()!.settle({ roomId: ROOM, servers: ['example.com'] });
  }
  t.equal(await answer, 503);
  t.match(outcomes, [/^denied on generation \d+: The policy changed while this request was being checked; try again$/]);
});

t.test('a user the newest policy makes inactive is refused as locked', async (t) => {
  outcomes.length = 0;
  offer({ active: true, rooms: [ROOM] });
  const lookedUp = nextAliasLookup();
  const first = send(`/_matrix/client/v3/join/${encodeURIComponent('#room:example.com')}`);
  await lookedUp;
  offer({ active: false, rooms: [ROOM] });
  pendingAlias.shift()!.settle({ roomId: ROOM, servers: ['example.com'] });
  t.equal(await first, 401);
  t.match(outcomes, [/^denied on generation \d+: User account has been locked$/], 'the new decision starts with the inactive rule');
});

t.test('a check without a look-up decides on the policy current when it runs', async (t) => {
  outcomes.length = 0;
  offer({ active: true, rooms: [] });
  t.equal(await send(`/_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}/join`), 403);
  offer({ active: true, rooms: [ROOM] });
  t.equal(await send(`/_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}/join`), 200);
  t.same(outcomes.map((line) => line.replace(/generation \d+/, 'generation N')), [
    'denied on generation N: Denied by policy (the policy does not list you in this managed room)',
    'allowed on generation N',
  ]);
});
