import t, { type Test } from 'tap';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HttpProvider, safeUri, type HttpProviderOptions } from '../../../../src/control/providers/http-provider.js';
import { captureLogger, pause, testPolicyText, testStore, waitFor } from '../../../support/control-plane.js';

/** What the policy server answers next: a status, a body and headers, after `delayMs` if set; `hang` never answers. */
interface Answer { status?: number; body?: string | Buffer; headers?: Record<string, string>; hang?: boolean; delayMs?: number }

/** A real local HTTP server standing in for the policy origin; it records every request's headers. */
async function policyServer(t: Test, answer: (headers: IncomingHttpHeaders) => Answer) {
  const requests: IncomingHttpHeaders[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    const a = answer(req.headers);
    if (a.hang) {
      hanging.push(res);
      return;
    }
    const send = () => {
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
      res.end(a.body ?? '');
    };
    if (a.delayMs === undefined) send();
    else {
      const timer = setTimeout(send, a.delayMs);
      res.on('close', () => clearTimeout(timer));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/policy.json`, requests };
}

function setup(t: Test, url: string, options: Partial<HttpProviderOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-http-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { logger, lines, raw } = captureLogger();
  const { store, published } = testStore({ logger });
  const cachePath = join(dir, 'cache.json');
  const provider = new HttpProvider({
    uri: url, bearerToken: 'provider-secret-token', cachePath, reloadIntervalMs: null, timeoutMs: 2000, store, logger,
    startRetry: { initialMs: 50, maxMs: 200 },
    ...options,
  });
  t.teardown(() => provider.stop());
  const stampIs = (variant: string) => () => store.current?.document.identificationStamp === `test-${variant}`;
  return { store, published, provider, cachePath, lines, raw, stampIs };
}

t.test('start: GET with the bearer token, policy applied, cache written after acceptance', async (t) => {
  const server = await policyServer(t, () => ({ body: testPolicyText('a') }));
  const { store, provider, cachePath, raw } = setup(t, server.url);
  await provider.start();
  t.equal(server.requests.length, 1);
  t.equal(server.requests[0]!.authorization, 'Bearer provider-secret-token');
  t.equal(store.current?.generation, 1);
  t.equal(store.current?.source, `http:${server.url}`);
  t.equal(readFileSync(cachePath, 'utf8'), testPolicyText('a'), 'the cache holds the accepted policy');
  t.equal(statSync(cachePath).mode & 0o777, 0o600, 'the cache is private');
  t.notOk(raw.join('\n').includes('provider-secret-token'), 'the token is never logged');
});

t.test('operator review 19, finding 9: a CachePath in a missing directory is an error at start; the remote policy still applies', async (t) => {
  const server = await policyServer(t, () => ({ body: testPolicyText('a') }));
  const dir = mkdtempSync(join(tmpdir(), 'corporal-http-nodir-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cachePath = join(dir, 'nodir', 'cache.json');
  const { store, provider, lines } = setup(t, server.url, { cachePath });
  await provider.start();
  t.ok(lines.some((l) => l.level === 50 && l.key === 'PolicyProvider.CachePath' && l.cachePath === cachePath));
  t.equal(store.current?.generation, 1);
});

t.test('AuthorizationBearerToken null: no Authorization header', async (t) => {
  const server = await policyServer(t, () => ({ body: testPolicyText('a') }));
  const { provider } = setup(t, server.url, { bearerToken: null });
  await provider.start();
  t.equal(server.requests[0]!.authorization, undefined);
});

t.test('verification 18, V2: without a bearer token, user info in the URI is sent as Basic auth, as Go\'s client did; a bearer token wins', async (t) => {
  const server = await policyServer(t, () => ({ body: testPolicyText('a') }));
  const withUser = server.url.replace('http://', 'http://pol%40icy:s3cret@');
  const basic = setup(t, withUser, { bearerToken: null });
  await basic.provider.start();
  t.equal(server.requests.at(-1)!.authorization, `Basic ${Buffer.from('pol@icy:s3cret').toString('base64')}`);
  t.notOk(basic.raw.join('\n').includes('s3cret'), 'never logged');
  const bearer = setup(t, withUser);
  await bearer.provider.start();
  t.equal(server.requests.at(-1)!.authorization, 'Bearer provider-secret-token');
});

t.test('polling with an ETag: 304 changes nothing; a new body is applied', async (t) => {
  let body = testPolicyText('a');
  let etag = '"v1"';
  const server = await policyServer(t, (headers) => (headers['if-none-match'] === etag ? { status: 304 } : { body, headers: { etag } }));
  const { store, published, provider, lines, stampIs } = setup(t, server.url, { reloadIntervalMs: 50 });
  await provider.start();
  await waitFor('three revalidations', () => server.requests.length >= 4);
  t.ok(server.requests.slice(1).every((h) => h['if-none-match'] === '"v1"'), 'polls revalidate with If-None-Match');
  t.equal(published.length, 1, 'no new generation for 304s');
  t.equal(store.current?.generation, 1);
  t.notOk(lines.some((l) => l.msg === 'policy unchanged'), 'a 304 is not even offered to the store');
  t.equal(provider.status().lastError, null);

  body = testPolicyText('b');
  etag = '"v2"';
  await waitFor('the new policy', stampIs('b'));
  t.equal(store.current?.generation, 2);
});

t.test('no ETag: unchanged content is found unchanged by the store (no new generation)', async (t) => {
  const server = await policyServer(t, () => ({ body: testPolicyText('a') }));
  const { store, provider } = setup(t, server.url, { reloadIntervalMs: 50 });
  await provider.start();
  await waitFor('two more polls', () => server.requests.length >= 3);
  t.ok(server.requests.every((h) => h['if-none-match'] === undefined));
  t.equal(store.current?.generation, 1);
});

t.test('reload() fetches the full body even when an ETag is known', async (t) => {
  const server = await policyServer(t, (headers) => (headers['if-none-match'] === '"v1"' ? { status: 304 } : { body: testPolicyText('a'), headers: { etag: '"v1"' } }));
  const { provider } = setup(t, server.url);
  await provider.start();
  await provider.reload();
  t.equal(server.requests.length, 2);
  t.equal(server.requests[1]!['if-none-match'], undefined);
});

t.test('soak review 18, S9: reloads asked for while one waits to start join it; one asked for during a fetch gets its own', async (t) => {
  let hang = true;
  const server = await policyServer(t, () => (hang ? { hang: true } : { body: testPolicyText('a') }));
  const { provider } = setup(t, server.url, { timeoutMs: 300, cachePath: null });
  await provider.start();
  const before = server.requests.length;
  const running = provider.reload();
  await waitFor('the first reload fetching', () => server.requests.length === before + 1);
  const queued = Array.from({ length: 20 }, () => provider.reload());
  t.equal(new Set(queued).size, 1, 'the twenty share one queued reload');
  hang = false;
  await Promise.all([running, ...queued]);
  t.equal(server.requests.length, before + 2, 'two fetches for twenty-one reloads, not twenty-one');
});

t.test('a pushed policy in between: the next poll fetches in full instead of trusting the ETag', async (t) => {
  const server = await policyServer(t, (headers) => (headers['if-none-match'] === '"v1"' ? { status: 304 } : { body: testPolicyText('a'), headers: { etag: '"v1"' } }));
  const { store, provider, stampIs } = setup(t, server.url, { reloadIntervalMs: 100 });
  await provider.start();
  await store.set({ text: testPolicyText('pushed') }, 'api');
  const seen = server.requests.length;
  await waitFor('the remote policy to replace the pushed one', stampIs('a'));
  t.equal(server.requests[seen]!['if-none-match'], undefined);
});

t.test('remote failing at start, cache present: the cache is used; the remote is retried until it answers', async (t) => {
  let up = false;
  const server = await policyServer(t, () => (up ? { body: testPolicyText('b') } : { status: 500, body: 'down' }));
  const { store, provider, cachePath, stampIs } = setup(t, server.url);
  writeFileSync(cachePath, testPolicyText('a'));
  await provider.start();
  t.equal(store.current?.source, `http-cache:${cachePath}`);
  t.ok(stampIs('a')());
  t.match(provider.status().lastError?.message, /unexpected HTTP status 500/);
  up = true;
  await waitFor('the remote policy', stampIs('b'));
  // The cache is written after the store has accepted the policy (never before), so it may lag the stamp.
  await waitFor('the cache to follow the remote', () => readFileSync(cachePath, 'utf8') === testPolicyText('b'));
  t.equal(provider.status().lastError, null);
});

t.test('operator review 19, finding 5: a hung remote at start with a cache: the cache is in force after the short wait; the fetch keeps its full timeout, then a retry', async (t) => {
  let answered = 0;
  const server = await policyServer(t, () => {
    // The first fetch hangs; the retry answers.
    if (server.requests.length === 1) return { hang: true };
    answered += 1;
    return { body: testPolicyText('b') };
  });
  const { store, provider, cachePath, stampIs } = setup(t, server.url, { timeoutMs: 1500, cachedStartTimeoutMs: 200 });
  writeFileSync(cachePath, testPolicyText('a'));
  const started = Date.now();
  await provider.start();
  t.ok(Date.now() - started < 1000, `start over after the short wait (${Date.now() - started} ms), not the 1.5 s timeout`);
  t.equal(store.current?.source, `http-cache:${cachePath}`, 'the cache is in force');
  t.equal(provider.status().lastError, null, 'the fetch has not failed: it is still waiting');
  await waitFor('the remote policy from the retry', stampIs('b'));
  t.ok(Date.now() - started >= 1500, 'the hung fetch was given its whole timeout');
  t.equal(provider.status().lastError, null, 'the retry succeeded');
  t.equal(answered, 1);
  t.equal(server.requests.length, 2);
});

t.test('verification 19, finding 5: a remote slower than the short wait is taken from the same fetch, with a valid or a corrupt cache', async (t) => {
  for (const cache of ['valid', 'corrupt'] as const) {
    const server = await policyServer(t, () => ({ body: testPolicyText('b'), delayMs: 600 }));
    const { store, provider, cachePath, stampIs, lines } = setup(t, server.url, { timeoutMs: 5000, cachedStartTimeoutMs: 200 });
    writeFileSync(cachePath, cache === 'valid' ? testPolicyText('a') : '{"schemaVersion": 2, "users": [');
    const started = Date.now();
    await provider.start();
    t.ok(Date.now() - started < 550, `${cache}: start over after the short wait (${Date.now() - started} ms)`);
    if (cache === 'valid') t.equal(store.current?.source, `http-cache:${cachePath}`, 'valid: the cache is in force meanwhile');
    else t.equal(store.current, null, 'corrupt: refused, no policy meanwhile');
    t.ok(lines.some((line) => line.msg === 'the policy server has not answered within 200 ms; enforcing the cached copy meanwhile'));
    await waitFor(`${cache}: the slow answer`, stampIs('b'));
    t.ok(Date.now() - started < 1500, `${cache}: in force when it came (${Date.now() - started} ms), without a second fetch after a backoff`);
    t.equal(server.requests.length, 1, `${cache}: one fetch`);
    t.equal(provider.status().lastError, null);
    await waitFor('the cache to follow the remote', () => readFileSync(cachePath, 'utf8') === testPolicyText('b'));
  }
});

t.test('review 22, #3: start() returns when stop() comes before the first load ran, with or without a cache', async (t) => {
  for (const withCache of [true, false]) {
    const server = await policyServer(t, () => ({ body: testPolicyText('b') }));
    const { store, provider, cachePath } = setup(t, server.url, withCache ? {} : { cachePath: null });
    if (withCache) writeFileSync(cachePath, testPolicyText('a'));
    const starting = provider.start();
    await provider.stop();
    await starting;
    t.equal(store.current, null, `${withCache ? 'with' : 'without'} a cache: nothing loaded`);
  }
});

t.test('a late answer to the start fetch does not replace a policy set meanwhile; the next fetch decides', async (t) => {
  const server = await policyServer(t, () => (server.requests.length === 1 ? { body: testPolicyText('b'), delayMs: 600 } : { body: testPolicyText('c') }));
  const { store, provider, cachePath, stampIs, lines } = setup(t, server.url, { timeoutMs: 5000, cachedStartTimeoutMs: 200 });
  writeFileSync(cachePath, testPolicyText('a'));
  await provider.start();
  t.ok(stampIs('a')(), 'the cache');
  await store.set({ text: testPolicyText('d') }, 'api');
  t.ok(stampIs('d')(), 'a push after start');
  await waitFor('the late answer to be dropped', () => lines.some((line) => line.msg === 'the policy server answered after another policy was set; the next fetch decides'));
  t.notOk(stampIs('b')(), 'the late answer, from a fetch started before the push, never took over');
  await waitFor('the retry, which replaces the push as the provider\'s next load does', stampIs('c'));
  t.equal(server.requests.length, 2);
});

t.test('operator review 19, finding 5: without a cache the first fetch keeps the configured timeout', async (t) => {
  const server = await policyServer(t, () => ({ body: testPolicyText('b'), delayMs: 600 }));
  const { store, provider, stampIs } = setup(t, server.url, { timeoutMs: 5000, cachedStartTimeoutMs: 200, cachePath: null });
  await provider.start();
  t.ok(stampIs('b')(), 'the slow answer is taken at start');
  t.equal(store.current?.generation, 1);
});

t.test('red team 11 F7: a saved policy readable by others is made private at start, without a rewrite; a symlink is left alone', async (t) => {
  const server = await policyServer(t, () => ({ status: 500, body: 'down' }));
  const { provider, cachePath, lines, stampIs } = setup(t, server.url);
  writeFileSync(cachePath, testPolicyText('a'));
  chmodSync(cachePath, 0o644); // as a migration from matrix-corporal may leave it
  const before = statSync(cachePath);
  await provider.start();
  t.ok(stampIs('a')(), 'the cache is used');
  t.equal(statSync(cachePath).mode & 0o777, 0o600);
  t.equal(statSync(cachePath).ino, before.ino, 'the same file');
  t.ok(lines.some((line) => line['msg'] === 'the saved policy was readable by others; its mode is now 0600' && line['was'] === '644'));

  const target = `${cachePath}.elsewhere`;
  writeFileSync(target, testPolicyText('a'));
  chmodSync(target, 0o644);
  const linked = setup(t, server.url);
  symlinkSync(target, linked.cachePath);
  await linked.provider.start();
  t.equal(statSync(target).mode & 0o777, 0o644, 'the file a symlink points at is not changed');
  t.ok(lstatSync(linked.cachePath).isSymbolicLink());
  t.notOk(linked.lines.some((line) => String(line['msg']).includes('mode')), 'and nothing is logged about it');
});

t.test('remote failing at start, no cache: no policy, no crash; picked up once the remote is back', async (t) => {
  let up = false;
  const server = await policyServer(t, () => (up ? { body: testPolicyText('a') } : { status: 503 }));
  const { store, provider, cachePath, stampIs } = setup(t, server.url);
  await provider.start();
  t.equal(store.current, null);
  t.notOk(existsSync(cachePath));
  await waitFor('a few retries', () => server.requests.length >= 3);
  up = true;
  await waitFor('the policy', stampIs('a'));
});

t.test('an invalid remote policy is refused and leaves the cache untouched', async (t) => {
  let body = testPolicyText('a');
  const server = await policyServer(t, () => ({ body }));
  const { store, provider, cachePath, lines } = setup(t, server.url);
  await provider.start();
  body = '{"schemaVersion": 2, "users": [{"id": "@x:elsewhere.org", "authType": "plain"}]}';
  await provider.reload();
  t.equal(store.current?.generation, 1, 'the good policy stays');
  t.match(provider.status().lastError?.message, /refused/);
  t.equal(readFileSync(cachePath, 'utf8'), testPolicyText('a'), 'the cache still holds the good policy');
  t.ok(lines.some((l) => l.msg === 'policy refused; the current policy stays in force'), 'with a cache, a restart would use it');
});

t.test('operator review 19, finding 6: without a cache, an invalid remote policy says a restart would start without a policy', async (t) => {
  let body = testPolicyText('a');
  const server = await policyServer(t, () => ({ body }));
  const { provider, lines } = setup(t, server.url, { cachePath: null });
  await provider.start();
  body = '{"schemaVersion": 2, "users": [';
  await provider.reload();
  t.ok(lines.some((l) => l.level === 50 && String(l.msg).includes('but a restart now would start without a policy')));
});

t.test('an invalid remote policy at start falls back to a good cache', async (t) => {
  const server = await policyServer(t, () => ({ body: '{"schemaVersion": 2, "users": [' }));
  const { store, provider, cachePath } = setup(t, server.url);
  writeFileSync(cachePath, testPolicyText('a'));
  await provider.start();
  t.equal(store.current?.source, `http-cache:${cachePath}`);
  t.equal(readFileSync(cachePath, 'utf8'), testPolicyText('a'));
});

t.test('only 200 counts', async (t) => {
  for (const status of [201, 204, 404, 500]) {
    const server = await policyServer(t, () => ({ status, body: testPolicyText('a') }));
    const { store, provider } = setup(t, server.url, { cachePath: null });
    await provider.start();
    t.equal(store.current, null, `status ${status}`);
    t.match(provider.status().lastError?.message, /unexpected HTTP status/);
  }
});

t.test('redirects are followed', async (t) => {
  const target = await policyServer(t, () => ({ body: testPolicyText('a') }));
  const redirecting = await policyServer(t, () => ({ status: 302, headers: { location: target.url } }));
  const { store, provider } = setup(t, redirecting.url, { cachePath: null });
  await provider.start();
  t.equal(redirecting.requests[0]!.authorization, 'Bearer provider-secret-token');
  t.equal(store.current?.generation, 1);
  t.equal(target.requests[0]!.authorization, undefined, 'the token does not follow a redirect to another origin');
});

t.test('the fetch always has a time limit', async (t) => {
  const server = await policyServer(t, () => ({ hang: true }));
  const { store, provider } = setup(t, server.url, { timeoutMs: 200, cachePath: null });
  await provider.start();
  t.equal(store.current, null);
  t.match(provider.status().lastError?.message, /fetching .* failed/);
});

t.test('the body size is bounded, announced or not', async (t) => {
  const server = await policyServer(t, () => ({ body: testPolicyText('a') }));
  const { store, provider } = setup(t, server.url, { maxBytes: 100, cachePath: null });
  await provider.start();
  t.equal(store.current, null);
  t.match(provider.status().lastError?.message, /larger than 100 bytes/);
});

t.test('gzip: asked for as Go asks, decompressed when sent, bounded both ways', async (t) => {
  const gzipped = gzipSync(testPolicyText('zipped'));
  const server = await policyServer(t, () => ({ body: gzipped, headers: { 'content-encoding': 'gzip' } }));
  const { store, provider, stampIs } = setup(t, server.url, { cachePath: null });
  await provider.start();
  t.equal(server.requests[0]!['accept-encoding'], 'gzip');
  t.equal(server.requests[0]!['user-agent'], 'Corporal', 'a User-Agent naming Corporal (Go\'s client sent its own)');
  t.ok(stampIs('zipped')(), 'the decompressed policy is in force');

  // 1 MiB of spaces compresses to about 1 KiB: the decompressed size is what counts.
  const bomb = gzipSync(`${' '.repeat(1024 * 1024)}${testPolicyText('bomb')}`);
  const bombServer = await policyServer(t, () => ({ body: bomb, headers: { 'content-encoding': 'gzip' } }));
  const bounded = setup(t, bombServer.url, { cachePath: null, maxBytes: 64 * 1024 });
  await bounded.provider.start();
  t.equal(bounded.store.current, null);
  t.match(bounded.provider.status().lastError?.message, /larger than 65536 bytes/);

  // Empty gzip members decompress to nothing: the bytes received are bounded too.
  const empties = Buffer.concat(Array.from({ length: 5000 }, () => gzipSync('')));
  const emptyServer = await policyServer(t, () => ({ body: empties, headers: { 'content-encoding': 'gzip' } }));
  const received = setup(t, emptyServer.url, { cachePath: null, maxBytes: 64 * 1024 });
  await received.provider.start();
  t.match(received.provider.status().lastError?.message, /larger than 65536 bytes/);
  t.equal(store.current?.document.identificationStamp, 'test-zipped');
});

t.test('corrupt gzip and unsupported encodings are fetch failures with a reason', async (t) => {
  const cases: [string, Answer, RegExp][] = [
    ['corrupt gzip', { body: Buffer.from('not gzip at all'), headers: { 'content-encoding': 'gzip' } }, /fetching .* failed: .*(header|gzip|zlib)/i],
    ['brotli', { body: testPolicyText('br'), headers: { 'content-encoding': 'br' } }, /Content-Encoding "br"; only gzip/],
  ];
  for (const [name, answer, reason] of cases) {
    const server = await policyServer(t, () => answer);
    const { store, provider } = setup(t, server.url, { cachePath: null });
    await provider.start();
    t.equal(store.current, null, name);
    t.match(provider.status().lastError?.message, reason, name);
  }
});

t.test('stop() ends polling', async (t) => {
  const server = await policyServer(t, () => ({ body: testPolicyText('a') }));
  const { provider } = setup(t, server.url, { reloadIntervalMs: 30 });
  await provider.start();
  await provider.stop();
  const count = server.requests.length;
  await pause(150);
  t.equal(server.requests.length, count);
});

t.test('the URI in logs and sources carries no query or user-info', async (t) => {
  t.equal(safeUri('https://user:pw@policy.example.com:8443/p.json?token=abc#x'), 'https://policy.example.com:8443/p.json');
});
