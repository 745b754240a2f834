import t from 'tap';
import type { UserAuthConfig } from '../../../../src/common/config/types.js';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { derivedPassword } from '../../../../src/common/derived-password.js';
import { createOffloadPool, type OffloadPool } from '../../../../src/offload/pool.js';
import { createRestAuthCache } from '../../../../src/offload/rest-auth-cache.js';
import { createPasswordCheckLimits } from '../../../../src/gateway/login/password-check-limits.js';
import { createUiaInterceptor, type UiaInterceptor, type UiaOutcome } from '../../../../src/gateway/uia/uia-interceptor.js';
import type { SnapshotUser } from '../../../../src/policy/snapshot.js';
import { loginTestSnapshot } from '../../../fixtures/login/policy.js';
import { startRestAuthService } from '../../offload/fixtures/rest-auth-service.js';

const SECRET = 'uia-secret';
const logger = createSilentLogger();
const userAuth: UserAuthConfig = { RestTimeoutMilliseconds: 2000, RestCacheFallback: false, RestCacheTtlMilliseconds: 60_000, RestCacheSize: 10 };
const offload = createOffloadPool({ Threads: 1, MaxQueue: 64, ConcurrentTasksPerWorker: 8 }, { logger });
t.teardown(() => offload.close());

/** The interceptor, for one client (no signal) at 198.51.100.1. */
function interceptor(pool: OffloadPool = offload): (user: SnapshotUser, requesterId: string, body: Uint8Array) => ReturnType<UiaInterceptor> {
  const intercept = createUiaInterceptor({ authSharedSecret: SECRET, pool, restCache: createRestAuthCache(userAuth), userAuth, logger, limits: createPasswordCheckLimits(60_000) });
  return (user, requesterId, body) => intercept(user, requesterId, body, { clientAddress: '198.51.100.1' });
}

const snapshot = loginTestSnapshot();
const user = (id: string) => snapshot.users.get(id)!;
const deleteDevices = (password: string): Buffer =>
  Buffer.from(JSON.stringify({ devices: ['D1'], auth: { type: 'm.login.password', user: 'alice', password, session: 'S1' } }));

/** The password in a forwarded body, after checking the rest of the stage. */
function forwardedPassword(outcome: UiaOutcome, requesterId: string): string {
  if (outcome.kind !== 'proxy' || outcome.body === null) throw new Error(`expected a rewritten body, got ${JSON.stringify(outcome)}`);
  const body = JSON.parse(outcome.body.toString()) as { devices: string[]; auth: Record<string, unknown> };
  if (JSON.stringify(body.devices) !== '["D1"]' || body.auth['session'] !== 'S1' || 'user' in body.auth) throw new Error('body not kept');
  if (JSON.stringify(body.auth['identifier']) !== JSON.stringify({ type: 'm.id.user', user: requesterId })) throw new Error('identifier not normalised');
  return body.auth['password'] as string;
}

t.test('right password: the derived password is forwarded', async (t) => {
  const outcome = await interceptor()(user('@frank:example.com'), '@frank:example.com', deleteDevices('frank-pw'));
  t.equal(forwardedPassword(outcome, '@frank:example.com'), derivedPassword(SECRET, '@frank:example.com'));
});

t.test('wrong password, authenticator error, inactive user: a fresh unmatchable password', async (t) => {
  const intercept = interceptor();
  const seen = new Set<string>();
  const cases: Array<[string, string]> = [['@alice:example.com', 'wrong'], ['@alice:example.com', ''], ['@badhex:example.com', 'x'], ['@dave:example.com', 'dave-pw']];
  for (const [id, password] of cases) {
    const forwarded = forwardedPassword(await intercept(user(id), id, deleteDevices(password)), id);
    t.match(forwarded, /^[0-9a-f]{64}$/, `${id} ${JSON.stringify(password)}`);
    t.not(forwarded, derivedPassword(SECRET, id));
    t.not(forwarded, password);
    seen.add(forwarded);
  }
  t.equal(seen.size, cases.length, 'never the same twice');
});

t.test('rest users are verified by their service', async (t) => {
  const svc = await startRestAuthService();
  t.teardown(() => svc.close());
  svc.accounts.set('@alice-rest:example.com', 'alice-secret');
  const restSnapshot = loginTestSnapshot({ restUrl: `${svc.origin}/users` });
  const restUser = restSnapshot.users.get('@alice-rest:example.com')!;
  const intercept = interceptor();
  t.equal(forwardedPassword(await intercept(restUser, restUser.id, deleteDevices('alice-secret')), restUser.id), derivedPassword(SECRET, restUser.id));
  t.match(forwardedPassword(await intercept(restUser, restUser.id, deleteDevices('nope')), restUser.id), /^[0-9a-f]{64}$/);
  svc.mode = 'unavailable';
  t.match(forwardedPassword(await intercept(restUser, restUser.id, deleteDevices('alice-secret')), restUser.id), /^[0-9a-f]{64}$/, 'service down');
});

t.test('bodies without a password stage are forwarded unchanged', async (t) => {
  t.same(await interceptor()(user('@alice:example.com'), '@alice:example.com', Buffer.from('{"devices":["D1"]}')), { kind: 'proxy', body: null });
});

t.test('a closed pool answers 503 instead of guessing', async (t) => {
  const closed = createOffloadPool({ Threads: 1, MaxQueue: 1, ConcurrentTasksPerWorker: 1 }, { logger });
  await closed.close();
  t.match(await interceptor(closed)(user('@alice:example.com'), '@alice:example.com', deleteDevices('alice-pw')), { kind: 'respond', answer: { status: 503 } });
});
