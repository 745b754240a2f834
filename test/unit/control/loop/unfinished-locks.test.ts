import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { UnfinishedLocks } from '../../../../src/control/loop/unfinished-locks.js';
import type { UnfinishedLocksStore } from '../../../../src/control/loop/unfinished-locks-store.js';

t.test('of two loads at once (a dry run beside a run), only the first to succeed counts', async (t) => {
  const answers: ((entries: Map<string, number>) => void)[] = [];
  const saves: Map<string, number>[] = [];
  const store: UnfinishedLocksStore = {
    load: () => new Promise((resolve) => answers.push(resolve)),
    save: async (entries) => {
      saves.push(new Map(entries));
    },
  };
  const locks = new UnfinishedLocks(store, createSilentLogger());
  const first = locks.load();
  const second = locks.load();
  answers[0]!(new Map([['@a:hs', 0]]));
  await first;
  // The second answer is older news: say, read before a run saved the record without @b.
  answers[1]!(new Map([['@a:hs', 0], ['@b:hs', 2]]));
  await second;
  t.same([...locks.userIds()], ['@a:hs'], 'the later answer adds nobody');
  await locks.save();
  t.same(saves, [], 'and nothing changed, so nothing is saved');
});
