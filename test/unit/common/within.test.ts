import t from 'tap';
import { within } from '../../../src/common/within.js';

t.test('the value when the promise settles first, and no timer left behind', async (t) => {
  const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  t.equal(await within(Promise.resolve(7), 60_000), 7);
  t.equal(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length, timersBefore, 'the 60 s timer was cancelled');
});

t.test('undefined when the time is up first', async (t) => {
  t.equal(await within(new Promise<number>(() => undefined), 20), undefined);
});

t.test('a rejection is passed on', async (t) => {
  await t.rejects(within(Promise.reject(new Error('no')), 60_000), { message: 'no' });
});
