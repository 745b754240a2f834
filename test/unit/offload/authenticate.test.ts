import t, { type Test } from 'tap';
import { hashSync } from 'bcryptjs';
import type { UserAuthConfig } from '../../../src/common/config/types.js';
import type { AuthType, SnapshotUser } from '../../../src/policy/snapshot.js';
import { authenticateUser } from '../../../src/offload/authenticate.js';
import { createSilentLogger } from '../../../src/common/logger.js';
import { createOffloadPool, OFFLOAD_BUSY, type OffloadPool } from '../../../src/offload/pool.js';
import { RestAuthCache, createRestAuthCache } from '../../../src/offload/rest-auth-cache.js';
import { refusedUrl, startRestAuthService, type RestAuthService } from './fixtures/rest-auth-service.js';

const ALICE = '@alice:example.com';
const ALICE_PASSWORD = 'alice-secret';

const offload = createOffloadPool({ Threads: 1, MaxQueue: 64, ConcurrentTasksPerWorker: 8 }, { logger: createSilentLogger() });
t.teardown(() => offload.close());

function userAuth(overrides: Partial<UserAuthConfig> = {}): UserAuthConfig {
  return { RestTimeoutMilliseconds: 5000, RestCacheFallback: true, RestCacheTtlMilliseconds: 60_000, RestCacheSize: 100, ...overrides };
}

function managedUser(authType: AuthType, authCredential: string, id = ALICE): SnapshotUser {
  return {
    id, active: true, authType, authCredential, displayName: 'Policy Name', avatarUri: '', joinedRooms: new Map(),
    powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
  };
}

async function service(t: Test): Promise<RestAuthService> {
  const started = await startRestAuthService();
  t.teardown(() => started.close());
  return started;
}

t.test('local authenticators: authenticated, rejected, error', async (t) => {
  const cache = createRestAuthCache(userAuth());
  const bcryptUser = managedUser('bcrypt', hashSync(ALICE_PASSWORD, 4));
  t.same(await authenticateUser(offload, cache, bcryptUser, ALICE_PASSWORD, userAuth()), { kind: 'authenticated' });
  t.same(await authenticateUser(offload, cache, bcryptUser, 'wrong', userAuth()), { kind: 'rejected' }, 'bcrypt wrong password is a rejection');
  t.same(await authenticateUser(offload, cache, bcryptUser, '', userAuth()), { kind: 'rejected' });
  t.match(await authenticateUser(offload, cache, managedUser('sha256', 'xyz'), 'pw', userAuth()), { kind: 'error', code: 'invalid-credential' });
  t.match(await authenticateUser(offload, cache, managedUser('passthrough', ''), 'pw', userAuth()), { kind: 'error', code: 'unsupported-auth-type' });
  t.equal(cache.size, 0, 'only rest results are cached');
});

t.test('rest: the service decides and may name the user', async (t) => {
  const svc = await service(t);
  const user = managedUser('rest', `${svc.origin}/users`);
  const cache = createRestAuthCache(userAuth());
  t.same(await authenticateUser(offload, cache, user, ALICE_PASSWORD, userAuth()), { kind: 'authenticated', displayName: 'Alice A.' });
  t.same(await authenticateUser(offload, cache, user, 'wrong', userAuth()), { kind: 'rejected' });
  t.match(await authenticateUser(offload, cache, user, ALICE_PASSWORD, userAuth({ RestTimeoutMilliseconds: 200 })), { kind: 'authenticated' });
  t.equal(svc.requests.length, 3);
});

t.test('fallback on: a cached success stands in while the service is unavailable', async (t) => {
  const svc = await service(t);
  const user = managedUser('rest', `${svc.origin}/users`);
  const config = userAuth();
  const cache = createRestAuthCache(config);
  t.same(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'authenticated', displayName: 'Alice A.' });

  svc.mode = 'unavailable';
  t.same(
    await authenticateUser(offload, cache, user, ALICE_PASSWORD, config),
    { kind: 'authenticated', displayName: 'Alice A.', fromCache: true },
    '503: the cached success, with the display name the service gave',
  );
  t.match(await authenticateUser(offload, cache, user, 'other-password', config), { kind: 'error', code: 'auth-service-unavailable' }, 'never for a different password');
  const bob = managedUser('rest', `${svc.origin}/users`, '@bob:example.com');
  t.match(await authenticateUser(offload, cache, bob, ALICE_PASSWORD, config), { kind: 'error', code: 'auth-service-unavailable' }, 'never for a different user');

  svc.mode = 'garbled';
  t.match(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'error', code: 'auth-service-bad-response' }, 'a bad answer is not unavailability');

  await svc.close();
  t.match(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'authenticated', fromCache: true }, 'connection refused');
});

