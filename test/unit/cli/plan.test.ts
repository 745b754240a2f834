import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runPlan } from '../../../src/cli/plan.js';
import type { CliArgs } from '../../../src/cli/args.js';
import { testConfigRaw } from '../../support/corporal-config.js';

const SECRET = 'HUNTER2SECRET';

type Extra = (req: IncomingMessage, res: ServerResponse) => boolean;

/** A fake homeserver just good enough for a plan with no users: whoami, the admin user list, logout. */
async function fakeHomeserver(t: Test, extra: Extra = () => false): Promise<number> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (extra(req, res)) return;
    const url = req.url ?? '';
    if (url.includes('auth_metadata')) {
      res.statusCode = 404;
      return res.end(JSON.stringify({ errcode: 'M_UNRECOGNIZED', error: 'no MAS' }));
    }
    if (url.includes('/account/whoami')) return res.end(JSON.stringify({ user_id: '@corporal:example.com' }));
    if (url.includes('/_synapse/admin/v2/users/')) return res.end(JSON.stringify({ name: '@corporal:example.com', admin: true, deactivated: false }));
    if (url.includes('/_synapse/admin/v2/users')) return res.end(JSON.stringify({ users: [], total: 0 }));
    return res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

async function plan(t: Test, options: { json?: boolean; exitCode?: boolean; port: number; accessToken?: string | null; users?: unknown[] }) {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-plan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policyPath = join(dir, 'policy.json');
  writeFileSync(policyPath, JSON.stringify({ schemaVersion: 2, users: options.users ?? [] }));
  const raw = testConfigRaw({
    gatewayPort: 41080,
    serverName: 'example.com',
    homeserverUrl: `http://admin:${SECRET}@127.0.0.1:${options.port}`,
    policyCachePath: join(dir, 'last-seen.json'),
    overrides: { Corporal: options.accessToken === null ? {} : { AccessToken: options.accessToken ?? 'plan-token' }, PolicyProvider: { Type: 'static_file', Path: policyPath } },
  });
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(raw));
  let stdout = '';
  let stderr = '';
  const out = new Writable({ write(chunk: Buffer, _e, done) { stdout += chunk.toString(); done(); } });
  const err = new Writable({ write(chunk: Buffer, _e, done) { stderr += chunk.toString(); done(); } });
  const args: CliArgs = { command: 'plan', configPath, policyPath: null, json: options.json ?? false, exitCode: options.exitCode ?? false, help: false, version: false };
  const code = await runPlan(args, { out, err });
  return { code, stdout, stderr };
}

t.test('the table names the homeserver without the user info written in its endpoint', async (t) => {
  const port = await fakeHomeserver(t);
  const { code, stdout, stderr } = await plan(t, { port });
  t.equal(code, 0, stderr);
  t.match(stdout, `against http://127.0.0.1:${port}/`);
  t.notMatch(stdout + stderr, SECRET);
  t.notMatch(stdout + stderr, 'admin:');
});

t.test('--json: the homeserver field has no user info either', async (t) => {
  const port = await fakeHomeserver(t);
  const { code, stdout, stderr } = await plan(t, { port, json: true });
  t.equal(code, 0, stderr);
  t.equal((JSON.parse(stdout) as { homeserver: string }).homeserver, `http://127.0.0.1:${port}/`);
  t.notMatch(stdout + stderr, SECRET);
});

t.test('a homeserver that cannot be observed: the error names the endpoint without its user info', async (t) => {
  const port = await fakeHomeserver(t, (_req, res) => {
    res.statusCode = 500;
    res.end(JSON.stringify({ errcode: 'M_UNKNOWN', error: 'down' }));
    return true;
  });
  const { code, stdout, stderr } = await plan(t, { port });
  t.equal(code, 1);
  t.match(stderr, `cannot plan against http://127.0.0.1:${port}/`);
  t.notMatch(stdout + stderr, SECRET);
});

