import t from 'tap';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { request } from 'undici';
import { UiaPhase } from '../../../../src/gateway/uia/uia-phase.js';
import { UIA_UNCHANGED } from '../../../../src/gateway/uia/uia-interceptor.js';
import { PolicyHolder } from '../../../../src/gateway/policy-holder.js';
import { TrustedProxies } from '../../../../src/gateway/upstream/forwarded-for.js';
import { loadUws } from '../../../../src/gateway/uws.js';
import { compilePolicy } from '../../../../src/policy/compile.js';
import { hashPolicy } from '../../../../src/policy/hash.js';
import { loadPolicyValue } from '../../../../src/policy/load.js';
import type { AuthType, PolicySnapshot } from '../../../../src/policy/snapshot.js';
import { listenOnLoopback } from '../../../support/uws-listen.js';
import { routedAsAlice } from '../fixtures/routed-context.js';

/**
 * The UIA phase on a real uWS app: the password stage is handled for the user as the policy
 * current once the body is complete says (as the check phase does, red team 10 F1), not as the
 * policy of the request's start. Each request's handler offers the next policy right after the
 * phase takes the request over, so it always changes while the body is being read.
 */

let generation = 1;
function snapshot(alice: { active: boolean; authType: AuthType }): PolicySnapshot {
  const loaded = loadPolicyValue({
    schemaVersion: 2, managedRoomIds: [],
    users: [{ id: '@alice:example.com', active: alice.active, authType: alice.authType, authCredential: 'secret', joinedRooms: [] }],
  }, { homeserverDomain: 'example.com' });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return compilePolicy(loaded.document, { generation: generation++, hash: hashPolicy(loaded.document), loadedAt: 0, source: 'test' });
}

const holder = new PolicyHolder(snapshot({ active: true, authType: 'plain' }));
/** The policy offered while the next request's body is read. */
let during: PolicySnapshot | null = null;
/** The users the interceptor was asked to handle the stage for. */
const intercepted: Array<{ active: boolean; authType: string }> = [];
/** The body the last request went on with. */
let proceeded: unknown = null;

const phase = new UiaPhase({
  intercept: async (user) => {
    intercepted.push({ active: user.active, authType: user.authType });
    return UIA_UNCHANGED;
  },
  maxBodyBytes: 64 * 1024,
  trustedProxies: new TrustedProxies(null),
});

const { uws } = loadUws(false);
const app: TemplatedApp = uws.App().any('/*', (res, req) => {
  const ctx = routedAsAlice(res, req, holder);
  const taken = phase.run(ctx, {
    proceed: (proceeding) => {
      proceeded = JSON.parse(proceeding.bufferedBody?.toString() ?? 'null');
      proceeding.exchange.sendText(200, 'proceed');
    },
    fail: (failing) => failing.exchange.sendText(500, 'failed'),
  });
  if (!taken) {
    ctx.exchange.sendText(200, 'not taken');
    return;
  }
  if (during !== null) holder.offer(during);
});
const { port, close } = await listenOnLoopback(uws, app);
t.teardown(close);

const UIA_BODY = JSON.stringify({ auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'typed' } });

async function deleteDevice(): Promise<string> {
  const response = await request(`http://127.0.0.1:${port}/_matrix/client/v3/devices/DEVICE`, {
    method: 'DELETE', headers: { 'content-type': 'application/json' }, body: UIA_BODY, headersTimeout: 5_000,
  });
  return response.body.text();
}

type Alice = { active: boolean; authType: AuthType };

/** Sends one UIA request while the policy changes from `before` to `after`; what the interceptor was asked. */
async function acrossChange(before: Alice, after: Alice): Promise<Array<{ active: boolean; authType: string }>> {
  intercepted.length = 0;
  holder.offer(snapshot(before));
  during = snapshot(after);
  if (await deleteDevice() !== 'proceed') throw new Error('the request did not go on');
  return [...intercepted];
}

t.test('a user the policy makes inactive while the body is read is handled as inactive', async (t) => {
  t.same(await acrossChange({ active: true, authType: 'plain' }, { active: false, authType: 'plain' }), [{ active: false, authType: 'plain' }],
    'the newest policy decides (the stage is spoiled, never verified)');
});

t.test('a user the policy makes passthrough while the body is read is left to Synapse', async (t) => {
  t.same(await acrossChange({ active: true, authType: 'plain' }, { active: true, authType: 'passthrough' }), [],
    'no policy password is checked for a user whose password Synapse now holds');
  t.same(proceeded, { auth: { type: 'm.login.password', password: 'typed', identifier: { type: 'm.id.user', user: '@alice:example.com' } } },
    'its stage is pinned to the requester, the typed password kept');
});

t.test('a user the policy makes managed while the body is read is verified as managed (quality review 17)', async (t) => {
  t.same(await acrossChange({ active: true, authType: 'passthrough' }, { active: true, authType: 'plain' }), [{ active: true, authType: 'plain' }],
    'the typed password goes to the policy check, not to Synapse');
});

t.test('a passthrough or unmanaged requester\'s stage naming another user is pinned to the requester (quality review 17b)', async (t) => {
  holder.offer(snapshot({ active: true, authType: 'passthrough' }));
  during = null;
  const response = await request(`http://127.0.0.1:${port}/_matrix/client/v3/devices/DEVICE`, {
    method: 'DELETE', headers: { 'content-type': 'application/json' }, headersTimeout: 5_000,
    body: JSON.stringify({ auth: { type: 'm.login.password', user: 'bob', medium: 'email', address: 'bob@example.org', identifier: { type: 'm.id.user', user: '@bob:example.com' }, password: 'bobs-guess', session: 's' }, devices: ['D'] }),
  });
  t.equal(await response.body.text(), 'proceed');
  t.same(proceeded, { auth: { type: 'm.login.password', password: 'bobs-guess', session: 's', identifier: { type: 'm.id.user', user: '@alice:example.com' } }, devices: ['D'] });
});
