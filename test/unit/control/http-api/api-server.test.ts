import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpApi } from '../../../../src/control/http-api/api-server.js';
import type { RouteMethod } from '../../../../src/control/http-api/route.js';
import { policyRoutes } from '../../../../src/control/http-api/policy-routes.js';
import { statusRoute } from '../../../../src/control/http-api/status-route.js';
import type { GatewayStatus } from '../../../../src/control/gateway-status.js';
import { StaticFileProvider } from '../../../../src/control/providers/static-file-provider.js';
import { captureLogger, NO_GATEWAY_REQUESTS, testPolicy, testPolicyText, testStore, waitFor } from '../../../support/control-plane.js';

const TOKEN = 'api-secret-token-0123456789';
const MAX_POLICY = 64 * 1024;

const GATEWAY: GatewayStatus = {
  threadsAlive: 2,
  threadsConfigured: 2,
  snapshotGeneration: 1,
  threads: [{ index: 1, alive: true, generation: 1, restarts: 0 }, { index: 2, alive: true, generation: 1, restarts: 0 }],
  metrics: NO_GATEWAY_REQUESTS,
};

async function api(t: Test, options: { bearerToken?: string; timeoutMs?: number; gateway?: () => Promise<GatewayStatus>; heapLimitBytes?: number; requestFullPass?: () => void } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-api-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policyPath = join(dir, 'policy.json');
  writeFileSync(policyPath, testPolicyText('file'));
  const { logger, lines, raw } = captureLogger();
  const { store } = testStore({ logger, ...(options.heapLimitBytes === undefined ? {} : { heapLimitBytes: options.heapLimitBytes }) });
  // A long debounce: in these tests only an explicit reload reads the file.
  const provider = new StaticFileProvider({ path: policyPath, store, logger, debounceMs: 600_000 });
  t.teardown(() => provider.stop());
  const server = await startHttpApi({
    host: '127.0.0.1',
    port: 0,
    bearerToken: options.bearerToken ?? TOKEN,
    timeoutMs: options.timeoutMs ?? 5000,
    logger,
    routes: [
      ...policyRoutes({ store, provider, logger, maxPolicyBytes: MAX_POLICY, ...(options.requestFullPass ? { requestFullPass: options.requestFullPass } : {}) }),
      statusRoute({ store, provider, gatewayStatus: options.gateway ?? (async () => GATEWAY) }),
    ],
  });
  t.teardown(() => server.close(Date.now() + 1000));
  const base = `http://127.0.0.1:${server.port}`;
  const call = async (method: string, path: string, init: { token?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const token = init.token === undefined ? TOKEN : init.token;
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    const response = await fetch(`${base}${path}`, { method, headers, ...(init.body === undefined ? {} : { body: init.body }) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: JSON.parse(text) as Record<string, unknown> };
  };
  return { base, port: server.port, store, provider, policyPath, lines, raw, call };
}

t.test('unknown paths are 404 and wrong methods 405, without auth, as Matrix JSON with CORS', async (t) => {
  const { call } = await api(t);
  for (const path of ['/', '/_matrix/corporal', '/_matrix/corporal/policy/', '/_matrix/corporal/Policy', '/_matrix/corporal/policy/extra']) {
    const answer = await call('GET', path, { token: null });
    t.equal(answer.status, 404, path);
    t.same(answer.json, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    t.equal(answer.headers.get('access-control-allow-origin'), '*');
  }
  for (const [method, path] of [['POST', '/_matrix/corporal/policy'], ['DELETE', '/_matrix/corporal/policy'], ['GET', '/_matrix/corporal/policy/provider/reload'], ['PUT', '/_matrix/corporal/status']] as const) {
    const answer = await call(method, path, { token: null });
    t.equal(answer.status, 405, `${method} ${path}`);
    t.same(answer.json, { errcode: 'M_UNRECOGNIZED', error: 'Method not allowed' });
    t.ok(answer.headers.get('allow'));
  }
  t.equal((await call('POST', '/_matrix/corporal/policy', { token: null })).headers.get('allow'), 'GET, PUT');
});

t.test('authentication: Bearer header or access_token query; 401 missing / bad, compared in constant time', async (t) => {
  const { base, call } = await api(t);
  const routes = [['GET', '/_matrix/corporal/policy'], ['PUT', '/_matrix/corporal/policy'], ['POST', '/_matrix/corporal/policy/provider/reload'], ['GET', '/_matrix/corporal/status']] as const;
  for (const [method, path] of routes) {
    const missing = await call(method, path, { token: null });
    t.equal(missing.status, 401, `${method} ${path} without a token`);
    t.same(missing.json, { errcode: 'M_MISSING_TOKEN', error: 'Missing access token' });
    t.equal(missing.headers.get('access-control-allow-origin'), '*');
    for (const bad of ['wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const answer = await call(method, path, { token: bad });
      t.equal(answer.status, 401);
      t.same(answer.json, { errcode: 'M_UNKNOWN_TOKEN', error: 'Bad access token' });
    }
  }
  t.equal((await call('GET', '/_matrix/corporal/policy')).status, 200, 'Bearer header');
  t.equal((await call('GET', '/_matrix/corporal/policy', { token: null, headers: { authorization: `bearer ${TOKEN}` } })).status, 200, 'scheme is case-insensitive');
  t.equal((await fetch(`${base}/_matrix/corporal/policy?access_token=${TOKEN}`)).status, 200, 'query parameter');
  t.equal((await fetch(`${base}/_matrix/corporal/policy?access_token=nope`)).status, 401);
  t.equal((await call('GET', '/_matrix/corporal/policy', { token: null, headers: { authorization: `Basic ${TOKEN}` } })).status, 401, 'another scheme is no token');
});

t.test('an empty configured token refuses everyone', async (t) => {
  const { call } = await api(t, { bearerToken: '' });
  t.equal((await call('GET', '/_matrix/corporal/policy', { token: '' })).status, 401);
  t.equal((await call('GET', '/_matrix/corporal/policy', { token: 'anything' })).json['errcode'], 'M_UNKNOWN_TOKEN');
});

t.test('GET and PUT /_matrix/corporal/policy', async (t) => {
  const { call, store } = await api(t);
  t.same((await call('GET', '/_matrix/corporal/policy')).json, { policy: null });

  const put = await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('pushed') });
  t.equal(put.status, 200);
  t.same(put.json, {});
  t.equal(store.current?.source, 'api');
  const got = await call('GET', '/_matrix/corporal/policy');
  // As matrix-corporal answered (its structs re-serialised): every field with its default.
  const pushed = testPolicy('pushed');
  t.strictSame(got.json, {
    policy: {
      schemaVersion: 2,
      identificationStamp: 'test-pushed',
      flags: {
        allowCustomUserDisplayNames: false, allowCustomUserAvatars: false, allowCustomPassthroughUserPasswords: false,
        allowUnauthenticatedPasswordResets: false, forbidRoomCreation: true, forbidEncryptedRoomCreation: false,
        forbidUnencryptedRoomCreation: false, allow3pidLogin: false, forbid3pidChanges: false,
      },
      managedRoomIds: pushed['managedRoomIds'],
      hooks: [],
      users: (pushed['users'] as Record<string, unknown>[]).map((user) => ({
        ...user, avatarUri: '', forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
      })),
    },
  }, 'the normalised policy: defaults filled in');
  t.equal(got.headers.get('cache-control'), 'no-store');

  const again = await call('PUT', '/_matrix/corporal/policy', { body: JSON.stringify(testPolicy('pushed')) });
  t.equal(again.status, 200, 'the same policy again is fine');
  t.equal(store.current?.generation, 1, 'and changes nothing');

  const trailing = await call('PUT', '/_matrix/corporal/policy', { body: '{"schemaVersion": 2, "users": [],}' });
  t.equal(trailing.status, 200, 'trailing commas are tolerated, as in files');
  t.equal(store.current?.generation, 2);
  t.has((await call('GET', '/_matrix/corporal/policy')).json, { policy: { schemaVersion: 2, users: [], hooks: [], managedRoomIds: [] } });
});

t.test('GET /_matrix/corporal/policy answers a policy that, pushed back, changes nothing', async (t) => {
  const { call, store } = await api(t);
  const schema2 = { SchemaVersion: 2, users: [{ id: '@new:example.com', authType: 'plain', authCredential: 'pw', colour: 'red' }] };
  const schema1 = {
    schemaVersion: 1,
    managedRoomIds: ['!room:example.com'],
    users: [{ id: '@old:example.com', authType: 'plain', authCredential: 'pw', joinedRoomIds: ['!room:example.com'], colour: 'red' }],
  };
  for (const [name, policy] of [['schema 2', schema2], ['schema 1', schema1]] as const) {
    t.equal((await call('PUT', '/_matrix/corporal/policy', { body: JSON.stringify(policy) })).status, 200, name);
    const generation = store.current?.generation;
    const got = (await call('GET', '/_matrix/corporal/policy')).json as { policy: Record<string, unknown> };
    const pushedBack = await call('PUT', '/_matrix/corporal/policy', { body: JSON.stringify(got.policy) });
    t.equal(pushedBack.status, 200);
    t.equal(store.current?.generation, generation, `${name}: the same policy, nothing changed`);
    t.notOk(JSON.stringify(got.policy).includes('powerLevelsManaged'), `${name}: no derived field shown (no policy may contain one)`);
    if (name === 'schema 2') t.notOk(JSON.stringify(got.policy).includes('colour'), 'unknown keys dropped, as matrix-corporal did');
    else t.same(got.policy, schema1, 'schema 1 (refused by matrix-corporal) is shown as received');
  }
});

t.test('PUT of something that is not JSON: 400 M_BAD_JSON with the position', async (t) => {
  const { call, store } = await api(t);
  for (const body of ['', 'nope', '{"schemaVersion": 2,\n "users": [}']) {
    const answer = await call('PUT', '/_matrix/corporal/policy', { body });
    t.equal(answer.status, 400, JSON.stringify(body));
    t.equal(answer.json['errcode'], 'M_BAD_JSON');
    t.equal(answer.json['error'], 'Bad body payload');
    t.match((answer.json['issues'] as unknown[])[0], { line: Number, column: Number, message: String });
  }
  const latin1 = await call('PUT', '/_matrix/corporal/policy', { body: Buffer.from([0x7b, 0xff, 0x7d]) });
  t.equal(latin1.status, 400);
  t.same(latin1.json['issues'], [{ pointer: '', message: 'the body is not valid UTF-8' }]);
  for (const body of ['[]', '"hello"', 'null', '5']) {
    const answer = await call('PUT', '/_matrix/corporal/policy', { body });
    t.same([answer.status, answer.json['errcode'], answer.json['error']], [400, 'M_BAD_JSON', 'Bad body payload'], `${body}: JSON, but nothing a policy decodes from (as matrix-corporal)`);
    t.same(answer.json['issues'], [{ pointer: '', message: 'the policy must be a JSON object' }]);
  }
  t.equal(store.current, null);
});

t.test('PUT of an invalid policy: 400 M_INVALID_PARAM listing every issue; the old policy stays', async (t) => {
  const { call, store } = await api(t);
  await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('good') });
  const bad = testPolicy('bad');
  const users = bad['users'] as Array<Record<string, unknown>>;
  users[0]!['id'] = '@someone:elsewhere.org';
  users[1]!['authType'] = 'rot13';
  const answer = await call('PUT', '/_matrix/corporal/policy', { body: JSON.stringify(bad) });
  t.equal(answer.status, 400);
  t.equal(answer.json['errcode'], 'M_INVALID_PARAM');
  t.match(answer.json['error'], /^Failed to set policy: \/users\/0\/id: .*\(and 1 more error\)$/);
  t.same((answer.json['issues'] as Array<{ pointer: string }>).map((i) => i.pointer), ['/users/0/id', '/users/1/authType']);
  t.same(answer.json['warnings'], []);
  t.equal(store.current?.document.identificationStamp, 'test-good');

  // Quality review 5, S2: the count names every error, also those past the listed 1,000.
  const many = await call('PUT', '/_matrix/corporal/policy', { body: JSON.stringify({ schemaVersion: 2, users: [], managedRoomIds: Array.from({ length: 5000 }, (_, i) => i) }) });
  t.equal(many.status, 400);
  t.match(many.json['error'], /^Failed to set policy: \/managedRoomIds\/0: expected a string, got an integer \(and 4999 more errors\)$/);
  t.equal((many.json['issues'] as unknown[]).length, 1001);
  t.equal(store.lastRejection?.errorCount, 5000);
});

