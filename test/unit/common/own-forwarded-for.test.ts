import t from 'tap';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { OWN_FORWARDED_FOR, ownCallsDispatcher } from '../../../src/common/own-forwarded-for.js';

/** A real HTTP server on a Unix socket that answers with the X-Forwarded-For lines it received. */
const dir = mkdtempSync(join(tmpdir(), 'corporal-own-xff-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const socketPath = join(dir, 'hs.sock');
const server = createServer((req, res) => {
  const lines: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'x-forwarded-for') lines.push(req.rawHeaders[i + 1]!);
  res.end(JSON.stringify(lines));
});
await new Promise<void>((resolve) => server.listen(socketPath, resolve));
t.teardown(() => new Promise((resolve) => server.close(resolve)));
const pool = new Pool('http://localhost', { socketPath });
t.teardown(() => pool.close());

async function forwardedFor(dispatcher: ReturnType<typeof ownCallsDispatcher>, headers?: Record<string, string> | string[] | Map<string, string>): Promise<string[]> {
  const response = await dispatcher.request({ method: 'GET', path: '/', ...(headers === undefined ? {} : { headers }) });
  return (await response.body.json()) as string[];
}

t.test('over a Unix socket, calls without an X-Forwarded-For get Corporal\'s own', async (t) => {
  const own = ownCallsDispatcher(pool, socketPath);
  t.same(await forwardedFor(own), [OWN_FORWARDED_FOR], 'no headers');
  t.same(await forwardedFor(own, { authorization: 'Bearer x' }), [OWN_FORWARDED_FOR], 'header object');
  t.same(await forwardedFor(own, ['authorization', 'Bearer x']), [OWN_FORWARDED_FOR], 'flat header list');
  t.same(await forwardedFor(own, new Map([['authorization', 'Bearer x']])), [OWN_FORWARDED_FOR], 'iterable of pairs');
});

t.test('a call that carries one keeps it, alone', async (t) => {
  const own = ownCallsDispatcher(pool, socketPath);
  t.same(await forwardedFor(own, { 'X-Forwarded-For': '203.0.113.9' }), ['203.0.113.9']);
  t.same(await forwardedFor(own, ['x-forwarded-for', '203.0.113.9, 10.0.0.1']), ['203.0.113.9, 10.0.0.1']);
  t.same(await forwardedFor(own, new Map([['X-Forwarded-For', '203.0.113.9']])), ['203.0.113.9']);
});

t.test('over TCP the dispatcher is returned as it is', async (t) => {
  t.equal(ownCallsDispatcher(pool, ''), pool);
  t.same(await forwardedFor(pool), [], 'nothing added');
});