t.test('fallback on: the service saying no evicts the cached success', async (t) => {
  const svc = await service(t);
  const user = managedUser('rest', `${svc.origin}/users`);
  const config = userAuth();
  const cache = createRestAuthCache(config);
  t.match(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'authenticated' });
  svc.accounts.set(ALICE, 'changed-password');
  t.same(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'rejected' });
  svc.mode = 'unavailable';
  t.match(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'error', code: 'auth-service-unavailable' });
  t.equal(cache.size, 0);
});

t.test('fallback on: only within the TTL', async (t) => {
  const svc = await service(t);
  const user = managedUser('rest', `${svc.origin}/users`);
  const config = userAuth({ RestCacheTtlMilliseconds: 10_000 });
  let now = 5_000; // lru-cache reads a start time of 0 as "no TTL", and performance.now() is never 0
  const cache = createRestAuthCache(config, { now: () => now });
  t.match(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'authenticated' });
  svc.mode = 'unavailable';
  now = 15_000;
  t.match(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'authenticated', fromCache: true }, 'at the TTL');
  now = 15_001;
  t.match(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'error', code: 'auth-service-unavailable' }, 'after the TTL');
});

t.test('fallback off (the default): no caching, unavailability is an error', async (t) => {
  const svc = await service(t);
  const user = managedUser('rest', `${svc.origin}/users`);
  const config = userAuth({ RestCacheFallback: false });
  const cache = createRestAuthCache(config);
  t.match(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'authenticated' });
  t.equal(cache.size, 0, 'nothing remembered');
  svc.mode = 'unavailable';
  t.match(await authenticateUser(offload, cache, user, ALICE_PASSWORD, config), { kind: 'error', code: 'auth-service-unavailable' });

  const switchedOn = userAuth({ RestCacheFallback: true });
  const warm = new RestAuthCache(10, 60_000);
  warm.remember(ALICE, ALICE_PASSWORD, user.authCredential, {});
  t.match(await authenticateUser(offload, warm, user, ALICE_PASSWORD, config), { kind: 'error' }, 'an entry is not used while the switch is off');
  t.match(await authenticateUser(offload, warm, user, ALICE_PASSWORD, switchedOn), { kind: 'authenticated', fromCache: true }, 'and is used with it on');
});

t.test('rest timeout and refused connections are unavailability', async (t) => {
  const svc = await service(t);
  const cache = createRestAuthCache(userAuth());
  const hanging = managedUser('rest', `${svc.origin}/hang`);
  t.match(await authenticateUser(offload, cache, hanging, ALICE_PASSWORD, userAuth({ RestTimeoutMilliseconds: 250 })), { kind: 'error', code: 'auth-service-unavailable' });
  const refused = managedUser('rest', await refusedUrl());
  t.match(await authenticateUser(offload, cache, refused, ALICE_PASSWORD, userAuth()), { kind: 'error', code: 'auth-service-unavailable' });
});

t.test('a busy pool rejects with the busy error', async (t) => {
  const tiny: OffloadPool = createOffloadPool({ Threads: 1, MaxQueue: 1, ConcurrentTasksPerWorker: 1 }, { logger: createSilentLogger() });
  t.teardown(() => tiny.close());
  const user = managedUser('bcrypt', hashSync('slow', 10));
  const cache = createRestAuthCache(userAuth());
  const settled = await Promise.allSettled(Array.from({ length: 6 }, () => authenticateUser(tiny, cache, user, 'slow', userAuth())));
  const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  t.ok(refused.length >= 3, `most checks were refused (${refused.length})`);
  for (const result of refused) t.match(result.reason, { code: OFFLOAD_BUSY, status: 503, retryAfterSeconds: 1 });
  for (const result of settled) if (result.status === 'fulfilled') t.same(result.value, { kind: 'authenticated' });
});