t.test('PUT of a policy too large for the heap: 413 M_TOO_LARGE before parsing; the old policy stays', async (t) => {
  const { call, store } = await api(t, { heapLimitBytes: 1024 * 1024 });
  t.equal((await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('good') })).status, 200, 'a small policy fits');
  // 2,000 objects in a top-level list estimate more than 1 MiB, more than half of the 1 MiB heap.
  const containers = `{"schemaVersion": 2, "users": [], "managedRoomIds": [${'{},'.repeat(1999)}{}]}`;
  const answer = await call('PUT', '/_matrix/corporal/policy', { body: containers });
  t.equal(answer.status, 413);
  t.equal(answer.json['errcode'], 'M_TOO_LARGE');
  t.match(answer.json['error'], /^Failed to set policy: \(document\): the policy would need about \d+ MiB of memory to load, more than \d+ MiB \(half of this process' 1 MiB heap\); give Corporal a larger heap \(NODE_OPTIONS=--max-old-space-size=\d+ or more\)/);
  t.equal(store.lastRejection?.stage, 'size');
  t.equal(store.current?.document.identificationStamp, 'test-good');
});

t.test('bodies are bounded: 413 M_TOO_LARGE, announced or streamed', async (t) => {
  const { port, call, store } = await api(t);
  const big = `{"schemaVersion": 2, "identificationStamp": "${'x'.repeat(MAX_POLICY)}"}`;
  const announced = await call('PUT', '/_matrix/corporal/policy', { body: big });
  t.equal(announced.status, 413);
  t.same(announced.json, { errcode: 'M_TOO_LARGE', error: `Request body too large (the limit is ${MAX_POLICY} bytes)` });
  t.equal(announced.headers.get('connection'), 'close', 'the unread rest is not drained');

  const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path: '/_matrix/corporal/policy', headers: { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (let i = 0; i < 8; i += 1) req.write('x'.repeat(MAX_POLICY / 4));
    req.end();
  });
  t.equal(streamed.status, 413);
  t.equal(JSON.parse(streamed.body).errcode, 'M_TOO_LARGE');

  const small = await call('POST', '/_matrix/corporal/policy/provider/reload', { body: 'y'.repeat(100 * 1024) });
  t.equal(small.status, 413, 'endpoints without a policy body take small bodies only');
  t.equal(store.current, null);
});

