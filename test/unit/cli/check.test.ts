import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCheck } from '../../../src/cli/check.js';
import type { CliArgs } from '../../../src/cli/args.js';
import { testConfigRaw } from '../../support/corporal-config.js';

const README_POLICY = fileURLToPath(new URL('../../../../test/fixtures/policy/readme-policy.json', import.meta.url));

async function check(t: Test, options: { provider?: Record<string, unknown>; policyPath?: string | null; config?: unknown } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-check-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const raw = testConfigRaw({ gatewayPort: 41080, serverName: 'example.com', policyCachePath: join(dir, 'last-seen.json') });
  if (options.provider) raw['PolicyProvider'] = options.provider;
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(options.config ?? raw));
  let output = '';
  const out = new Writable({ write(chunk: Buffer, _e, done) { output += chunk.toString(); done(); } });
  const args: CliArgs = { command: 'check', configPath, policyPath: options.policyPath ?? null, json: false, exitCode: false, help: false, version: false };
  const code = await runCheck(args, out);
  return { code, output, dir };
}

function writePolicy(dir: string, text: string): string {
  const path = join(dir, 'policy.json');
  writeFileSync(path, text);
  return path;
}

t.test('--policy: a valid policy is summarised (auth types, active, rooms, hooks by event type); exit 0', async (t) => {
  const { code, output } = await check(t, { policyPath: README_POLICY });
  t.equal(code, 0, output);
  t.match(output, `Policy ${README_POLICY} is valid for example.com.`);
  t.match(output, /users: 3 \(3 active, 0 inactive\)/);
  t.match(output, /users by auth type: plain 1, sha1 1, rest 1/);
  t.match(output, /managed rooms: 2; required memberships: 5/);
  t.match(output, /hooks: 2 \(beforeAnyRequest 1, beforeAuthenticatedPolicyCheckedRequest 1\)/);
  t.match(output, /Warnings \(1\):\n  11:23: trailing comma before ']' ignored/);
});

t.test('--policy: every error with its JSON pointer; exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-check-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = writePolicy(dir, JSON.stringify({
    schemaVersion: 2,
    flags: { forbidRoomCreation: 'yes' },
    users: [{ id: '@x:elsewhere.org', authType: 'md5', authCredential: 'zz' }],
  }));
  const { code, output } = await check(t, { policyPath: path });
  t.equal(code, 2);
  t.match(output, `Policy ${path} is invalid (3 errors):`);
  t.match(output, /\n  \/flags\/forbidRoomCreation: expected a boolean/);
  t.match(output, /\n  \/users\/0\/id: policy user `@x:elsewhere\.org` is not hosted on the managed homeserver domain \(example\.com\)/);
  t.match(output, /\n  \/users\/0\/authCredential: a md5 credential must be the hex digest/);
});

t.test('--policy: a syntax error with line:column; a missing file; exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-check-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = writePolicy(dir, '{"schemaVersion": 2,\n  "users": [}');
  const syntax = await check(t, { policyPath: path });
  t.equal(syntax.code, 2);
  t.match(syntax.output, /\n  2:13: unexpected character '}'; expected a value \(at \/users\/0\)/);
  const missing = await check(t, { policyPath: join(dir, 'nope.json') });
  t.equal(missing.code, 2);
  t.match(missing.output, /nope\.json cannot be read: ENOENT/);
});

t.test('check alone validates the configured static_file policy', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-check-static-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = writePolicy(dir, readFileSync(README_POLICY, 'utf8'));
  const valid = await check(t, { provider: { Type: 'static_file', Path: path } });
  t.equal(valid.code, 0);
  t.match(valid.output, /policy provider: static_file\n/);
  t.match(valid.output, `Policy ${path} is valid`);

  writeFileSync(path, '{"schemaVersion": 3}');
  const invalid = await check(t, { provider: { Type: 'static_file', Path: path } });
  t.equal(invalid.code, 2);
  t.match(invalid.output, /\/schemaVersion: /);

  const absent = await check(t, { provider: { Type: 'static_file', Path: join(dir, 'later.json') } });
  t.equal(absent.code, 0, 'the configured file may be deployed later: a warning');
  t.match(absent.output, /Warning: policy .*later\.json \(PolicyProvider\.Path\) does not exist/);
});

t.test('operator review 19, finding 9: a CachePath whose directory is missing is a warning naming the key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-check-nodir-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cachePath = join(dir, 'nodir', 'ls.json');
  const lastSeen = await check(t, { provider: { Type: 'last_seen_store_policy', CachePath: cachePath } });
  t.equal(lastSeen.code, 0, 'a warning, as for the socket');
  t.match(lastSeen.output, `  Warning: ${cachePath} (PolicyProvider.CachePath): the directory ${join(dir, 'nodir')} does not exist; the policy cannot be saved there\n`);
  const http = { Type: 'http', Uri: 'https://policy.example.com/p.json', AuthorizationBearerToken: null, ReloadIntervalSeconds: null, TimeoutMilliseconds: null };
  const cached = await check(t, { provider: { ...http, CachePath: cachePath } });
  t.match(cached.output, /Warning: .*\(PolicyProvider\.CachePath\): the directory .* does not exist/);
  const fine = await check(t);
  t.notMatch(fine.output, /cannot be saved there/, 'nothing when the directory is there');
});

