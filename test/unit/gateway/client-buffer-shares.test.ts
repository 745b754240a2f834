import t from 'tap';
import { ClientBufferShares } from '../../../src/gateway/client-buffer-shares.js';
import { RequestContext } from '../../../src/gateway/request-context.js';
import { BufferBudget } from '../../../src/common/buffer-budget.js';
import { TrustedProxies } from '../../../src/gateway/upstream/forwarded-for.js';

const MiB = 1 << 20;
const trusted = new TrustedProxies(null);

t.test('a client holds at most an eighth of the budget, and never less than four large bodies', async (t) => {
  t.equal(new ClientBufferShares(256 * MiB, MiB, trusted).limitBytes, 32 * MiB);
  t.equal(new ClientBufferShares(8 * MiB, MiB, trusted).limitBytes, 4 * MiB, 'a small budget: four bodies');
  t.equal(new ClientBufferShares(2 * MiB, MiB, trusted).limitBytes, 2 * MiB, 'but not more than the budget');
  const shares = new ClientBufferShares(16 * MiB, MiB, trusted);
  t.equal(shares.keyOf([], '203.0.113.7'), '203.0.113.7');
  t.equal(shares.keyOf([], '2001:db8:1:2::9'), '2001:db8:1:2::/64');
  t.equal(shares.keyOf([], '127.0.0.1'), null, 'a trusted proxy that names no client: not counted');
  t.ok(shares.tryTake('a', 4 * MiB));
  t.notOk(shares.tryTake('a', 1), 'the share is spent');
  t.ok(shares.tryTake('b', MiB), 'another client is not affected');
  shares.give('a', 4 * MiB);
  t.equal(shares.heldBy('a'), 0);
  t.ok(shares.tryTake('a', MiB));
});

/** The request-context half, on a stand-in with the fields reserveBuffer and exchangeSettled use. */
function requestFrom(address: string, limits: object): RequestContext {
  const ctx = Object.create(RequestContext.prototype) as RequestContext;
  Object.assign(ctx, {
    limits, headers: [], remoteAddress: address, reservedBytes: 0, shareKey: undefined, finished: null, proxy: null, creationWatch: null, abortController: null,
    exchange: { isOpen: true },
  });
  return ctx;
}

t.test('one client\'s bodies cannot spend the thread\'s budget; settled, its bytes come back (red team 17, F4)', async (t) => {
  const budget = new BufferBudget(16 * MiB);
  const clientShares = new ClientBufferShares(budget.limitBytes, MiB, trusted);
  const limits = { budget, exchangeMs: 60_000, clientShares };
  const flood = [1, 2, 3, 4, 5].map(() => requestFrom('203.0.113.7', limits));
  t.same(flood.map((ctx) => ctx.reserveBuffer(MiB)), [true, true, true, true, false], 'four bodies, then refused');
  t.equal(budget.inUse, 4 * MiB, 'a refused reservation takes nothing from the budget');
  const other = requestFrom('198.51.100.9', limits);
  t.ok(other.reserveBuffer(MiB), 'another client still gets a buffer');
  for (const ctx of flood) ctx.exchangeSettled();
  t.equal(clientShares.heldBy('203.0.113.7'), 0);
  t.equal(budget.inUse, MiB);
});