t.test('POST …/provider/reload answers at once and reloads in the background', async (t) => {
  const { call, store, policyPath } = await api(t);
  writeFileSync(policyPath, testPolicyText('reloaded'));
  const answer = await call('POST', '/_matrix/corporal/policy/provider/reload');
  t.equal(answer.status, 200);
  t.same(answer.json, {});
  await waitFor('the reloaded policy', () => store.current?.document.identificationStamp === 'test-reloaded');
});

t.test('parity review 18, P3: re-sending or reloading an unchanged policy requests a full pass; a changed one does not', async (t) => {
  let passes = 0;
  const { call, store, policyPath, provider } = await api(t, { requestFullPass: () => { passes++; } });
  t.equal((await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('pushed') })).status, 200);
  t.equal(passes, 0, 'a new policy starts its own pass');
  t.equal((await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('pushed') })).status, 200);
  t.equal(passes, 1, 'the same policy again: one full pass requested, as matrix-corporal ran one');

  writeFileSync(policyPath, testPolicyText('reloaded'));
  t.equal((await call('POST', '/_matrix/corporal/policy/provider/reload')).status, 200);
  await waitFor('the reloaded policy', () => store.current?.document.identificationStamp === 'test-reloaded');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(passes, 1, 'a reload that changed the policy: no extra pass');
  const generation = store.current?.generation;
  t.equal((await call('POST', '/_matrix/corporal/policy/provider/reload')).status, 200);
  await waitFor('a pass for the unchanged reload', () => passes === 2);
  t.equal(store.current?.generation, generation, 'the policy stayed as it was');

  writeFileSync(policyPath, '{ not json');
  t.equal((await call('POST', '/_matrix/corporal/policy/provider/reload')).status, 200);
  await waitFor('the refused reload', () => provider.status().lastError !== null);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(passes, 2, 'a reload that failed requests no pass');
});

