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
  t.same(await Promise.all([resolve('#a:hs', '@u:hs'), resolve('#a:hs', '@u:hs'), resolve('#missing:hs', '@u:hs')]), [found, found, null]);
  t.same(calls, ['#a:hs', '#missing:hs'], 'one look-up per alias in flight');
});

t.test('never reuses an answer: a re-pointed alias is seen at once', async (t) => {
  let roomId = '!unmanaged:hs';
  let calls = 0;
  const resolve = createAliasResolver(async () => {
    calls++;
    return { roomId, servers: [] };
  });
  t.equal((await resolve('#trap:hs', '@u:hs'))?.roomId, '!unmanaged:hs');
  roomId = '!managed:hs';
  t.equal((await resolve('#trap:hs', '@u:hs'))?.roomId, '!managed:hs');
  t.equal(calls, 2);
});

t.test('failures resolve to null, and the next check looks up again', async (t) => {
  let attempts = 0;
  const resolve = createAliasResolver(async () => {
    attempts++;
    if (attempts === 1) throw new Error('timeout');
    return { roomId: '!a:hs', servers: [] };
  });
  t.equal(await resolve('#a:hs', '@u:hs'), null);
  t.equal((await resolve('#a:hs', '@u:hs'))?.roomId, '!a:hs');
  t.equal(attempts, 2);
});

t.test('a shared look-up is read for the requester that started it', async (t) => {
  const requesters: string[] = [];
  const resolve = createAliasResolver(async (_alias, requester) => {
    requesters.push(requester);
    await new Promise((r) => setImmediate(r));
    return null;
  });
  await Promise.all([resolve('#a:hs', '@first:hs'), resolve('#a:hs', '@second:hs'), resolve('#b:hs', '@second:hs')]);
  t.same(requesters, ['@first:hs', '@second:hs']);
});
