import t from 'tap';
import type { Worker } from 'node:worker_threads';
import type { UserAuthConfig } from '../../../../src/common/config/types.js';
import { CorporalError } from '../../../../src/common/errors.js';
import { checkPassword, type PasswordChecker, type PasswordCheckRequest } from '../../../../src/gateway/login/check-password.js';
import { createPasswordCheckLimits, MAX_CHECKS_PER_ADDRESS, MAX_CHECKS_PER_USER, REFUSED_LOG_INTERVAL_MS } from '../../../../src/gateway/login/password-check-limits.js';
import { OFFLOAD_ABORTED, OFFLOAD_WAIT_EXPIRED, type OffloadPool, type OffloadRunOptions } from '../../../../src/offload/pool.js';
import { createRestAuthCache } from '../../../../src/offload/rest-auth-cache.js';
import type { TaskKind, TaskOutput } from '../../../../src/offload/task-types.js';
import type { SnapshotUser } from '../../../../src/policy/snapshot.js';
import { captureLogger } from '../../../support/control-plane.js';

const userAuth: UserAuthConfig = { RestTimeoutMilliseconds: 2000, RestCacheFallback: false, RestCacheTtlMilliseconds: 60_000, RestCacheSize: 10 };
const PASSWORD = 'correct horse battery staple';

function managedUser(id: string): SnapshotUser {
  return {
    id, active: true, authType: 'bcrypt', authCredential: '$2b$04$unused', displayName: id, avatarUri: '', joinedRooms: new Map(),
    powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
  };
}
const CAROL = managedUser('@carol:example.com');
const DAVE = managedUser('@dave:example.com');

/** One call the fake pool received; the test settles it. */
interface PendingRun {
  userId: string;
  options: OffloadRunOptions;
  succeed(authenticated: boolean): void;
  fail(err: unknown): void;
}

/** A pool whose tasks settle when the test says so. */
class FakePool implements OffloadPool {
  readonly runs: PendingRun[] = [];
  readonly queueSize = 0;
  readonly threads: readonly Worker[] = [];

  run<K extends TaskKind>(_kind: K, input: never, options: OffloadRunOptions = {}): Promise<TaskOutput<K>> {
    return new Promise((resolve, reject) => {
      this.runs.push({
        userId: (input as { userId: string }).userId,
        options,
        succeed: (authenticated) => resolve({ ok: true, value: { authenticated } } as TaskOutput<K>),
        fail: reject,
      });
    });
  }

  async close(): Promise<void> {}
}

function checker(pool: OffloadPool, clock = { now: 0 }) {
  const captured = captureLogger('info');
  const value: PasswordChecker = {
    pool,
    restCache: createRestAuthCache(userAuth),
    userAuth,
    logger: captured.logger,
    limits: createPasswordCheckLimits(45_000, () => clock.now),
  };
  return { checker: value, ...captured };
}

/** A request with no client address (as internal REST auth makes them) unless one is given. */
const req = (purpose: string, signal?: AbortSignal, clientAddress: string | null = null): PasswordCheckRequest => ({ purpose, signal, clientAddress });

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test(`at most ${MAX_CHECKS_PER_USER} checks per user in the pool; the next gets 429 M_LIMIT_EXCEEDED at once; other users unaffected`, async (t) => {
  const pool = new FakePool();
  const { checker: c } = checker(pool);
  const first = checkPassword(c, CAROL, PASSWORD, req('login'));
  const second = checkPassword(c, CAROL, 'wrong', req('uia'));
  const refused = await checkPassword(c, CAROL, PASSWORD, req('internal-rest-auth'));
  t.match(refused, {
    kind: 'unavailable',
    answer: { status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: 1000, headers: [['Retry-After', '1']] },
  }, 'a third check for the same user, whichever the endpoint');
  t.equal(pool.runs.length, 2, 'the refused check never reached the pool');
  const other = checkPassword(c, DAVE, PASSWORD, req('login'));
  t.equal(pool.runs.length, 3, 'another user still gets a place');
  pool.runs[0]!.succeed(true);
  t.same(await first, { kind: 'authenticated' });
  const again = checkPassword(c, CAROL, PASSWORD, req('login'));
  t.equal(pool.runs.length, 4, 'a settled check gives its place back');
  for (const run of pool.runs.slice(1)) run.succeed(false);
  t.same(await Promise.all([second, other, again]), [{ kind: 'rejected' }, { kind: 'rejected' }, { kind: 'rejected' }]);
  t.equal(c.limits.perUser.size, 0, 'nothing left in flight');
});