t.test('GET /_matrix/corporal/status', async (t) => {
  const { call } = await api(t, {});
  const empty = await call('GET', '/_matrix/corporal/status');
  t.equal(empty.status, 200);
  const { metrics: _counters, ...threads } = GATEWAY;
  t.match(empty.json, { policy: null, lastRejection: null, provider: { type: 'static_file', lastSuccessAt: null, lastError: null }, gateway: threads, reconciler: null });
  t.notOk('metrics' in (empty.json['gateway'] as object), 'the request counters are for /metrics');

  await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('a') });
  await call('PUT', '/_matrix/corporal/policy', { body: '{"schemaVersion": 7}' });
  const status = await call('GET', '/_matrix/corporal/status');
  const policy = status.json['policy'] as Record<string, unknown>;
  t.match(policy, { generation: 1, hash: /^[0-9a-f]{64}$/, source: 'api', identificationStamp: 'test-a', warnings: [] });
  t.ok(!Number.isNaN(Date.parse(policy['loadedAt'] as string)), 'loadedAt is an ISO date');
  t.match(policy['summary'], { users: { total: 2, active: 2, byAuthType: { sha256: 2 } }, managedRooms: 1, hooks: { total: 0 } });
  t.match(status.json['lastRejection'], { source: 'api', stage: 'validation', at: String, errors: [{ pointer: '/schemaVersion' }] });
  t.notOk(JSON.stringify(status.json).includes('a'.repeat(64)), 'no credentials in the status');
});

