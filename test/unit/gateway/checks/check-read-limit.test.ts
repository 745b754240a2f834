import t from 'tap';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { CHECK_READS_BUSY, CheckReadLimit, getJson } from '../../../../src/gateway/checks/upstream-json.js';

/**
 * Red team 7, F1: the policy checks' reads share the internal pool with token look-ups, so a
 * thread keeps at most a bound of them in flight; one more is refused at once (its check then
 * fails closed) instead of queueing for a connection the look-ups need.
 */
t.test('reads past the bound are refused at once; a settled read gives its place back', async (t) => {
  const held: ServerResponse[] = [];
  const server = createServer((_req, res) => held.push(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 8 });
  t.teardown(async () => {
    await pool.destroy();
    server.closeAllConnections();
    server.close();
  });
  const refusals: Array<string | null> = [];
  const limit = new CheckReadLimit(2, (requester) => refusals.push(requester));
  const options = { dispatcher: pool, basePath: '', timeoutMs: 5000, limit };
  const first = getJson(options, '/a', {}, '@a:hs');
  const second = getJson(options, '/b', {}, '@b:hs');
  t.equal(limit.inFlight, 2);
  await t.rejects(getJson(options, '/c', {}, '@c:hs'), { code: CHECK_READS_BUSY, status: 503, source: 'upstream' }, 'a third read is refused (load, answered 503, not a bug answered 500)');
  t.same(refusals, [null], 'and reported as the thread\'s bound');
  while (held.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  t.equal(held.length, 2, 'the refused read never reached the homeserver');
  for (const res of held) res.end('{"ok":true}');
  t.same(await Promise.all([first, second]), [{ status: 200, json: { ok: true } }, { status: 200, json: { ok: true } }]);
  t.equal(limit.inFlight, 0, 'places given back');
  const again = getJson(options, '/d', {}, '@c:hs');
  while (held.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  held[2]!.end('{}');
  t.same(await again, { status: 200, json: {} }, 'a read is admitted again');
});

t.test('a failed read gives its place back too', async (t) => {
  const limit = new CheckReadLimit(1);
  await t.rejects(limit.run('@a:hs', () => Promise.reject(new Error('down'))), /down/);
  t.equal(limit.inFlight, 0);
  t.equal(await limit.run('@a:hs', () => Promise.resolve('ok')), 'ok');
});

t.test('one requester holds at most its own share; others still get places', async (t) => {
  const refusals: Array<string | null> = [];
  const limit = new CheckReadLimit(16, (requester) => refusals.push(requester), 2);
  const releases: Array<() => void> = [];
  const held = () => new Promise<void>((resolve) => releases.push(resolve));
  const reads = [limit.run('@att:hs', held), limit.run('@att:hs', held)];
  await t.rejects(limit.run('@att:hs', held), { code: CHECK_READS_BUSY, status: 503, message: /2 policy-check reads of this requester/ });
  t.same(refusals, ['@att:hs'], 'the refusal names the requester');
  const other = limit.run('@vic:hs', held);
  t.equal(limit.inFlight, 3, 'another requester is admitted');
  releases.shift()!();
  await reads[0];
  const again = limit.run('@att:hs', held);
  t.equal(limit.inFlight, 3, 'a settled read gives the requester its place back');
  await t.rejects(limit.run('@att:hs', held), { code: CHECK_READS_BUSY }, 'that place only: the share holds again');
  for (const release of releases.splice(0)) release();
  await Promise.all([reads[1], other, again]);
  t.equal(limit.inFlight, 0);
});
