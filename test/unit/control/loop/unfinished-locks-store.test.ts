import t from 'tap';
import { MAX_SAVED_UNFINISHED_LOCKS, readUnfinishedLocks, unfinishedLocksContent } from '../../../../src/control/loop/unfinished-locks-store.js';

t.test('the record reads back what was saved', async (t) => {
  const entries = new Map([['@a:hs', 0], ['@b:hs', 4]]);
  t.same(readUnfinishedLocks(unfinishedLocksContent(entries)), entries);
  t.same(unfinishedLocksContent(new Map()), { users: {} }, 'an empty record');
});

t.test('entries that are not a user id with a count are skipped; a record of another shape reads as empty', async (t) => {
  const content = { users: { '@ok:hs': 1, 'no-at:hs': 1, '@neg:hs': -1, '@frac:hs': 1.5, '@text:hs': '2', '@huge:hs': 1e9, '@zero:hs': 0 } };
  t.same(readUnfinishedLocks(content), new Map([['@ok:hs', 1], ['@zero:hs', 0]]));
  for (const users of [undefined, null, [], 'x', 3]) t.same(readUnfinishedLocks({ users }), new Map(), JSON.stringify(users) ?? 'undefined');
});

t.test(`at most ${MAX_SAVED_UNFINISHED_LOCKS} users are saved and read`, async (t) => {
  const many = new Map(Array.from({ length: MAX_SAVED_UNFINISHED_LOCKS + 5 }, (_, i) => [`@u${i}:hs`, 0] as [string, number]));
  const content = unfinishedLocksContent(many);
  t.equal(Object.keys(content.users).length, MAX_SAVED_UNFINISHED_LOCKS);
  const users: Record<string, number> = {};
  for (const [userId, attempts] of many) users[userId] = attempts;
  t.equal(readUnfinishedLocks({ users }).size, MAX_SAVED_UNFINISHED_LOCKS);
});