t.test('status when the supervisor does not answer', async (t) => {
  const { call } = await api(t, { gateway: async () => { throw new Error('no answer from the supervisor within 2000 ms'); } });
  const status = await call('GET', '/_matrix/corporal/status');
  t.equal(status.status, 200);
  t.same(status.json['gateway'], { error: 'no answer from the supervisor within 2000 ms' });
});

t.test('paths are matched segment by segment after percent-decoding', async (t) => {
  const { call } = await api(t);
  t.equal((await call('GET', '/_matrix/corporal/%70olicy')).status, 200);
  t.equal((await call('GET', '/_matrix/corporal%2Fpolicy')).status, 404, 'an encoded slash stays inside its segment');
  t.equal((await call('GET', '/_matrix/corporal/%zz')).status, 404, 'bad percent-encoding is no match');
});

/** Opens a PUT /policy that announces `length` bytes and sends only its first byte; resolves once the server holds it. */
async function heldPush(t: Test, port: number, lines: Array<Record<string, unknown>>, length: number): Promise<{ socket: ReturnType<typeof connect>; received: () => string }> {
  let received = '';
  const socket = connect(port, '127.0.0.1', () => socket.write(`PUT /_matrix/corporal/policy HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${length}\r\n\r\n{`));
  socket.setEncoding('utf8').on('data', (c: string) => { received += c; });
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  // The server reserves the announced length when it starts reading; a status call behind it shows
  // that it has got that far (requests are handled in arrival order on separate connections).
  await waitFor('the held push to be read', async () => lines.length > 0 || (await fetch(`http://127.0.0.1:${port}/_matrix/corporal/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).ok);
  return { socket, received: () => received };
}

t.test('request bodies held at once are bounded: a second large push gets 503 while the first is held', async (t) => {
  const { port, call, lines, store } = await api(t);
  const held = await heldPush(t, port, lines, MAX_POLICY - 10);
  const busy = await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('second') });
  t.equal(busy.status, 503);
  t.same(busy.json, { errcode: 'M_UNKNOWN', error: 'The HTTP API is receiving too many large request bodies at once; try again shortly' });
  t.equal(busy.headers.get('connection'), 'close', 'its body is not read');
  t.ok(lines.some((line) => line['msg'] === 'HTTP API request body refused: the bodies being held fill the budget (503)'), 'warned');
  t.equal((await call('GET', '/_matrix/corporal/policy')).status, 200, 'requests without a body go on');

  // Streamed (chunked) bodies draw on the budget chunk by chunk.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path: '/_matrix/corporal/policy', headers: { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write(testPolicyText('chunked'));
    req.end();
  });
  t.equal(chunked, 503);

  // The first push completes: its bytes come back, and the next push fits.
  const body = `{"schemaVersion": 2, "users": [], "identificationStamp": "${'h'.repeat(MAX_POLICY - 10 - 60)}"`;
  held.socket.write(`${body.slice(1)}${' '.repeat(MAX_POLICY - 10 - body.length - 1)}}`);
  await waitFor('the held push to be answered', () => /^HTTP\/1\.1 200/.test(held.received()));
  t.equal(store.current?.document.identificationStamp, 'h'.repeat(MAX_POLICY - 10 - 60));
  t.equal((await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('third') })).status, 200);
  t.equal(store.current?.document.identificationStamp, 'test-third');
});

t.test('a push whose client goes away mid-body gives its bytes back', async (t) => {
  const { port, call, lines } = await api(t);
  const held = await heldPush(t, port, lines, MAX_POLICY - 10);
  t.equal((await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('x') })).status, 503, 'held');
  held.socket.destroy();
  await waitFor('the server to notice', () => lines.some((line) => line['msg'] === 'HTTP API client went away'));
  t.equal((await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('after') })).status, 200, 'the budget is whole again');
});

t.test('a request that is not complete within the time limit is cut off', async (t) => {
  const { port } = await api(t, { timeoutMs: 300 });
  const answer = await new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`PUT /_matrix/corporal/policy HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100\r\n\r\n{`));
    let received = '';
    socket.setEncoding('utf8').on('data', (c: string) => { received += c; }).on('close', () => resolve(received));
  });
  t.match(answer, /^HTTP\/1\.1 408/, 'answered 408 and closed');
  t.same(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), { errcode: 'M_UNKNOWN', error: 'Request not received within the time limit' }, 'with a Matrix error');
});

t.test('requests Node cannot parse get a Matrix error too, and the connection closes (audit 14)', async (t) => {
  const { port } = await api(t);
  const exchange = (raw: string) => new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(raw));
    let received = '';
    socket.setEncoding('utf8').on('data', (c: string) => { received += c; }).on('close', () => resolve(received)).on('error', () => undefined);
  });
  const table: Array<[string, string, number, string]> = [
    ['a malformed request line', 'NOT HTTP AT ALL\r\n\r\n', 400, 'M_UNKNOWN'],
    ['a bad header', 'GET /_matrix/corporal/policy HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 400, 'M_UNKNOWN'],
    ['headers over 16 KiB', `GET /_matrix/corporal/policy HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, 431, 'M_TOO_LARGE'],
  ];
  for (const [what, raw, status, errcode] of table) {
    const answer = await exchange(raw);
    t.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), `${what}: ${status}`);
    t.match(answer, /\r\naccess-control-allow-origin: \*\r\n/i, `${what}: the CORS header`);
    t.match(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), { errcode }, `${what}: a Matrix error`);
  }
  t.equal((await exchange(`GET /_matrix/corporal/policy HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)).split('\r\n')[0], 'HTTP/1.1 200 OK', 'the server still answers');
});

/** A server with one route, `id` (GET unless `method` says otherwise), answered by `handle`; the idle limit is 200 ms (`timeoutMs` 100). */
async function oneRouteServer(t: Test, id: string, handle: RouteMethod['handle'], handlerLimitMs?: number, method = 'GET') {
  const { logger, lines } = captureLogger();
  const server = await startHttpApi({
    host: '127.0.0.1',
    port: 0,
    bearerToken: TOKEN,
    timeoutMs: 100,
    ...(handlerLimitMs === undefined ? {} : { handlerLimitMs }),
    logger,
    routes: [{ pattern: `/_matrix/corporal/${id}`, methods: { [method]: { id, maxBodyBytes: 1024, handle } } }],
  });
  t.teardown(() => server.close(Date.now() + 1000));
  return { server, lines };
}

t.test('verification round 13, F4: a handler that throws is answered 500, also after its body was read', async (t) => {
  const { server, lines } = await oneRouteServer(t, 'broken', () => {
    throw new Error('boom');
  }, undefined, 'PUT');
  for (const body of ['', '{"ten":"bytes"}']) {
    const answer = await fetch(`http://127.0.0.1:${server.port}/_matrix/corporal/broken`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body });
    t.equal(answer.status, 500);
    t.same(await answer.json(), { errcode: 'M_UNKNOWN', error: 'Internal server error' });
  }
  t.ok(lines.some((line) => line['msg'] === 'HTTP API handler failed'), 'logged as a failure, not as a client gone');
  t.notOk(lines.some((line) => line['msg'] === 'HTTP API client went away'));
});

