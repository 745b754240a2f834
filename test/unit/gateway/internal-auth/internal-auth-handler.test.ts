import t from 'tap';
import { pino } from 'pino';
import type { InternalRestAuthConfig, UserAuthConfig } from '../../../../src/common/config/types.js';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { createOffloadPool, type OffloadPool } from '../../../../src/offload/pool.js';
import { createRestAuthCache } from '../../../../src/offload/rest-auth-cache.js';
import { createPasswordCheckLimits } from '../../../../src/gateway/login/password-check-limits.js';
import { createInternalAuthHandler, type InternalAuthAnswer, type InternalAuthHandler } from '../../../../src/gateway/internal-auth/internal-auth-handler.js';
import { decideCheckCredentials } from '../../../../src/gateway/internal-auth/check-credentials.js';
import { FailedAttempts } from '../../../../src/gateway/internal-auth/failed-attempts.js';
import { derivedPassword } from '../../../../src/common/derived-password.js';
import type { PolicySnapshot } from '../../../../src/policy/snapshot.js';
import { DOMAIN, FIXTURE_USERS, loginTestSnapshot } from '../../../fixtures/login/policy.js';
import { startRestAuthService } from '../../offload/fixtures/rest-auth-service.js';

const logger = createSilentLogger();
const SHARED_SECRET = 'internal-auth-test-shared-secret';
const userAuth: UserAuthConfig = { RestTimeoutMilliseconds: 2000, RestCacheFallback: false, RestCacheTtlMilliseconds: 60_000, RestCacheSize: 10 };
const offload = createOffloadPool({ Threads: 1, MaxQueue: 64, ConcurrentTasksPerWorker: 8 }, { logger });
t.teardown(() => offload.close());

function handler(config: Partial<InternalRestAuthConfig> = {}, pool: OffloadPool = offload, log = logger, failedAttempts?: FailedAttempts): InternalAuthHandler {
  return createInternalAuthHandler({
    ...(failedAttempts === undefined ? {} : { failedAttempts }),
    config: { Enabled: true, IPNetworkWhitelist: null, ...config },
    domain: DOMAIN,
    authSharedSecret: SHARED_SECRET,
    pool,
    restCache: createRestAuthCache(userAuth),
    userAuth,
    logger: log,
    limits: createPasswordCheckLimits(60_000),
  });
}

/** The handler's two steps as the phase takes them. */
async function ask(handler: InternalAuthHandler, peerAddress: string, body: Buffer, snapshot: PolicySnapshot | null): Promise<InternalAuthAnswer> {
  const refusal = handler.refuse(peerAddress, false);
  return refusal === null ? handler.check(body, snapshot) : { kind: 'error', answer: refusal };
}

const body = (id: unknown, password: unknown): Buffer => Buffer.from(JSON.stringify({ user: { id, password } }));
const snapshot = loginTestSnapshot();
const REJECTED = { kind: 'json', status: 200, body: '{"auth":{"success":false}}' };
const accepted = (id: string): unknown => ({
  kind: 'json',
  status: 200,
  body: JSON.stringify({ auth: { success: true, mxid: id, profile: { display_name: `Name of ${id}` } } }),
});
const error = (status: number, errcode: string, message: string): unknown => ({ kind: 'error', answer: { status, errcode, message } });

t.test('enabled switch and source address come first', async (t) => {
  for (const Enabled of [null, false]) {
    t.same(await ask(handler({ Enabled }), '127.0.0.1', body('alice', 'alice-pw'), snapshot), error(403, 'M_FORBIDDEN', 'Internal REST auth is not enabled'), `Enabled ${Enabled}`);
  }
  t.same(await ask(handler(), '8.8.8.8', body('alice', 'alice-pw'), snapshot), error(403, 'M_FORBIDDEN', 'Refusing to authenticate this HTTP request (bad source IP)'));
  t.same(await ask(handler(), '8.8.8.8', Buffer.from('garbage'), null), error(403, 'M_FORBIDDEN', 'Refusing to authenticate this HTTP request (bad source IP)'), 'before the body and the policy');
  t.same(await ask(handler({ IPNetworkWhitelist: ['8.8.8.0/24'] }), '8.8.8.8', body('alice', 'alice-pw'), snapshot), accepted('@alice:example.com'));
});

t.test('every auth type: right password succeeds with the policy id and name, wrong is success:false', async (t) => {
  const handle = handler();
  for (const user of FIXTURE_USERS.filter((u) => u.authType !== 'rest' && u.authType !== 'passthrough' && u.active !== false && u.id !== '@badhex:example.com')) {
    t.same(await ask(handle, '10.0.0.5', body(user.id, user.password), snapshot), accepted(user.id), `${user.authType} right`);
    t.same(await ask(handle, '10.0.0.5', body(user.id, `${user.password}-wrong`), snapshot), REJECTED, `${user.authType} wrong`);
  }
  t.same(await ask(handle, '::1', body('ERIN', 'erin-pw'), snapshot), accepted('@Erin:example.com'), 'localpart, other case');
});

t.test('wrong passwords per user are bounded as Synapse bounds failed logins: then 429 without a check (red team 15, F3)', async (t) => {
  let now = 1_000_000;
  const handle = handler({}, offload, logger, new FailedAttempts(undefined, 3, 0.17, () => now));
  for (let i = 0; i < 3; i++) t.same(await ask(handle, '10.0.0.5', body('alice', `guess-${i}`), snapshot), REJECTED, `wrong guess ${i + 1}: checked`);
  const limited = await ask(handle, '10.0.0.5', body('alice', 'alice-pw'), snapshot);
  t.match(limited, { kind: 'error', answer: { status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: 5882 } }, 'the fourth, the right password included, is not checked');
  t.same(await ask(handle, '10.0.0.5', body('carol', 'carol-pw'), snapshot), accepted('@carol:example.com'), 'other users are not affected');
  now += 6000;
  t.same(await ask(handle, '10.0.0.5', body('alice', 'alice-pw'), snapshot), accepted('@alice:example.com'), 'once the bucket has a token again, the right password works');
});

