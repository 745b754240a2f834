import t from 'tap';
import type { Socket } from 'node:net';
import { inTurn, rawRequest, wireResponses } from '../../../support/raw-http.js';
import { startProxyHarness } from './fixtures/proxy-harness.js';
import { createMainPoolShare } from '../../../../src/gateway/upstream/main-pool-share.js';
import { InFlightPerKey } from '../../../../src/gateway/in-flight-per-key.js';
import { TrustedProxies } from '../../../../src/gateway/upstream/forwarded-for.js';
import type { RequestContext } from '../../../../src/gateway/request-context.js';
import { ANONYMOUS } from '../../../../src/gateway/identity/identity.js';

/**
 * One requester's share of the capped main pool (red team 17, F3): past it, its requests go
 * through the uncapped pool, and a place comes back when its exchange is done.
 */
const held: Socket[] = [];
const places = new InFlightPerKey(2);
const harness = await startProxyHarness({
  answer: (socket) => { held.push(socket); },
  mainPoolShare: { places, key: () => 'one requester' },
});
t.teardown(() => harness.close());
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

t.test('a requester past its share of the main pool is sent through the uncapped pool; done, its place is free again', async (t) => {
  const answers = [0, 1, 2].map(() => inTurn(harness.port, [rawRequest('GET', '/_matrix/media/v3/download/hs/big')], 2_000));
  while (held.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  t.same(harness.dispatchedTo(), { main: 2, uncapped: 1 }, 'two places in main, the third request beside it');
  t.equal(places.inFlight('one requester'), 2);
  for (const socket of held.splice(0)) socket.write(OK);
  for (const answer of await Promise.all(answers)) t.match(wireResponses(answer)[0]?.head ?? '', /^HTTP\/1\.1 200 /);
  t.equal(places.inFlight('one requester'), 0, 'every place given back with its exchange');
  const again = inTurn(harness.port, [rawRequest('GET', '/_matrix/media/v3/download/hs/big')], 2_000);
  while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  t.same(harness.dispatchedTo(), { main: 3, uncapped: 1 }, 'the next request has the main pool again');
  held.splice(0)[0]!.write(OK);
  await again;
});

t.test('the share counts a user by id, anyone else by client address; nobody behind a trusted proxy that named no client', async (t) => {
  const share = createMainPoolShare(128, new TrustedProxies(null));
  t.equal(share.places.limit, 16, '1/8 of the pool');
  const ctx = (fields: object): RequestContext => ({ identity: ANONYMOUS, headers: [], remoteAddress: '203.0.113.9', ...fields }) as unknown as RequestContext;
  t.equal(share.key(ctx({ identity: { kind: 'user', userId: '@alice:hs' } })), '@alice:hs');
  t.equal(share.key(ctx({})), '203.0.113.9');
  t.equal(share.key(ctx({ remoteAddress: '2001:db8:1:2::7' })), '2001:db8:1:2::/64', 'an IPv6 client by its /64');
  t.equal(share.key(ctx({ remoteAddress: '127.0.0.1' })), null, 'a trusted proxy\'s own address: no share');
  t.equal(createMainPoolShare(4, new TrustedProxies(null)).places.limit, 1, 'at least one place');
});