t.test('red team 11 F3: a handler slower than the idle limit still gets its answer out; idle connections are closed', async (t) => {
  const { server, lines } = await oneRouteServer(t, 'slow', () => new Promise((resolve) => setTimeout(() => resolve({ status: 500, body: { applied: true } }), 600)));
  const answer = await fetch(`http://127.0.0.1:${server.port}/_matrix/corporal/slow`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(answer.status, 500);
  t.same(await answer.json(), { applied: true }, 'the answer arrives after three idle limits');
  t.match(lines.find((line) => line['route'] === 'slow'), { status: 500 });
  t.notOk(lines.some((line) => line['delivered'] === false));

  // Connections that send nothing, or stop half-way through a request line, are still closed
  // (Node answers 408 at `headersTimeout`).
  for (const sent of ['', 'GET /_matrix/corporal/sl']) {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        if (sent !== '') socket.write(sent);
      });
      socket.resume(); // read the 408: an unread answer would keep 'close' from being emitted
      socket.on('close', () => resolve(true));
      socket.on('error', () => undefined);
      setTimeout(() => resolve(false), 5_000).unref();
    });
    t.ok(closed, `a connection that sent ${JSON.stringify(sent)} and then nothing is closed`);
  }

});

t.test('quality review 5, S5: a client that stops reading an answer is cut after the idle limit, not the handler limit', async (t) => {
  const size = 32 * 1024 * 1024; // more than loopback socket buffers hold
  const { server } = await oneRouteServer(t, 'big', () => ({ status: 200, body: { data: 'x'.repeat(size) } }), 600_000);
  const received = await new Promise<number>((resolve) => {
    let bytes = 0;
    const socket = connect(server.port, '127.0.0.1', () => socket.write(`GET /_matrix/corporal/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`));
    socket.on('error', () => undefined);
    socket.once('data', (chunk: Buffer) => {
      bytes += chunk.length;
      socket.pause();
      // Many idle limits later, read on: a cut connection ends short of the answer.
      setTimeout(() => {
        socket.on('data', (more: Buffer) => { bytes += more.length; });
        socket.on('close', () => resolve(bytes));
        socket.resume();
        setTimeout(() => resolve(bytes), 5_000).unref();
      }, 2_000);
    });
  });
  t.ok(received < size, `the connection was cut: ${received} of ${size}+ bytes arrived`);
});