t.test(`at most ${MAX_CHECKS_PER_ADDRESS} checks per client address (an IPv6 client's /64), whichever the users; Synapse's own calls are not counted`, async (t) => {
  const pool = new FakePool();
  const { checker: c, lines } = checker(pool);
  const users = Array.from({ length: MAX_CHECKS_PER_ADDRESS + 1 }, (_, i) => managedUser(`@u${i}:example.com`));
  const admitted = users.slice(0, MAX_CHECKS_PER_ADDRESS).map((user) => checkPassword(c, user, 'wrong', req('login', undefined, '203.0.113.66')));
  const refused = await checkPassword(c, users[MAX_CHECKS_PER_ADDRESS]!, 'wrong', req('login', undefined, '203.0.113.66'));
  t.match(refused, {
    kind: 'unavailable',
    answer: { status: 429, errcode: 'M_LIMIT_EXCEEDED', message: 'Too many password checks in progress from this address; retry later', retryAfterMs: 1000 },
  }, 'one more user from the same address: refused before the pool');
  t.equal(pool.runs.length, MAX_CHECKS_PER_ADDRESS);
  t.match(lines.find((line) => line.msg === 'password check refused'), { level: 40, reason: 'too many checks in flight from this client address', clientAddress: '203.0.113.66' },
    'the warning names the address, for the operator to block');
  const elsewhere = checkPassword(c, CAROL, PASSWORD, req('login', undefined, '198.51.100.7'));
  const synapseAsks = checkPassword(c, DAVE, PASSWORD, req('internal-rest-auth'));
  t.equal(pool.runs.length, MAX_CHECKS_PER_ADDRESS + 2, 'another address, and a check without a client address, still get a place');

  const v6 = Array.from({ length: MAX_CHECKS_PER_ADDRESS }, (_, i) => checkPassword(c, managedUser(`@v${i}:example.com`), 'wrong', req('uia', undefined, `2001:db8:1:2::${i + 1}`)));
  t.match(await checkPassword(c, managedUser('@v9:example.com'), 'wrong', req('login', undefined, '2001:db8:1:2:ffff:1:2:3')), { kind: 'unavailable', answer: { status: 429 } },
    'new addresses in the same /64 count as one client');
  const otherNetwork = checkPassword(c, managedUser('@w:example.com'), 'wrong', req('login', undefined, '2001:db8:1:3::1'));
  t.equal(c.limits.perAddress.inFlight('2001:db8:1:3::/64'), 1, 'the next /64 is another client, with a place of its own');

  const carolAgain = checkPassword(c, CAROL, PASSWORD, req('login', undefined, '198.51.100.7'));
  t.match(await checkPassword(c, CAROL, PASSWORD, req('login', undefined, '198.51.100.8')), { kind: 'unavailable', answer: { message: /for this user/ } }, 'the per-user bound still applies');
  t.equal(c.limits.perAddress.inFlight('198.51.100.8'), 0, 'a check the per-user bound refused gives its address place back');

  for (const run of pool.runs) run.succeed(false);
  await Promise.all([...admitted, elsewhere, synapseAsks, ...v6, otherNetwork, carolAgain]);
  const failed = lines.filter((line) => line.msg === 'password check: failed authentication');
  t.equal(failed.filter((line) => line['clientAddress'] === '203.0.113.66').length, MAX_CHECKS_PER_ADDRESS, 'each wrong password is logged with the client address (what fail2ban reads)');
  t.ok(failed.some((line) => line['userId'] === DAVE.id && !('clientAddress' in line)), 'none for Synapse\'s own calls');
  t.equal(c.limits.perAddress.size, 0, 'every address place is given back');
  t.match(await Promise.race([checkPassword(c, users[0]!, 'wrong', req('login', undefined, '203.0.113.66')), tick().then(() => 'pending')]), 'pending',
    'the address has room again (the check waits in the pool)');
});