t.test("the derived password the gateway hands Synapse is answered no, and not counted (Synapse asks its REST module before its database)", async (t) => {
  const handle = handler({}, offload, logger, new FailedAttempts(undefined, 3, 0.17, () => 7_000_000));
  for (let i = 0; i < 5; i++) {
    t.same(await ask(handle, '10.0.0.5', body('carol', derivedPassword(SHARED_SECRET, '@carol:example.com')), snapshot), REJECTED, `login ${i + 1} through the gateway`);
  }
  t.same(await ask(handle, '10.0.0.5', body('carol', 'carol-pw'), snapshot), accepted('@carol:example.com'), 'the user is not locked out');
});

t.test('checks without a verdict give their share back', async (t) => {
  const closed = createOffloadPool({ Threads: 1, MaxQueue: 4, ConcurrentTasksPerWorker: 1 }, { logger });
  await closed.close();
  const attempts = new FailedAttempts(undefined, 3, 0.17, () => 8_000_000);
  for (let i = 0; i < 5; i++) t.match(await ask(handler({}, closed, logger, attempts), '10.0.0.5', body('alice', 'alice-pw'), snapshot), { kind: 'error', answer: { status: 503 } });
  t.same(await ask(handler({}, offload, logger, attempts), '10.0.0.5', body('alice', 'alice-pw'), snapshot), accepted('@alice:example.com'), 'five 503s later, still allowed');
});

t.test('rest users, and a rest service that is down', async (t) => {
  const svc = await startRestAuthService();
  t.teardown(() => svc.close());
  svc.accounts.set('@alice-rest:example.com', 'alice-secret');
  const restSnapshot = loginTestSnapshot({ restUrl: `${svc.origin}/users` });
  const handle = handler();
  t.same(await ask(handle, '127.0.0.1', body('alice-rest', 'alice-secret'), restSnapshot), accepted('@alice-rest:example.com'));
  t.same(await ask(handle, '127.0.0.1', body('alice-rest', 'nope'), restSnapshot), REJECTED);
  svc.mode = 'garbled';
  t.same(await ask(handle, '127.0.0.1', body('alice-rest', 'alice-secret'), restSnapshot), error(500, 'M_UNKNOWN', 'Internal authenticator error'));
});

t.test('no check for users Corporal does not vouch for', async (t) => {
  const handle = handler();
  const rows: Array<[unknown, unknown, string]> = [
    ['', 'x', 'empty id'],
    [undefined, 'x', 'missing id'],
    ['@alice:other.org', 'alice-pw', 'foreign domain'],
    ['zed', 'x', 'unmanaged'],
    ['dave', 'dave-pw', 'inactive'],
    ['bob', 'bob-initial', 'passthrough'],
    ['alice', undefined, 'missing password'],
  ];
  for (const [id, password, name] of rows) t.same(await ask(handle, '127.0.0.1', body(id, password), snapshot), REJECTED, name);
  t.same(await ask(handle, '127.0.0.1', body('badhex', 'x'), snapshot), error(500, 'M_UNKNOWN', 'Internal authenticator error'), 'malformed credential');
});

t.test('bad bodies and no policy', async (t) => {
  const handle = handler();
  const BAD = error(400, 'M_BAD_JSON', 'Bad request payload');
  for (const raw of ['nope', '[]', '{"user":"alice"}', '{"user":{"id":5,"password":"x"}}', '{"user":{"id":"alice","password":7}}']) {
    t.same(await ask(handle, '127.0.0.1', Buffer.from(raw), snapshot), BAD, raw);
  }
  t.same(await ask(handle, '127.0.0.1', Buffer.from('{}'), snapshot), REJECTED, 'no user object: empty id');
  t.same(await ask(handle, '127.0.0.1', body('alice', 'alice-pw'), null), error(500, 'M_UNKNOWN', 'Missing policy'));
  t.same(decideCheckCredentials(Buffer.from('nope'), null, DOMAIN), { kind: 'error', reason: 'bad-json', answer: { status: 400, errcode: 'M_BAD_JSON', message: 'Bad request payload' } }, 'a bad body before a missing policy');
});

t.test('a closed pool answers 503', async (t) => {
  const closed = createOffloadPool({ Threads: 1, MaxQueue: 1, ConcurrentTasksPerWorker: 1 }, { logger });
  await closed.close();
  t.match(await ask(handler({}, closed), '127.0.0.1', body('alice', 'alice-pw'), snapshot), { kind: 'error', answer: { status: 503 } });
});

t.test('refusals by source address are logged at most once per interval: any client behind the reverse proxy can cause them', async (t) => {
  const lines: string[] = [];
  const refusing = handler({ IPNetworkWhitelist: ['10.0.0.0/8'] }, offload, pino({ level: 'info' }, { write: (line: string) => lines.push(line) }));
  for (let i = 0; i < 100; i++) t.not(refusing.refuse('127.0.0.1', true), null);
  t.equal(lines.length, 1, 'one warning for 100 refusals (audit 14, F4)');
  t.match(JSON.parse(lines[0]!), { level: 40, peerAddress: '127.0.0.1', forwarded: true, suppressed: 0, msg: 'internal REST auth refused: source address not allowed' });
});