t.test('a failed logout of plan\'s own admin device is printed on stderr, not lost', async (t) => {
  const calls: string[] = [];
  const port = await fakeHomeserver(t, (req, res) => {
    calls.push(`${req.method} ${req.url}`);
    if (req.method === 'POST' && (req.url ?? '').endsWith('/login')) {
      res.end(JSON.stringify({ access_token: 'syt_plan_session', user_id: '@corporal:example.com', device_id: 'PLAN' }));
      return true;
    }
    if ((req.url ?? '').endsWith('/logout')) {
      res.statusCode = 500;
      res.end(JSON.stringify({ errcode: 'M_UNKNOWN', error: 'logout broke' }));
      return true;
    }
    return false;
  });
  const { code, stdout, stderr } = await plan(t, { port, accessToken: null });
  t.equal(code, 0, stderr);
  t.ok(calls.some((call) => call.endsWith('/logout')), 'plan tried to log its device out');
  t.match(stderr, /^corporal: warning: admin session logout failed \(err: .+\)\n$/);
  t.notMatch(stderr + stdout, 'syt_plan_session');
});

/** A policy user the fake homeserver does not know: the plan creates it. */
const MISSING_USER = { id: '@alice:example.com', active: true, authType: 'passthrough' };

t.test('--exit-code: 3 when actions are pending; the table still lists them', async (t) => {
  const port = await fakeHomeserver(t);
  const { code, stdout, stderr } = await plan(t, { port, exitCode: true, users: [MISSING_USER] });
  t.equal(code, 3, stderr);
  t.match(stdout, /action\(s\) pending: 1 user\.create/);
});

t.test('--exit-code: 0 when the homeserver matches the policy', async (t) => {
  const port = await fakeHomeserver(t);
  const { code, stdout, stderr } = await plan(t, { port, exitCode: true, json: true });
  t.equal(code, 0, stderr);
  t.same((JSON.parse(stdout) as { actions: unknown[] }).actions, []);
});

t.test('without --exit-code, pending actions still exit 0', async (t) => {
  const port = await fakeHomeserver(t);
  const { code, stdout, stderr } = await plan(t, { port, users: [MISSING_USER] });
  t.equal(code, 0, stderr);
  t.match(stdout, 'action(s) pending');
});

t.test("a locked inactive user in serve's record of unfinished locks gets its user.finish_lock in the plan", async (t) => {
  const bob = '@bob:example.com';
  let record: unknown = { users: { [bob]: 1 } };
  const port = await fakeHomeserver(t, (req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const answer = (status: number, body: unknown): true => {
      res.statusCode = status;
      res.end(JSON.stringify(body));
      return true;
    };
    if (path === '/_matrix/client/v3/user/%40corporal%3Aexample.com/account_data/io.corporal.unfinished_locks') {
      t.equal(req.method, 'GET', 'the record is only read');
      return record === null ? answer(500, { errcode: 'M_UNKNOWN', error: 'down' }) : answer(200, record);
    }
    if (path === '/_synapse/admin/v2/users') return answer(200, { users: [{ name: bob, locked: true }], total: 1 });
    if (path === `/_synapse/admin/v2/users/${encodeURIComponent(bob)}`) return answer(200, { name: bob, locked: true });
    if (path.endsWith('/joined_rooms')) return answer(200, { joined_rooms: [] });
    if (path.endsWith('/accountdata')) return answer(200, { account_data: { global: {}, rooms: {} } });
    return false;
  });
  const users = [{ id: bob, active: false, authType: 'passthrough' }];
  const recorded = await plan(t, { port, json: true, users });
  t.equal(recorded.code, 0, recorded.stderr);
  t.same((JSON.parse(recorded.stdout) as { actions: unknown[] }).actions, [{ type: 'user.finish_lock', userId: bob }]);

  record = null;
  const unreadable = await plan(t, { port, json: true, users });
  t.equal(unreadable.code, 0, 'an unreadable record does not fail the plan');
  t.same((JSON.parse(unreadable.stdout) as { actions: unknown[] }).actions, []);
  t.match(unreadable.stderr, /^corporal: warning: cannot read the record of unfinished locks/m);
});
