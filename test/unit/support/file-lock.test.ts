import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireFileLock, currentHolder, isHolderAlive, withFileLock, type LockHolder } from '../../support/file-lock.js';

const FILE_LOCK_MODULE = new URL('../../support/file-lock.js', import.meta.url).href;

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-lock-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function runNode(args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

/** The pid of a process that has certainly exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((resolve) => child.once('exit', resolve));
  return pid;
}

t.test('a second holder waits until the first releases', async (t) => {
  const lockPath = join(tempDir(t), 'a.lock');
  const first = await acquireFileLock(lockPath, { timeoutMs: 10_000, pollMs: 10 });
  let secondAcquired = false;
  const second = acquireFileLock(lockPath, { timeoutMs: 10_000, pollMs: 10 }).then((lock) => {
    secondAcquired = true;
    return lock;
  });
  await sleep(100);
  t.equal(secondAcquired, false, 'still waiting while the first holds it');
  await first.release();
  const lock = await second;
  t.equal(secondAcquired, true);
  t.match(JSON.parse(readFileSync(lockPath, 'utf8')), { pid: process.pid });
  await lock.release();
  await lock.release();
  t.notOk(existsSync(lockPath), 'release removes the file; a second release is harmless');
});

t.test('processes take turns: no two critical sections overlap', async (t) => {
  const dir = tempDir(t);
  const lockPath = join(dir, 'b.lock');
  const journal = join(dir, 'journal');
  writeFileSync(journal, '');
  const script = `
    import { appendFileSync } from 'node:fs';
    import { withFileLock } from ${JSON.stringify(FILE_LOCK_MODULE)};
    await withFileLock(${JSON.stringify(lockPath)}, { timeoutMs: 60000, pollMs: 5 }, async () => {
      appendFileSync(${JSON.stringify(journal)}, 'enter ' + process.pid + '\\n');
      await new Promise((r) => setTimeout(r, 30));
      appendFileSync(${JSON.stringify(journal)}, 'leave ' + process.pid + '\\n');
    });`;
  const codes = await Promise.all(Array.from({ length: 4 }, () => runNode(['--input-type=module', '-e', script])));
  t.same(codes, [0, 0, 0, 0]);
  const lines = readFileSync(journal, 'utf8').trim().split('\n');
  t.equal(lines.length, 8);
  for (let i = 0; i < lines.length; i += 2) {
    const [enter, leave] = [lines[i]!.split(' '), lines[i + 1]!.split(' ')];
    t.same([enter[0], leave[0], enter[1]], ['enter', 'leave', leave[1]], `section ${i / 2 + 1} is not interleaved`);
  }
  t.notOk(existsSync(lockPath));
});

t.test('a lock left by a dead process is broken', async (t) => {
  const lockPath = join(tempDir(t), 'c.lock');
  const stale: LockHolder = { pid: await deadPid(), startTime: null, hostname: hostname(), acquiredAt: '2020-01-01T00:00:00.000Z' };
  t.equal(isHolderAlive(stale), false);
  writeFileSync(lockPath, JSON.stringify(stale));
  const lock = await acquireFileLock(lockPath, { timeoutMs: 10_000, pollMs: 10 });
  t.match(JSON.parse(readFileSync(lockPath, 'utf8')), { pid: process.pid });
  await lock.release();
});

t.test('a lock whose pid now belongs to another process (reused pid) is broken', async (t) => {
  const lockPath = join(tempDir(t), 'd.lock');
  const me = currentHolder();
  t.equal(isHolderAlive(me), true);
  t.not(me.startTime, null, 'this platform exposes process start times');
  const reused: LockHolder = { ...me, startTime: `${me.startTime}0` };
  t.equal(isHolderAlive(reused), false);
  writeFileSync(lockPath, JSON.stringify(reused));
  await withFileLock(lockPath, { timeoutMs: 10_000, pollMs: 10 }, async () => {
    t.equal(readFileSync(lockPath, 'utf8') === JSON.stringify(reused), false, 'replaced by our own record');
  });
});

t.test('a live holder is waited for until the timeout, and the error names it', async (t) => {
  const lockPath = join(tempDir(t), 'e.lock');
  const remote: LockHolder = { pid: 1, startTime: null, hostname: `${hostname()}-elsewhere`, acquiredAt: '2020-01-01T00:00:00.000Z' };
  writeFileSync(lockPath, JSON.stringify(remote));
  const waited: LockHolder[] = [];
  await t.rejects(
    acquireFileLock(lockPath, { timeoutMs: 200, pollMs: 20, onWait: (holder) => waited.push(holder) }),
    { message: /timed out .* waiting for the lock .*e\.lock, held by pid 1 on .*-elsewhere.*delete that file/ },
  );
  t.same(waited, [remote], 'onWait is told once who holds it');
  t.equal(readFileSync(lockPath, 'utf8'), JSON.stringify(remote), 'a live lock is left alone');
});

t.test('an empty lock file is a holder still writing, unless it is old', async (t) => {
  const lockPath = join(tempDir(t), 'f.lock');
  writeFileSync(lockPath, '');
  await t.rejects(acquireFileLock(lockPath, { timeoutMs: 100, pollMs: 20 }), { message: /unknown holder/ });
  const old = new Date(Date.now() - 60_000);
  utimesSync(lockPath, old, old);
  const lock = await acquireFileLock(lockPath, { timeoutMs: 10_000, pollMs: 10 });
  await lock.release();
});
