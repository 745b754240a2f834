import t, { type Test } from 'tap';
import type { UserAuthConfig } from '../../../../src/common/config/types.js';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { derivedPassword } from '../../../../src/common/derived-password.js';
import { createOffloadPool, type OffloadPool } from '../../../../src/offload/pool.js';
import { createRestAuthCache } from '../../../../src/offload/rest-auth-cache.js';
import { createPasswordCheckLimits } from '../../../../src/gateway/login/password-check-limits.js';
import { createLoginInterceptor, type LoginInterceptor, type LoginOutcome } from '../../../../src/gateway/login/login-interceptor.js';
import type { PolicySnapshot } from '../../../../src/policy/snapshot.js';
import { DOMAIN, FIXTURE_USERS, loginTestSnapshot } from '../../../fixtures/login/policy.js';
import { refusedUrl, startRestAuthService, type RestAuthService } from '../../offload/fixtures/rest-auth-service.js';

const SECRET = 'test-auth-shared-secret';
const logger = createSilentLogger();
const userAuth: UserAuthConfig = { RestTimeoutMilliseconds: 2000, RestCacheFallback: false, RestCacheTtlMilliseconds: 60_000, RestCacheSize: 10 };

const offload = createOffloadPool({ Threads: 1, MaxQueue: 64, ConcurrentTasksPerWorker: 8 }, { logger });
t.teardown(() => offload.close());

/** The interceptor; each test's client (no signal) has an address of its own, so only the per-user bound applies. */
function interceptor(pool: OffloadPool = offload, auth: UserAuthConfig = userAuth): (body: Uint8Array, snapshot: PolicySnapshot | null) => ReturnType<LoginInterceptor> {
  const intercept = createLoginInterceptor({ domain: DOMAIN, authSharedSecret: SECRET, pool, restCache: createRestAuthCache(auth), userAuth: auth, logger, limits: createPasswordCheckLimits(60_000) });
  let client = 0;
  return (body, snapshot) => intercept(body, snapshot, { clientAddress: `198.51.100.${++client % 250}` });
}

async function service(t: Test): Promise<RestAuthService> {
  const started = await startRestAuthService();
  t.teardown(() => started.close());
  return started;
}

function loginBody(user: string, password: string, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra }));
}

function expectRewritten(t: Test, outcome: LoginOutcome, userId: string, extra: Record<string, unknown> = {}): void {
  if (outcome.kind !== 'proxy-rewritten') {
    t.fail(`expected proxy-rewritten for ${userId}, got ${JSON.stringify(outcome)}`);
    return;
  }
  t.equal(outcome.userId, userId);
  t.same(JSON.parse(outcome.body.toString('utf8')), {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: userId },
    password: derivedPassword(SECRET, userId),
    ...extra,
  }, `${userId}: rewritten with the derived password`);
}

/** A wrong password is forwarded as a login of exactly `userId` with a fresh unmatchable password (Synapse's rate limits count it). */
function expectRefused(t: Test, outcome: LoginOutcome, userId: string, label: string): void {
  if (outcome.kind !== 'proxy-refused') {
    t.fail(`${label}: expected proxy-refused for ${userId}, got ${JSON.stringify(outcome)}`);
    return;
  }
  t.equal(outcome.userId, userId, label);
  const body = JSON.parse(outcome.body.toString('utf8')) as { type: string; identifier: unknown; password: string };
  t.same([body.type, body.identifier], ['m.login.password', { type: 'm.id.user', user: userId }], label);
  t.match(body.password, /^[0-9a-f]{64}$/, `${label}: a random password`);
  t.not(body.password, derivedPassword(SECRET, userId), `${label}: not the derived password`);
}
const AUTHENTICATOR_ERROR = { kind: 'respond', answer: { status: 403, errcode: 'M_UNKNOWN', message: 'Internal authenticator error' } };

t.test('every local auth type: right password rewritten, wrong password forwarded unmatchable', async (t) => {
  const intercept = interceptor();
  const snapshot = loginTestSnapshot();
  const local = FIXTURE_USERS.filter((user) => user.authType !== 'rest' && user.authType !== 'passthrough' && user.active !== false && user.id !== '@badhex:example.com');
  t.same(new Set(local.map((user) => user.authType)), new Set(['plain', 'md5', 'sha1', 'sha256', 'sha512', 'bcrypt']));
  for (const user of local) {
    expectRewritten(t, await intercept(loginBody(user.id.slice(1).split(':')[0]!.toUpperCase(), user.password), snapshot), user.id);
    expectRefused(t, await intercept(loginBody(user.id, `${user.password}x`), snapshot), user.id, `${user.authType}: wrong password`);
    expectRefused(t, await intercept(loginBody(user.id, ''), snapshot), user.id, `${user.authType}: empty password`);
  }
});