t.test('verification round 12: a handler that never answers loses its connection after the handler limit', async (t) => {
  const { server } = await oneRouteServer(t, 'never', () => new Promise(() => undefined), 500);
  const closed = await new Promise<boolean>((resolve) => {
    const socket = connect(server.port, '127.0.0.1', () => socket.write(`GET /_matrix/corporal/never HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`));
    socket.resume();
    socket.on('close', () => resolve(true));
    socket.on('error', () => undefined);
    setTimeout(() => resolve(false), 5_000).unref();
  });
  t.ok(closed, 'closed once the handler limit passed');
});

t.test('one info line per request; never the token, the query string or the policy', async (t) => {
  const { base, call, lines, raw } = await api(t);
  await call('PUT', '/_matrix/corporal/policy', { body: testPolicyText('a') });
  await fetch(`${base}/_matrix/corporal/policy?access_token=${TOKEN}`);
  await call('GET', '/_matrix/corporal/status', { token: 'wrong-token-value' });
  const requestLines = lines.filter((l) => l.msg === 'HTTP API request');
  t.same(requestLines.map((l) => [l.level, l.method, l.path, l.route, l.status]), [
    [30, 'PUT', '/_matrix/corporal/policy', 'policy.put', 200],
    [30, 'GET', '/_matrix/corporal/policy', 'policy.get', 200],
    [30, 'GET', '/_matrix/corporal/status', 'status.get', 401],
  ]);
  const all = raw.join('\n');
  t.notOk(all.includes(TOKEN));
  t.notOk(all.includes('wrong-token-value'));
  t.notOk(all.includes('a'.repeat(64)), 'no credential from the policy');
});
