import t from 'tap';
import { createAliasResolver } from '../../../../src/gateway/checks/alias-resolver.js';

t.test('shares concurrent look-ups of one alias', async (t) => {
  const calls: string[] = [];
  const resolve = createAliasResolver(async (alias) => {
    calls.push(alias);
    await new Promise((r) => setImmediate(r));
    return alias === '#a:hs' ? { roomId: '!a:hs', servers: ['hs'] } : null;
  });
  const found = { roomId: '!a:hs', servers: ['hs'] };
  t.same(await Promise.all([resolve('#a:hs'), resolve('#a:hs'), resolve('#missing:hs')]), [found, found, null]);
  t.same(calls, ['#a:hs', '#missing:hs'], 'one look-up per alias in flight');
});

t.test('never reuses an answer: a re-pointed alias is seen at once', async (t) => {
  let roomId = '!unmanaged:hs';
  let calls = 0;
  const resolve = createAliasResolver(async () => {
    calls++;
    return { roomId, servers: [] };
  });
  t.equal((await resolve('#trap:hs'))?.roomId, '!unmanaged:hs');
  roomId = '!managed:hs';
  t.equal((await resolve('#trap:hs'))?.roomId, '!managed:hs');
  t.equal(calls, 2);
});

t.test('failures resolve to null, and the next check looks up again', async (t) => {
  let attempts = 0;
  const resolve = createAliasResolver(async () => {
    attempts++;
    if (attempts === 1) throw new Error('timeout');
    return { roomId: '!a:hs', servers: [] };
  });
  t.equal(await resolve('#a:hs'), null);
  t.equal((await resolve('#a:hs'))?.roomId, '!a:hs');
  t.equal(attempts, 2);
});
