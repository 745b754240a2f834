import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDirectoryProblem, reportCacheDirectory } from '../../../../src/control/providers/cache-directory.js';
import { captureLogger } from '../../../support/control-plane.js';

t.test('operator review 19, finding 9: a CachePath whose directory is missing or not a directory is named; nothing is created', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-cache-dir-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(await cacheDirectoryProblem(join(dir, 'policy.json')), null, 'an existing writable directory');
  t.equal(await cacheDirectoryProblem(join(dir, 'nodir', 'policy.json')), `the directory ${join(dir, 'nodir')} does not exist`);
  t.notOk(existsSync(join(dir, 'nodir')), 'not created');
  writeFileSync(join(dir, 'file'), '');
  t.equal(await cacheDirectoryProblem(join(dir, 'file', 'policy.json')), `${join(dir, 'file')} is not a directory`);
  t.equal(await cacheDirectoryProblem(dir), `${dir} is a directory, not a file`, 'a directory as the file (verification 19, #8)');
  t.equal(await cacheDirectoryProblem(join(dir, 'file')), null, 'an existing file');
});

t.test('operator review 19, finding 9: at start, an error naming the key and the path', async (t) => {
  const { logger, lines } = captureLogger();
  const cachePath = join(tmpdir(), 'corporal-no-such-dir-19', 'policy.json');
  await reportCacheDirectory(cachePath, logger, 'saves will fail');
  t.match(lines, [{ level: 50, key: 'PolicyProvider.CachePath', cachePath, problem: /does not exist/, msg: 'the policy cannot be saved at PolicyProvider.CachePath; saves will fail' }]);
  const fine = captureLogger();
  await reportCacheDirectory(join(tmpdir(), 'policy.json'), fine.logger, 'saves will fail');
  t.same(fine.lines, [], 'nothing when the directory is there');
});
