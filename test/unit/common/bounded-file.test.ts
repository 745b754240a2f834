import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBoundedFile } from '../../../src/common/bounded-file.js';

/** Long enough for any machine; the old code blocked on a FIFO for ever, so a hang ends here. */
const HANG_GUARD = { timeout: 15_000 };

t.test('a regular file is read as UTF-8; one over the limit is refused', async (t) => {
  const dir = t.testdir({ 'ok.txt': 'héllo', 'big.txt': 'x'.repeat(11) });
  t.equal(await readBoundedFile(join(dir, 'ok.txt'), 10), 'héllo');
  await t.rejects(readBoundedFile(join(dir, 'big.txt'), 10), /big\.txt is larger than 10 bytes$/);
});

t.test('a FIFO is refused at once, without waiting for a writer', HANG_GUARD, async (t) => {
  const dir = t.testdir({});
  const fifo = join(dir, 'policy.json');
  execFileSync('mkfifo', [fifo]);
  await t.rejects(readBoundedFile(fifo, 1024), /policy\.json is not a regular file \(it is a FIFO\)$/);
  writeFileSync(join(dir, 'after.json'), '{}');
  t.equal(await readBoundedFile(join(dir, 'after.json'), 1024), '{}', 'later reads still work');
});

t.test('a directory and a character device are refused by name', HANG_GUARD, async (t) => {
  const dir = t.testdir({ sub: {} });
  await t.rejects(readBoundedFile(join(dir, 'sub'), 1024), /sub is not a regular file \(it is a directory\)$/);
  await t.rejects(readBoundedFile('/dev/zero', 1024), /\/dev\/zero is not a regular file \(it is a character device\)$/);
});

t.test('open errors pass through unchanged', async (t) => {
  const dir = t.testdir({});
  await t.rejects(readBoundedFile(join(dir, 'missing'), 1024), { code: 'ENOENT' });
});
