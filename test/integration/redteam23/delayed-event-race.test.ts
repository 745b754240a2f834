import t from 'tap';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSilentLogger } from '../../../src/common/logger.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { matrixCall } from '../../support/matrix-client.js';
import { carolWithDelayedEvents } from './fixtures/carol-delayed-events.js';
import { reconcilerConfig, snapshot, startInterceptingProxy } from '../control/fixtures/reconciler.js';

/**
 * Red team 23, F2: a delayed event whose request was accepted while its sender was active, but
 * whose body the sender finishes after the policy made them inactive — once the reconciler has
 * listed their delayed events to cancel them, before it locks the account — is stored by Synapse
 * and never cancelled: the locked user's message is still sent. The gateway checks the sender when
 * the request starts, and an event send's body was streamed (or, once bounded, read) without a
 * second look at the policy. The sender can tell when the list has been taken: a token-less
 * `restart` of one of their delayed events answers 404 once the reconciler cancelled it.
 *
 * Here the reconciler's list answer is held by a proxy until carol's request has its answer, so
 * the order is fixed without any timing.
 */

const { scenario, hs, admin, carol, room, messages } = await carolWithDelayedEvents(t);
const roomPath = `/_matrix/client/v3/rooms/${encodeURIComponent(room)}`;

/** Long enough for the reconcile run in between; the test waits for a control message, not a time. */
const DELAY_MS = 15_000;

/** Set while the reconciler's list of carol's delayed events is held; resolves to let it through. */
let releaseList: (() => void) | null = null;
let listTaken: () => void = () => {};
const listTakenPromise = new Promise<void>((resolve) => { listTaken = resolve; });
const proxy = await startInterceptingProxy(hs.baseUrl, (req, res) => {
  if (req.method !== 'GET' || !req.url?.startsWith('/_matrix/client/unstable/org.matrix.msc4140/delayed_events')) return false;
  // Forward it now (Synapse reads the list at this moment), hand the answer back only once released.
  const upstream = httpRequest(new URL(req.url, hs.baseUrl), { method: 'GET', headers: req.headers }, (answer) => {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('end', () => {
      const release = () => res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks));
      releaseList = release;
      listTaken();
    });
  });
  upstream.end();
  return true;
});
t.teardown(() => proxy.close());
const reconciler = await startReconciler({ config: reconcilerConfig(hs, { baseUrl: proxy.url, corporal: { AccessToken: admin } }), logger: createSilentLogger() });
t.teardown(() => reconciler.close());
const { loop } = reconciler;


/** Starts a request through the gateway as carol and sends all of its body but the last byte. */
function startTrickle(path: string, body: string): { finish(): Promise<number>; answeredEarly(): boolean } {
  const bytes = Buffer.from(body);
  const url = new URL(path, scenario.gateway.baseUrl);
  let status: Promise<number>;
  const req = httpRequest(url, {
    method: 'PUT',
    headers: { authorization: `Bearer ${scenario.users.carol.accessToken}`, 'content-type': 'application/json', 'content-length': String(bytes.length) },
  });
  let finishing = false;
  let early = false;
  status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      if (!finishing) early = true;
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  req.write(bytes.subarray(0, bytes.length - 1));
  return {
    finish() {
      finishing = true;
      req.end(bytes.subarray(bytes.length - 1));
      return status;
    },
    answeredEarly: () => early,
  };
}

t.test('a delayed message finished after the list was taken survives the lock', async (t) => {
  const joined = await scenario.viaGateway('carol', 'POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {});
  t.equal(joined.status, 200, 'carol joins an unmanaged room through the gateway');
  // One ordinary delayed event, for the reconciler to list and cancel.
  const first = await scenario.viaGateway('carol', 'PUT', `${roomPath}/send/m.room.message/m0?org.matrix.msc4140.delay=${DELAY_MS}`, { msgtype: 'm.text', body: 'cancelled' });
  t.equal(first.status, 200);
  // Accepted while carol is active; its last byte is held back.
  const trickle = startTrickle(`${roomPath}/send/m.room.message/m1?org.matrix.msc4140.delay=${DELAY_MS}`, JSON.stringify({ msgtype: 'm.text', body: 'sent by a locked user' }));
  // Lets the request's head reach the gateway before the policy changes. Were it later, the gateway
  // would refuse the request at its start, before its last byte: the test checks that it did not
  // (answeredEarly), so that it cannot pass without having set up the race.
  await sleep(200);

  await scenario.setPolicy({}, { carol: { active: false } });
  loop.onPolicy(snapshot(1, [], [{ id: carol, active: false, authType: 'passthrough' }]), 'all');
  await listTakenPromise;
  const status = await trickle.finish();
  t.notOk(trickle.answeredEarly(), 'the request was accepted at its start: the race was set up');
  t.comment(`carol's request finished after the policy made her inactive: ${status}`);
  releaseList?.();
  await loop.idle();
  const user = await matrixCall<{ locked: boolean }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(carol)}`, { token: admin });
  t.equal(user.locked, true, 'carol is locked');

  await matrixCall(hs.baseUrl, 'PUT', `${roomPath}/send/m.room.message/control?org.matrix.msc4140.delay=${DELAY_MS}`, { token: admin, body: { msgtype: 'm.text', body: 'control' } });
  while (!(await messages()).includes(`${hs.admin.userId} control`)) await sleep(250);
  const seen = await messages();
  t.notOk(seen.includes(`${carol} cancelled`), 'the listed delayed message was cancelled');
  t.notOk(seen.includes(`${carol} sent by a locked user`), "carol's late delayed message never appeared");
});
