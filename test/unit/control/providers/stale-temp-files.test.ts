import t from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTempFileOf, writeFileAtomic } from '../../../../src/control/providers/atomic-write.js';
import { removeStaleTempFiles } from '../../../../src/control/providers/stale-temp-files.js';
import { captureLogger } from '../../../support/control-plane.js';

t.test('only exact leftovers of the target are removed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-stale-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const target = join(dir, 'policy.json');
  // The pid of a process that has exited: its temporary files are leftovers.
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  const names = {
    leftover: `.policy.json.${dead}.0123456789ab.tmp`,
    ownPid: `.policy.json.${process.pid}.abcdefabcdef.tmp`,
    otherTarget: '.other.json.12345.0123456789ab.tmp',
    shortRandom: '.policy.json.12345.0123.tmp',
    upperHex: '.policy.json.12345.0123456789AB.tmp',
    noDot: 'policy.json.12345.0123456789ab.tmp',
    suffix: '.policy.json.12345.0123456789ab.tmp.bak',
  };
  for (const name of Object.values(names)) writeFileSync(join(dir, name), 'x');
  mkdirSync(join(dir, '.policy.json.12346.0123456789ab.tmp'));
  symlinkSync('/etc/hostname', join(dir, '.policy.json.12347.0123456789ab.tmp'));
  writeFileSync(target, '{}');
  const { logger, lines } = captureLogger();
  t.equal(await removeStaleTempFiles(target, logger), 1, 'the leftover of a process that has exited');
  t.same(readdirSync(dir).sort(), [
    names.ownPid,
    '.other.json.12345.0123456789ab.tmp', '.policy.json.12345.0123.tmp', '.policy.json.12345.0123456789AB.tmp',
    '.policy.json.12345.0123456789ab.tmp.bak', '.policy.json.12346.0123456789ab.tmp', '.policy.json.12347.0123456789ab.tmp',
    'policy.json', 'policy.json.12345.0123456789ab.tmp',
  ].sort(), 'a running process\'s file, look-alikes, a directory and a symlink stay');
  t.ok(lines.some((l) => l.msg === 'removed temporary policy files left behind by a crashed process' && l.removed === 1));
  t.equal(await removeStaleTempFiles(join(dir, 'missing', 'x.json'), logger), 0, 'a missing directory is not an error');
});

t.test('a write in progress in this process is never removed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-stale-live-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const target = join(dir, 'policy.json');
  const { logger } = captureLogger();
  const big = 'x'.repeat(32 * 1024 * 1024);
  const writing = writeFileAtomic(target, big);
  let removed = 0;
  for (let i = 0; i < 50 && removed === 0; i++) {
    removed += await removeStaleTempFiles(target, logger);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await writing;
  t.equal(removed, 0);
  t.same(readdirSync(dir), ['policy.json']);
  t.ok(isTempFileOf(`.policy.json.${process.pid}.0123456789ab.tmp`, target));
});