t.test('a refusal for an address that sent X-Forwarded-For itself hints at TrustedProxies', async (t) => {
  const pool = new FakePool();
  const { checker: c, lines } = checker(pool);
  const unlistedProxy = { purpose: 'login', clientAddress: '192.0.2.50', sentForwardedFor: true };
  for (let i = 0; i < MAX_CHECKS_PER_ADDRESS; i++) void checkPassword(c, managedUser(`@p${i}:example.com`), 'pw', unlistedProxy);
  t.match(await checkPassword(c, managedUser('@p9:example.com'), 'pw', unlistedProxy), { kind: 'unavailable', answer: { status: 429 } });
  t.match(lines.find((line) => line.msg === 'password check refused'), {
    clientAddress: '192.0.2.50', hint: 'this address sent X-Forwarded-For: if it is a proxy of yours, list it in HttpGateway.TrustedProxies',
  });
  for (const run of pool.runs) run.succeed(false);
});

t.test('the signal and the wait bound go to the pool; an abandoned check keeps its place until the pool lets go of it', async (t) => {
  const pool = new FakePool();
  const { checker: c, lines } = checker(pool);
  const client = new AbortController();
  const abandoned = checkPassword(c, CAROL, PASSWORD, req('login', client.signal, '203.0.113.5'));
  t.equal(pool.runs[0]!.options.signal, client.signal);
  t.equal(pool.runs[0]!.options.maxWaitMs, 45_000);
  client.abort();
  await tick();
  t.equal(c.limits.perUser.inFlight(CAROL.id), 1, 'still counted while the pool holds the (running) task');
  t.equal(c.limits.perAddress.inFlight('203.0.113.5'), 1, 'for its address too');
  pool.runs[0]!.fail(new CorporalError(OFFLOAD_ABORTED, 'dropped', { source: 'client' }));
  t.match(await abandoned, { kind: 'unavailable' }, 'no verdict for a client that left');
  t.equal(c.limits.perUser.inFlight(CAROL.id), 0);
  t.equal(c.limits.perAddress.size, 0, 'both places given back');
  t.equal(lines.filter((line) => line.level === 40).length, 0, 'a departed client is not worth a warning');
  t.match(await checkPassword(c, CAROL, PASSWORD, req('login', AbortSignal.abort())), { kind: 'unavailable' }, 'already gone: not started');
  t.equal(pool.runs.length, 1);
});

t.test('a check that waited too long is a 503 with Retry-After', async (t) => {
  const pool = new FakePool();
  const { checker: c } = checker(pool);
  const check = checkPassword(c, CAROL, PASSWORD, req('login', undefined, '203.0.113.5'));
  pool.runs[0]!.fail(new CorporalError(OFFLOAD_WAIT_EXPIRED, 'waited', { source: 'internal', status: 503 }));
  t.match(await check, { kind: 'unavailable', answer: { status: 503, errcode: 'M_UNKNOWN', headers: [['Retry-After', '1']] } });
  t.equal(c.limits.perUser.size, 0);
  t.equal(c.limits.perAddress.size, 0, 'the address place is given back too');
});

t.test(`the "password check refused" warning: at most one per ${REFUSED_LOG_INTERVAL_MS} ms, with the count of the others; never the password`, async (t) => {
  const pool = new FakePool();
  const clock = { now: 1_000 };
  const { checker: c, lines, raw } = checker(pool, clock);
  for (let i = 0; i < MAX_CHECKS_PER_USER; i++) void checkPassword(c, CAROL, PASSWORD, req('login'));
  for (let i = 0; i < 50; i++) await checkPassword(c, CAROL, PASSWORD, req('login'));
  clock.now += REFUSED_LOG_INTERVAL_MS - 1;
  await checkPassword(c, CAROL, PASSWORD, req('login'));
  let warnings = lines.filter((line) => line.msg === 'password check refused');
  t.equal(warnings.length, 1, 'one line for 51 refusals within the interval');
  t.match(warnings[0], { level: 40, userId: CAROL.id, purpose: 'login', suppressed: 0, reason: 'too many checks in flight for this user' });
  clock.now += 1;
  await checkPassword(c, CAROL, PASSWORD, req('uia'));
  warnings = lines.filter((line) => line.msg === 'password check refused');
  t.equal(warnings.length, 2, 'the next interval logs again');
  t.match(warnings[1], { purpose: 'uia', suppressed: 50 });
  t.notOk(raw.some((line) => line.includes(PASSWORD)), 'no password in the log');
  for (const run of pool.runs) run.succeed(false);
});
