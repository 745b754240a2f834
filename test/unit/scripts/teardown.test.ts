import t from 'tap';
import { Teardown } from '../../../scripts/teardown.js';

t.test('steps run last-added first, each once, a failing one not stopping the rest', async (t) => {
  const ran: string[] = [];
  const teardown = new Teardown();
  teardown.add(() => { ran.push('synapse'); });
  teardown.add(() => { ran.push('temp dir'); throw new Error('EBUSY: temp dir'); });
  teardown.add(async () => { await new Promise((resolve) => setTimeout(resolve, 5)); ran.push('corporal'); });
  const [first, second] = await Promise.all([teardown.run(), teardown.run()]);
  t.same(ran, ['corporal', 'temp dir', 'synapse']);
  t.same(first, ['EBUSY: temp dir']);
  t.equal(first, second, 'a second call gets the same run');
  t.same(await teardown.run(), ['EBUSY: temp dir']);
  t.same(ran, ['corporal', 'temp dir', 'synapse'], 'nothing runs twice');
});

t.test('nothing added: nothing to do', async (t) => {
  t.same(await new Teardown().run(), []);
});