t.test('check alone checks the cached copy of a last_seen or http provider, as plan reads it', async (t) => {
  const absent = await check(t);
  t.equal(absent.code, 0, 'a cache not written yet is a warning');
  t.match(absent.output, /policy provider: last_seen_store_policy\n/);
  t.match(absent.output, /Warning: policy .*last-seen\.json \(PolicyProvider\.CachePath\) does not exist; Corporal runs without a policy \(answering 503\) until one is pushed\./);

  const dir = mkdtempSync(join(tmpdir(), 'corporal-check-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cachePath = writePolicy(dir, '{"schemaVersion": 3}');
  const lastSeen = await check(t, { provider: { Type: 'last_seen_store_policy', CachePath: cachePath } });
  t.equal(lastSeen.code, 2, 'an invalid cached policy fails the check');
  t.match(lastSeen.output, `Policy ${cachePath} is invalid`);

  writeFileSync(cachePath, readFileSync(README_POLICY, 'utf8'));
  const http = { Type: 'http', Uri: 'https://policy.example.com/p.json', AuthorizationBearerToken: null, ReloadIntervalSeconds: null, TimeoutMilliseconds: null };
  const cached = await check(t, { provider: { ...http, CachePath: cachePath } });
  t.equal(cached.code, 0);
  t.match(cached.output, `Policy ${cachePath} is valid`);

  const uncached = await check(t, { provider: { ...http, CachePath: null } });
  t.equal(uncached.code, 0, 'no local copy: nothing to check, not an error');
  t.match(uncached.output, /Note: PolicyProvider \(http\) has no CachePath to read a policy from; pass --policy FILE/);
  t.notMatch(uncached.output, /Policy /);
});

t.test('the summary names the homeserver socket when one is configured', async (t) => {
  const tcp = await check(t);
  t.match(tcp.output, 'homeserver: example.com at http://127.0.0.1:9\n');
  const raw = testConfigRaw({ gatewayPort: 41080, serverName: 'example.com', policyCachePath: '/tmp/unused.json' });
  raw['Matrix'] = { ...raw['Matrix'], HomeserverApiSocketPath: '/run/synapse/client.sock' };
  const unix = await check(t, { config: raw });
  t.equal(unix.code, 0, unix.output);
  t.match(unix.output, 'homeserver: example.com at http://127.0.0.1:9 over the Unix socket /run/synapse/client.sock\n');
  t.match(unix.output, '  Warning: /run/synapse/client.sock (Matrix.HomeserverApiSocketPath) does not exist here', 'a missing socket is a warning');
  t.notMatch(tcp.output, 'HomeserverApiSocketPath');
});

t.test('a socket path that exists but is no socket is a warning; a real socket is not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-check-sock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = join(dir, 'hs.sock');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  for (const [path, warned] of [[dir, true], [socketPath, false]] as const) {
    const raw = testConfigRaw({ gatewayPort: 41080, serverName: 'example.com', policyCachePath: '/tmp/unused.json' });
    raw['Matrix'] = { ...raw['Matrix'], HomeserverApiSocketPath: path };
    const { code, output } = await check(t, { config: raw });
    t.equal(code, 0, output);
    if (warned) t.match(output, `  Warning: ${path} (Matrix.HomeserverApiSocketPath) is not a Unix socket\n`);
    else t.notMatch(output, '(Matrix.HomeserverApiSocketPath)');
  }
});

t.test('the summary says whose X-Forwarded-For the gateway believes', async (t) => {
  t.match((await check(t)).output, '  trusted proxies (X-Forwarded-For): loopback, private and link-local networks (default)\n');
  const rows: Array<[string[], string]> = [[[], 'none (every peer is the client)'], [['192.0.2.10', '10.0.0.0/8'], '192.0.2.10, 10.0.0.0/8']];
  for (const [list, text] of rows) {
    const raw = testConfigRaw({ gatewayPort: 41080, serverName: 'example.com', policyCachePath: '/tmp/unused.json' });
    raw['HttpGateway'] = { ...raw['HttpGateway'], TrustedProxies: list };
    const { code, output } = await check(t, { config: raw });
    t.equal(code, 0, output);
    t.match(output, `  trusted proxies (X-Forwarded-For): ${text}\n`);
  }
});

t.test('an invalid configuration: exit 2 before any policy is read', async (t) => {
  const { code, output } = await check(t, { config: { Matrix: {} }, policyPath: README_POLICY });
  t.equal(code, 2);
  t.match(output, /is invalid/);
  t.notMatch(output, /Policy /);
});

t.test('a user name or password in Matrix.HomeserverApiEndpoint is warned about and never printed (audit 14)', async (t) => {
  const raw = testConfigRaw({ gatewayPort: 41080, serverName: 'example.com', policyCachePath: join(tmpdir(), 'corporal-check-unused.json') });
  const matrix = raw['Matrix'] as Record<string, unknown>;
  const endpoint = new URL(String(matrix['HomeserverApiEndpoint']));
  endpoint.username = 'someone';
  endpoint.password = 'endpoint-secret-0123';
  matrix['HomeserverApiEndpoint'] = endpoint.href;
  const { code, output } = await check(t, { config: raw });
  t.equal(code, 0, 'still valid');
  t.notMatch(output, 'endpoint-secret-0123');
  t.notMatch(output, 'someone@');
  t.match(output, 'Matrix.HomeserverApiEndpoint holds a user name or password, which Corporal never sends: remove them');
});
