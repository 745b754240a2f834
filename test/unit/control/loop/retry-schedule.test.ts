import t from 'tap';
import { RetrySchedule } from '../../../../src/control/loop/retry-schedule.js';

// random() = 1 makes the jitter pick the top of [d/2, d]; 0 the bottom.
const schedule = (random: number) => new RetrySchedule({ initialMs: 1_000, maxMs: 5_000, random: () => random });

t.test('capped exponential backoff per target, with jitter', async (t) => {
  const retries = schedule(1);
  const alice = { kind: 'user', userId: '@a:hs' } as const;
  const dueTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    retries.failed(alice, 0);
    dueTimes.push(retries.nextDueAt() ?? -1);
  }
  t.same(dueTimes, [1_000, 2_000, 4_000, 5_000, 5_000]);
  const low = schedule(0);
  low.failed(alice, 100);
  t.equal(low.nextDueAt(), 600, 'jitter keeps at least half the delay');
});

t.test('takeDue queues due work once; success forgets it; status lists attempts', async (t) => {
  const retries = schedule(1);
  retries.failed({ kind: 'user', userId: '@a:hs' }, 0);
  retries.failed({ kind: 'room', roomId: '!r', userIds: new Set(['@b:hs', '@c:hs']) }, 0);
  retries.failed({ kind: 'room', roomId: '!r', userIds: new Set(['@b:hs', '@c:hs']) }, 0);
  t.same(retries.takeDue(500), { full: false, users: new Set() }, 'nothing due yet');
  t.same(retries.takeDue(1_000), { full: false, users: new Set(['@a:hs']) });
  t.same(retries.takeDue(1_000), { full: false, users: new Set() }, 'queued work is not taken twice');
  t.equal(retries.nextDueAt(), 2_000);
  t.same(retries.list(1_500), [
    { userId: '@a:hs', attempt: 1, dueAt: 1_500 },
    { roomId: '!r', attempt: 2, dueAt: 2_000 },
  ]);
  t.same(retries.takeDue(2_000), { full: false, users: new Set(['@b:hs', '@c:hs']) }, 'a room is retried through its users');
  retries.failed({ kind: 'pass' }, 2_000);
  t.same(retries.takeDue(10_000), { full: true, users: new Set() });
  retries.succeeded({ kind: 'user', userId: '@a:hs' });
  retries.succeeded({ kind: 'pass' });
  t.same(retries.targets(), [{ kind: 'room', roomId: '!r', userIds: new Set(['@b:hs', '@c:hs']) }]);
  t.equal(retries.nextDueAt(), null, 'queued entries have no due time');
  t.ok(retries.has({ kind: 'room', roomId: '!r', userIds: new Set() }));
});
