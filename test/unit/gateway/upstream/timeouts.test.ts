import t from 'tap';
import { exchangeTimeouts, isLongPoll, longPollWaitMs } from '../../../../src/gateway/upstream/timeouts.js';

const CONFIG = { upstreamMs: 45_000, exchangeMs: 60_000 };

t.test('ordinary requests: headers within the upstream timeout, exchange capped by the gateway timeout', async (t) => {
  t.same(exchangeTimeouts('other', 'timeout=30000', CONFIG), { headersMs: 45_000, capMs: 60_000, idleMs: 45_000 });
  t.same(exchangeTimeouts('media.download', '', CONFIG), { headersMs: 45_000, capMs: 60_000, idleMs: 45_000 });
});

t.test('long-polls add the client timeout, capped by the gateway timeout', async (t) => {
  t.same(exchangeTimeouts('sync', 'since=s1&timeout=30000', CONFIG), { headersMs: 75_000, capMs: 75_000, idleMs: 45_000 });
  t.same(exchangeTimeouts('sync.sliding', 'timeout=1000', CONFIG), { headersMs: 46_000, capMs: 60_000, idleMs: 45_000 });
  t.same(exchangeTimeouts('events', 'timeout=600000', CONFIG), { headersMs: 105_000, capMs: 105_000, idleMs: 45_000 });
  t.same(exchangeTimeouts('sync', '', CONFIG), { headersMs: 45_000, capMs: 60_000, idleMs: 45_000 });
  t.same(exchangeTimeouts('sync', 'timeout=nope', CONFIG), { headersMs: 45_000, capMs: 60_000, idleMs: 45_000 });
  t.ok(isLongPoll('sync') && isLongPoll('sync.sliding') && isLongPoll('events') && !isLongPoll('other'));
});

t.test('the timeout parameter is read as Python int() reads it (results checked with CPython)', async (t) => {
  const rows: Array<[string, number]> = [
    ['timeout=30000', 30_000], ['timeout=%2030000%09', 30_000], ['timeout=%2B30000', 30_000], ['timeout=3_0000', 30_000],
    ['timeout=30__000', 0], ['timeout=_3', 0], ['timeout=3_', 0], ['timeout=-5', 0], ['timeout=1e3', 0], ['timeout=', 0],
    ['timeout=0x10', 0], ['timeout=00042', 42], ['timeout=%2B', 0], ['timeout=1%202', 0], ['timeout=5&timeout=9', 5],
    ['timeout=9007199254740993', Number.MAX_SAFE_INTEGER], ['since=x', 0],
  ];
  for (const [query, expected] of rows) t.equal(longPollWaitMs(query), expected, query);
});