t.test('other fields survive the rewrite (refresh tokens for managed users)', async (t) => {
  const outcome = await interceptor()(loginBody('alice', 'alice-pw', { refresh_token: true, device_id: 'DEV1', initial_device_display_name: 'Laptop' }), loginTestSnapshot());
  expectRewritten(t, outcome, '@alice:example.com', { refresh_token: true, device_id: 'DEV1', initial_device_display_name: 'Laptop' });
});

t.test('a malformed credential is an authenticator error (invalid hex)', async (t) => {
  t.same(await interceptor()(loginBody('badhex', 'x'), loginTestSnapshot()), AUTHENTICATOR_ERROR);
});

t.test('rest: up, wrong, down, slow, garbled, 5xx', async (t) => {
  const svc = await service(t);
  const intercept = interceptor();
  const withUrl = (url: string): PolicySnapshot => loginTestSnapshot({ restUrl: url });
  const restId = '@alice-rest:example.com';
  svc.accounts.set(restId, 'alice-secret');
  expectRewritten(t, await intercept(loginBody(restId, 'alice-secret'), withUrl(`${svc.origin}/users`)), restId);
  t.equal(JSON.parse(svc.requests.at(-1)!.body).user.id, restId, 'the service is asked about the exact policy id');
  expectRefused(t, await intercept(loginBody(restId, 'wrong'), withUrl(`${svc.origin}/users`)), restId, 'success:false');
  t.same(await intercept(loginBody(restId, 'alice-secret'), withUrl(await refusedUrl())), AUTHENTICATOR_ERROR, 'connection refused');
  t.same(await intercept(loginBody(restId, 'alice-secret'), withUrl(`${svc.origin}/garbled`)), AUTHENTICATOR_ERROR, 'garbled JSON');
  t.same(await intercept(loginBody(restId, 'alice-secret'), withUrl(`${svc.origin}/status/502`)), AUTHENTICATOR_ERROR, '502');
  const slow = interceptor(offload, { ...userAuth, RestTimeoutMilliseconds: 200 });
  t.same(await slow(loginBody(restId, 'alice-secret'), withUrl(`${svc.origin}/hang`)), AUTHENTICATOR_ERROR, 'no answer within the timeout');
  svc.mode = 'unavailable';
  t.same(await intercept(loginBody(restId, 'alice-secret'), withUrl(`${svc.origin}/users`)), AUTHENTICATOR_ERROR, 'service answering 503');
});

t.test('decisions without a password check are passed on as they are', async (t) => {
  const intercept = interceptor();
  const snapshot = loginTestSnapshot();
  t.same(await intercept(loginBody('bob', 'bob-pw'), snapshot), { kind: 'proxy', reason: 'passthrough' });
  t.same(await intercept(loginBody('zed', 'pw'), snapshot), { kind: 'proxy', reason: 'unmanaged' });
  t.same(await intercept(Buffer.from('{"type":"m.login.token","token":"t"}'), snapshot), { kind: 'proxy', reason: 'token-login' });
  t.same(await intercept(loginBody('dave', 'dave-pw'), snapshot), { kind: 'respond', answer: { status: 403, errcode: 'M_USER_DEACTIVATED', message: 'Deactivated in policy' } });
  t.same(await intercept(Buffer.from('nope'), snapshot), { kind: 'respond', answer: { status: 403, errcode: 'M_BAD_JSON', message: 'Bad input' } });
  t.same(await intercept(loginBody('alice', 'alice-pw'), null), { kind: 'respond', answer: { status: 403, errcode: 'M_UNKNOWN', message: 'Missing policy' } });
});

t.test('a full pool answers 503 with Retry-After at once', async (t) => {
  const svc = await service(t);
  const tiny = createOffloadPool({ Threads: 1, MaxQueue: 0, ConcurrentTasksPerWorker: 1 }, { logger, retryAfterSeconds: 3 });
  t.teardown(() => tiny.close());
  await tiny.run('ping', {});
  const intercept = interceptor(tiny, { ...userAuth, RestTimeoutMilliseconds: 500 });
  const hanging = loginTestSnapshot({ restUrl: `${svc.origin}/hang` });
  const first = intercept(loginBody('alice-rest', 'alice-secret'), hanging);
  const second = await intercept(loginBody('alice', 'alice-pw'), hanging);
  t.same(second, { kind: 'respond', answer: { status: 503, errcode: 'M_UNKNOWN', message: 'Too many password checks in progress; retry later', headers: [['Retry-After', '3']] } });
  t.same(await first, AUTHENTICATOR_ERROR, 'the check holding the slot ends on its own timeout');
});

t.test('a closed pool answers 503', async (t) => {
  const closed = createOffloadPool({ Threads: 1, MaxQueue: 4, ConcurrentTasksPerWorker: 1 }, { logger });
  await closed.close();
  t.match(await interceptor(closed)(loginBody('alice', 'alice-pw'), loginTestSnapshot()), { kind: 'respond', answer: { status: 503, headers: [['Retry-After', '1']] } });
});
