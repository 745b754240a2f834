import t from 'tap';
import { BufferBudget } from '../../../src/common/buffer-budget.js';

t.test('takes what fits, refuses what does not, and takes nothing when refusing', async (t) => {
  const budget = new BufferBudget(100);
  t.ok(budget.tryTake(60));
  t.ok(budget.tryTake(40), 'exactly the limit fits');
  t.notOk(budget.tryTake(1));
  t.equal(budget.inUse, 100);
  budget.give(40);
  t.notOk(budget.tryTake(41));
  t.ok(budget.tryTake(40));
  budget.give(1000);
  t.equal(budget.inUse, 0, 'never below zero');
});

t.test('refusals are reported at most once per 10 s', async (t) => {
  const warnings: Array<[number, number]> = [];
  const budget = new BufferBudget(10, (inUse, limit) => warnings.push([inUse, limit]));
  budget.tryTake(8);
  budget.tryTake(5);
  budget.tryTake(5);
  t.same(warnings, [[8, 10]], 'the first refusal warns, the next ones within 10 s do not');
});
