import t from 'tap';
import { RetrySchedule } from '../../../../src/control/loop/retry-schedule.js';

// random() = 1 makes the jitter pick the top of [d/2, d]; 0 the bottom.
const schedule = (random: number) => new RetrySchedule({ initialMs: 1_000, maxMs: 5_000, random: () => random });

t.test('capped exponential backoff per target, with jitter', async (t) => {
  const retries = schedule(1);
  const alice = { kind: 'user', userId: '@a:hs' } as const;
  const dueTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    retries.failed([alice], 0);
    dueTimes.push(retries.nextDueAt() ?? -1);
  }
  t.same(dueTimes, [1_000, 2_000, 4_000, 5_000, 5_000]);
  const low = schedule(0);
  low.failed([alice], 100);
  t.equal(low.nextDueAt(), 600, 'jitter keeps at least half the delay');
});

t.test('takeDue queues due work once; success forgets it; status lists attempts', async (t) => {
  const retries = schedule(1);
  retries.failed([{ kind: 'user', userId: '@a:hs' }], 0);
  retries.failed([{ kind: 'room', roomId: '!r', userIds: new Set(['@b:hs', '@c:hs']) }], 0);
  retries.failed([{ kind: 'room', roomId: '!r', userIds: new Set(['@b:hs', '@c:hs']) }], 0);
  t.same(retries.takeDue(500), { full: false, users: new Set() }, 'nothing due yet');
  t.same(retries.takeDue(1_000), { full: false, users: new Set(['@a:hs']) });
  t.same(retries.takeDue(1_000), { full: false, users: new Set() }, 'queued work is not taken twice');
  t.equal(retries.nextDueAt(), 2_000);
  t.same(retries.list(1_500), [
    { userId: '@a:hs', attempt: 1, dueAt: 1_500 },
    { roomId: '!r', attempt: 2, dueAt: 2_000 },
  ]);
  t.same(retries.takeDue(2_000), { full: false, users: new Set(['@b:hs', '@c:hs']) }, 'a room is retried through its users');
  retries.failed([{ kind: 'pass' }], 2_000);
  t.same(retries.takeDue(10_000), { full: true, users: new Set() });
  retries.succeeded({ kind: 'user', userId: '@a:hs' });
  retries.succeeded({ kind: 'pass' });
  t.same(retries.targets(), [{ kind: 'room', roomId: '!r', userIds: new Set(['@b:hs', '@c:hs']) }]);
  t.equal(retries.nextDueAt(), null, 'queued entries have no due time');
  t.ok(retries.has({ kind: 'room', roomId: '!r', userIds: new Set() }));
});

t.test('targets that failed together share one jitter draw and are retried by one run', async (t) => {
  // A new random value per draw: with one draw per target, each user would fall due at its own moment.
  let calls = 0;
  const retries = new RetrySchedule({ initialMs: 1_000, maxMs: 5_000, random: () => (calls++ % 10) / 10 });
  const users = ['@a:hs', '@b:hs', '@c:hs', '@d:hs'];
  retries.failed(users.map((userId) => ({ kind: 'user', userId }) as const), 0);
  const dueAt = retries.nextDueAt() ?? -1;
  t.same(retries.takeDue(dueAt), { full: false, users: new Set(users) }, 'one run retries the whole batch');
  retries.failed(users.map((userId) => ({ kind: 'user', userId }) as const), dueAt);
  const again = retries.nextDueAt() ?? -1;
  t.same(retries.takeDue(again), { full: false, users: new Set(users) }, 'and keeps doing so while it keeps failing');
  t.ok(again - dueAt >= 1_000, 'at the next attempt\'s backoff');
  retries.failed([{ kind: 'user', userId: '@e:hs' }], again);
  retries.failed([{ kind: 'user', userId: '@f:hs' }], again);
  t.not(retries.list(again)[4]?.dueAt, retries.list(again)[5]?.dueAt, 'separate failures still draw separately');
  t.equal(calls, 4, 'one draw per failed batch');
});

t.test('queued targets are listed until settled; a target named twice in one failure counts once', async (t) => {
  const retries = schedule(1);
  const room = { kind: 'room', roomId: '!r', userIds: new Set(['@a:hs']) } as const;
  retries.failed([room, { kind: 'user', userId: '@a:hs' }], 0);
  t.same(retries.queued(), []);
  retries.takeDue(1_000);
  t.same(retries.queued(), [room, { kind: 'user', userId: '@a:hs' }]);
  retries.failed([{ kind: 'user', userId: '@a:hs' }, ...retries.queued()], 1_000);
  t.same(retries.queued(), []);
  t.same(retries.list(1_000).map((retry) => retry.attempt), [2, 2], 'one more attempt each, not two for @a:hs');
});

t.test('a room that fails again for other users keeps the earlier ones (verification 16b)', async (t) => {
  const retries = schedule(1);
  retries.failed([{ kind: 'room', roomId: '!r', userIds: new Set(['@a:hs', '@b:hs']) }], 0);
  retries.takeDue(1_000);
  retries.failed([{ kind: 'room', roomId: '!r', userIds: new Set(['@c:hs']) }], 1_000); // a run over @c alone
  t.same(retries.takeDue(10_000), { full: false, users: new Set(['@a:hs', '@b:hs', '@c:hs']) });
  t.same(retries.targets(), [{ kind: 'room', roomId: '!r', userIds: new Set(['@a:hs', '@b:hs', '@c:hs']) }]);
});

t.test('advance brings every waiting retry to now, keeps queued ones and attempt counts', async (t) => {
  const retries = schedule(1);
  retries.failed([{ kind: 'user', userId: '@a:hs' }], 0);
  retries.failed([{ kind: 'user', userId: '@a:hs' }], 0);
  retries.failed([{ kind: 'user', userId: '@b:hs' }], 0);
  retries.failed([{ kind: 'pass' }], 0);
  t.same(retries.takeDue(1_000), { full: true, users: new Set(['@b:hs']) });
  t.equal(retries.advance(1_500), 1, 'only @a was still waiting (due at 2,000)');
  t.equal(retries.nextDueAt(), 1_500);
  t.same(retries.takeDue(1_500), { full: false, users: new Set(['@a:hs']) });
  t.equal(retries.advance(1_600), 0, 'nothing waits');
  retries.failed([{ kind: 'user', userId: '@a:hs' }], 1_600);
  t.equal(retries.nextDueAt(), 1_600 + 4_000, 'the attempt count survived the advance');
});
