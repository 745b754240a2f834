import t from 'tap';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { watchPlanOf } from '../../../../src/control/providers/watch-plan.js';

/** The plan as plain data: directory → sorted names. */
async function planOf(path: string): Promise<Record<string, string[]>> {
  const plan = await watchPlanOf(path);
  return Object.fromEntries([...plan].map(([dir, names]) => [dir, [...names].sort()]));
}

t.test('a plain file: its directory, its name', async (t) => {
  const dir = t.testdir({ 'policy.json': '{}' });
  t.same(await planOf(join(dir, 'policy.json')), { [dir]: [basename(dir), 'policy.json'].sort() });
});

t.test('a Kubernetes ConfigMap volume: the link, ..data and the timestamped directory', async (t) => {
  const dir = t.testdir({});
  mkdirSync(join(dir, '..2024_01'));
  writeFileSync(join(dir, '..2024_01', 'policy.json'), '{}');
  symlinkSync('..2024_01', join(dir, '..data'));
  symlinkSync(join('..data', 'policy.json'), join(dir, 'policy.json'));
  t.same(await planOf(join(dir, 'policy.json')), {
    [dir]: ['..2024_01', '..data', basename(dir), 'policy.json'].sort(),
    [join(dir, '..2024_01')]: ['..2024_01', 'policy.json'],
  });
});

t.test('a chain of links across directories: every link\'s directory and the target\'s', async (t) => {
  const dir = t.testdir({ a: {}, b: {}, c: { 'policy.json': '{}' } });
  symlinkSync(join(dir, 'c', 'policy.json'), join(dir, 'b', 'middle.json'));
  symlinkSync(join('..', 'b', 'middle.json'), join(dir, 'a', 'policy.json'));
  t.same(await planOf(join(dir, 'a', 'policy.json')), {
    [join(dir, 'a')]: ['a', 'policy.json'],
    [join(dir, 'b')]: ['b', 'middle.json'],
    [join(dir, 'c')]: ['c', 'policy.json'],
  });
});

t.test('a dangling link or a loop never throws: the directories on the way', async (t) => {
  const dir = t.testdir({ a: {}, b: {} });
  symlinkSync(join(dir, 'b', 'missing.json'), join(dir, 'a', 'dangling.json'));
  t.same(await planOf(join(dir, 'a', 'dangling.json')), {
    [join(dir, 'a')]: ['a', 'dangling.json'],
    [join(dir, 'b')]: ['b', 'missing.json'],
  });
  symlinkSync('loop2', join(dir, 'loop1'));
  symlinkSync('loop1', join(dir, 'loop2'));
  t.same(await planOf(join(dir, 'loop1')), { [dir]: [basename(dir), 'loop1', 'loop2'].sort() });
});
