import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBoundedFile } from '../../../../src/common/bounded-file.js';
import { StaticFileProvider, type StaticFileProviderOptions } from '../../../../src/control/providers/static-file-provider.js';
import { captureLogger, pause, testPolicyText, testStore, waitFor } from '../../../support/control-plane.js';

const DEBOUNCE_MS = 100;
const ABSENCE_GRACE_MS = 600;
/** Longer than any test: the periodic check plays no part unless a test sets its own period. */
const NO_PERIODIC_CHECK_MS = 3_600_000;
/** Guards the tests that hung on the old code (a FIFO at the path). */
const HANG_GUARD = { timeout: 30_000 };

type Tuning = Partial<Pick<StaticFileProviderOptions, 'debounceMs' | 'maxWaitMs' | 'checkIntervalMs' | 'readFile' | 'statFile' | 'stalledAccessMs' | 'stopWaitMs' | 'refusedReminderMs'>>;

/**
 * A temporary directory and a provider for `path` in it. `layout(dir)` may build the files and
 * return another `Path` (a symlink, say); the default writes policy `a` at `dir/policy.json`.
 */
function setup(t: Test, options: { writeFirst?: boolean; layout?: (dir: string) => string; tuning?: Tuning } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-static-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let path = join(dir, 'policy.json');
  if (options.layout) path = options.layout(dir);
  else if (options.writeFirst ?? true) writeFileSync(path, testPolicyText('a'));
  const { logger, lines } = captureLogger();
  const { store, published } = testStore({ logger });
  const provider = new StaticFileProvider({
    path, store, logger, debounceMs: DEBOUNCE_MS, absenceGraceMs: ABSENCE_GRACE_MS, checkIntervalMs: NO_PERIODIC_CHECK_MS, ...options.tuning,
  });
  t.teardown(() => provider.stop());
  const stampIs = (variant: string) => () => store.current?.document.identificationStamp === `test-${variant}`;
  return { dir, path, store, published, provider, lines, stampIs };
}

t.test('loads the file at start, with its path as the source', async (t) => {
  const { path, store, provider } = setup(t);
  await provider.start();
  t.equal(store.current?.generation, 1);
  t.equal(store.current?.source, `static_file:${path}`);
  t.same(provider.status().lastError, null);
  t.type(provider.status().lastSuccessAt, 'number');
});

t.test('an in-place edit is picked up', async (t) => {
  const { path, store, provider, stampIs } = setup(t);
  await provider.start();
  writeFileSync(path, testPolicyText('b'));
  await waitFor('the edited policy', stampIs('b'));
  t.equal(store.current?.generation, 2);
});

t.test('an atomic replace (rename over the file) is picked up, again and again', async (t) => {
  const { dir, path, store, provider, stampIs } = setup(t);
  await provider.start();
  for (const variant of ['b', 'c', 'd']) {
    const temp = join(dir, `.policy.json.${variant}.tmp`);
    writeFileSync(temp, testPolicyText(variant));
    renameSync(temp, path);
    await waitFor(`policy ${variant}`, stampIs(variant));
  }
  t.equal(store.current?.generation, 4, 'the watch survived every replacement');
});

t.test('delete and re-create within the grace period: picked up, no error reported', async (t) => {
  const { path, store, provider, lines, stampIs } = setup(t);
  await provider.start();
  unlinkSync(path);
  await pause(DEBOUNCE_MS * 2);
  writeFileSync(path, testPolicyText('b'));
  await waitFor('the re-created policy', stampIs('b'));
  t.equal(store.current?.generation, 2);
  t.same(provider.status().lastError, null, 'a short absence is not an error');
  t.notOk(lines.some((l) => l.level === 50), 'nothing logged at error level');
});

t.test('an absence that persists is reported; the policy stays; the file coming back is loaded', async (t) => {
  const { path, store, provider, lines, stampIs } = setup(t);
  await provider.start();
  unlinkSync(path);
  await waitFor('the absence to be reported', () => provider.status().lastError !== null);
  t.match(provider.status().lastError?.message, /does not exist/);
  t.ok(lines.some((l) => l.level === 50 && /does not exist; the current policy stays in force/.test(String(l.msg))));
  t.equal(store.current?.generation, 1, 'the policy stays in force');
  writeFileSync(path, testPolicyText('b'));
  await waitFor('the policy file to come back', stampIs('b'));
  t.same(provider.status().lastError, null);
});

t.test('a missing file at start: no policy, reported at once, loaded when it appears', async (t) => {
  const { path, store, provider, stampIs, lines } = setup(t, { writeFirst: false });
  await provider.start();
  t.equal(store.current, null);
  t.match(provider.status().lastError?.message, /does not exist/);
  t.ok(lines.some((l) => l.level === 50 && l.msg === `policy file ${path} does not exist; no policy is in force yet (the gateway answers 503)`),
    'the log says what is in force, as every other policy error does (review quality 14)');
  writeFileSync(path, testPolicyText('a'));
  await waitFor('the policy to appear', stampIs('a'));
});

t.test('an invalid edit is refused and reported; the previous policy stays; a fix is picked up', async (t) => {
  const { path, store, provider, stampIs } = setup(t);
  await provider.start();
  writeFileSync(path, '{"schemaVersion": 2, "users": [');
  await waitFor('the refusal', () => store.lastRejection !== null);
  t.equal(store.current?.generation, 1);
  t.match(provider.status().lastError?.message, /refused: 1:32: unexpected end of input/);
  writeFileSync(path, testPolicyText('b'));
  await waitFor('the fixed policy', stampIs('b'));
  t.same(provider.status().lastError, null);
});

t.test('operator review 19, finding 6: a refused edit says a restart would start without a policy, and is recalled until the file changes', async (t) => {
  const { path, store, provider, lines, stampIs } = setup(t, { tuning: { checkIntervalMs: 50, refusedReminderMs: 200 } });
  await provider.start();
  writeFileSync(path, '{"schemaVersion": 2, "users": [');
  await waitFor('the refusal', () => store.lastRejection !== null);
  t.ok(lines.some((l) => l.level === 50 && String(l.msg).startsWith('policy refused; the current policy stays in force, but a restart now would start without a policy')));
  const reminders = () => lines.filter((l) => l.level === 40 && l.msg === 'the policy file is still refused; the current policy stays in force, but a restart now would start without a policy (the gateway would answer 503)');
  await waitFor('two reminders', () => reminders().length >= 2);
  t.equal(reminders()[0]!['path'], path);
  t.type(reminders()[0]!['refusedAt'], 'number');
  writeFileSync(path, testPolicyText('b'));
  await waitFor('the fixed policy', stampIs('b'));
  const seen = reminders().length;
  await pause(500);
  t.equal(reminders().length, seen, 'no reminder once the file is valid');
});

t.test('activity on other files in the directory does not re-read the policy', async (t) => {
  const { dir, store, provider, lines } = setup(t);
  await provider.start();
  const before = lines.length;
  writeFileSync(join(dir, 'unrelated.txt'), 'x');
  writeFileSync(join(dir, '.policy.json.swp'), 'x');
  await pause(DEBOUNCE_MS * 4);
  t.equal(store.current?.generation, 1);
  t.notOk(lines.slice(before).some((l) => l.msg === 'policy unchanged'), 'the file was not even offered to the store again');
});

t.test('reload() reads the file even when it looks unchanged; stop() ends watching', async (t) => {
  const { path, store, provider, lines } = setup(t);
  await provider.start();
  await provider.reload();
  t.ok(lines.some((l) => l.msg === 'policy unchanged'), 'the file was read and offered again');
  await provider.stop();
  writeFileSync(path, testPolicyText('b'));
  await pause(DEBOUNCE_MS * 4);
  t.equal(store.current?.document.identificationStamp, 'test-a', 'no reload after stop');
});

/** Writes `file` every `everyMs` until the test ends (a log file next to the policy, an editor). */
function keepWriting(t: Test, file: string, text: () => string, everyMs = 200): void {
  const timer = setInterval(() => writeFileSync(file, text()), everyMs);
  t.teardown(() => clearInterval(timer));
}

t.test('writes to another file every 200 ms do not postpone a policy change (red team 8, F3)', async (t) => {
  // The quiet time is longer than the gap between the other file's writes, and the burst bound is
  // out of reach: only ignoring events on other names lets the change through.
  const { dir, path, provider, stampIs } = setup(t, { tuning: { debounceMs: 1000, maxWaitMs: NO_PERIODIC_CHECK_MS } });
  await provider.start();
  let line = 0;
  keepWriting(t, join(dir, 'corporal.log'), () => `request ${++line}\n`);
  writeFileSync(path, testPolicyText('b'));
  await waitFor('the changed policy while the other file keeps changing', stampIs('b'));
});

t.test('events on the policy itself without a pause are read within the burst bound (red team 8, F3)', async (t) => {
  const { path, provider, stampIs } = setup(t, { tuning: { debounceMs: 1000, maxWaitMs: 1500 } });
  await provider.start();
  keepWriting(t, path, () => testPolicyText('b'));
  await waitFor('the changed policy while it keeps being rewritten', stampIs('b'));
});

/** `dir/conf/policy.json` → `dir/target/policy.json` (another directory), with policy `a`. */
function linkIntoOtherDirectory(dir: string): string {
  mkdirSync(join(dir, 'conf'));
  mkdirSync(join(dir, 'target'));
  writeFileSync(join(dir, 'target', 'policy.json'), testPolicyText('a'));
  symlinkSync(join(dir, 'target', 'policy.json'), join(dir, 'conf', 'policy.json'));
  return join(dir, 'conf', 'policy.json');
}

t.test('Path is a symlink into another directory: in-place edits and replacements of the target are read (red team 8, F4)', async (t) => {
  const { dir, store, provider, stampIs } = setup(t, { layout: linkIntoOtherDirectory });
  await provider.start();
  t.equal(store.current?.document.identificationStamp, 'test-a');
  const target = join(dir, 'target', 'policy.json');
  writeFileSync(target, testPolicyText('b'));
  await waitFor('the target edited in place', stampIs('b'));
  writeFileSync(join(dir, 'target', '.new.json'), testPolicyText('c'));
  renameSync(join(dir, 'target', '.new.json'), target);
  await waitFor('the target replaced by rename', stampIs('c'));
  t.equal(store.current?.generation, 3);
});

/** A Kubernetes ConfigMap volume: `policy.json → ..data/policy.json`, `..data → ..v1/`. */
function configMapVolume(dir: string): string {
  mkdirSync(join(dir, '..v1'));
  writeFileSync(join(dir, '..v1', 'policy.json'), testPolicyText('a'));
  symlinkSync('..v1', join(dir, '..data'));
  symlinkSync(join('..data', 'policy.json'), join(dir, 'policy.json'));
  return join(dir, 'policy.json');
}

/** Kubelet's update: a new timestamped directory, `..data` swapped to it by rename, the old one removed. */
function swapConfigMap(dir: string, from: string, to: string, variant: string): void {
  mkdirSync(join(dir, to));
  writeFileSync(join(dir, to, 'policy.json'), testPolicyText(variant));
  symlinkSync(to, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  rmSync(join(dir, from), { recursive: true });
}

t.test('a Kubernetes ConfigMap update (symlink swap) is read, again and again', async (t) => {
  const { dir, store, provider, stampIs } = setup(t, { layout: configMapVolume });
  await provider.start();
  swapConfigMap(dir, '..v1', '..v2', 'b');
  await waitFor('the first update', stampIs('b'));
  swapConfigMap(dir, '..v2', '..v3', 'c');
  await waitFor('the second update', stampIs('c'));
  t.equal(store.current?.generation, 3);
  t.same(provider.status().lastError, null);
});

/**
 * `dir/conf/policy.json → dir/release/current/policy.json`, `dir/release/current → v1/`: re-pointing
 * `current` happens in `dir/release`, which is on no watched path (the link's directory is `conf`, the
 * resolved file's `release/v1`), so no watch reports it.
 */
function linkThroughDirectoryLink(dir: string): string {
  mkdirSync(join(dir, 'conf'));
  mkdirSync(join(dir, 'release', 'v1'), { recursive: true });
  writeFileSync(join(dir, 'release', 'v1', 'policy.json'), testPolicyText('a'));
  symlinkSync('v1', join(dir, 'release', 'current'));
  symlinkSync(join(dir, 'release', 'current', 'policy.json'), join(dir, 'conf', 'policy.json'));
  return join(dir, 'conf', 'policy.json');
}

t.test('the periodic check reads a change that no watch reports (red team 8, F4: NFS, bind mounts)', async (t) => {
  const { dir, provider, stampIs } = setup(t, { layout: linkThroughDirectoryLink, tuning: { checkIntervalMs: 200 } });
  await provider.start();
  mkdirSync(join(dir, 'release', 'v2'));
  writeFileSync(join(dir, 'release', 'v2', 'policy.json'), testPolicyText('b'));
  symlinkSync('v2', join(dir, 'release', 'next'));
  renameSync(join(dir, 'release', 'next'), join(dir, 'release', 'current'));
  await waitFor('the re-pointed release', stampIs('b'));
});

t.test('a FIFO at the path is refused and reported; a regular file put back is read; stop() returns (red team 8, F7)', HANG_GUARD, async (t) => {
  const { path, store, provider, lines, stampIs } = setup(t);
  await provider.start();
  unlinkSync(path);
  execFileSync('mkfifo', [path]);
  await waitFor('the FIFO to be refused', () => /not a regular file \(it is a FIFO\)/.test(provider.status().lastError?.message ?? ''));
  t.ok(lines.some((l) => l.level === 50 && l.msg === 'cannot read the policy file; the current policy stays in force'));
  t.equal(store.current?.document.identificationStamp, 'test-a', 'the policy stays in force');
  unlinkSync(path);
  writeFileSync(path, testPolicyText('b'));
  await waitFor('the regular file put back', stampIs('b'));
  t.same(provider.status().lastError, null);
  await provider.reload();
  await provider.stop();
});

t.test('a read that failed with a system error is tried again by the periodic check, with no change to the file (quality review 4, S6)', async (t) => {
  let failures = 0;
  const readFile = async (path: string, maxBytes: number): Promise<string> => {
    if (failures < 1) {
      failures++;
      throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    }
    return readBoundedFile(path, maxBytes);
  };
  const { provider, store, stampIs } = setup(t, { tuning: { checkIntervalMs: 200, readFile } });
  await provider.start();
  t.equal(store.current, null, 'the first read failed');
  t.match(provider.status().lastError?.message, /EIO/);
  await waitFor('the same file read again', stampIs('a'));
  t.same(provider.status().lastError, null);
});

/** A `readFile` that hangs (a dead NFS server) until `answer()` is called. */
function hangingRead() {
  let answer = (): void => undefined;
  const answered = new Promise<void>((resolve) => { answer = resolve; });
  const readFile = async (path: string, maxBytes: number): Promise<string> => {
    await answered;
    return readBoundedFile(path, maxBytes);
  };
  return { readFile, answer: () => answer() };
}

t.test('a read that hangs is reported while it hangs; the report is withdrawn when it returns', async (t) => {
  const { readFile, answer } = hangingRead();
  const { provider, store, lines, stampIs } = setup(t, { tuning: { readFile, stalledAccessMs: 150 } });
  const starting = provider.start();
  await waitFor('the stall to be reported', () => provider.status().lastError !== null);
  t.match(provider.status().lastError?.message, /read of .*policy\.json has not finished after 0\.15 s/);
  t.ok(lines.some((l) => l.level === 50 && /hung file system/.test(String(l.msg))), 'logged at error level');
  t.equal(store.current, null, 'nothing loaded yet');
  answer();
  await starting;
  await waitFor('the policy', stampIs('a'));
  t.same(provider.status().lastError, null, 'the stall is no longer reported');
  t.ok(lines.some((l) => l.level === 30 && /has finished/.test(String(l.msg))));
});

t.test('a short read is not reported', async (t) => {
  const { provider, lines } = setup(t, { tuning: { stalledAccessMs: 5_000 } });
  await provider.start();
  await pause(100);
  t.same(provider.status().lastError, null);
  t.notOk(lines.some((l) => /hung file system/.test(String(l.msg))));
});

t.test('stop() does not wait for ever behind a hung read', HANG_GUARD, async (t) => {
  const { readFile, answer } = hangingRead();
  t.teardown(answer);
  const { provider, lines } = setup(t, { tuning: { readFile, stalledAccessMs: 60_000, stopWaitMs: 200 } });
  void provider.start();
  await pause(50);
  await provider.stop();
  t.ok(lines.some((l) => l.level === 40 && /still running/.test(String(l.msg))), 'the abandoned read is logged');
});

/** A `stat` that hangs, once `hang()` is called, until `answer()` (a dead NFS server coming back). */
function stallableStat() {
  let hanging: Promise<void> | null = null;
  let answer = (): void => undefined;
  return {
    statFile: async (path: string) => {
      if (hanging !== null) await hanging;
      return stat(path);
    },
    hang: () => { hanging = new Promise<void>((resolve) => { answer = resolve; }); },
    answer: () => { hanging = null; answer(); },
  };
}

t.test('a periodic stat that hangs is reported, and withdrawn when it returns with nothing to reload (quality review 6, S9)', async (t) => {
  const stall = stallableStat();
  const { provider, store } = setup(t, { tuning: { statFile: stall.statFile, checkIntervalMs: 100, stalledAccessMs: 150 } });
  await provider.start();
  t.equal(store.current?.generation, 1);
  stall.hang();
  await waitFor('the stall to be reported', () => /stat of .* has not finished/.test(provider.status().lastError?.message ?? ''));
  stall.answer();
  await waitFor('the report to be withdrawn', () => provider.status().lastError === null);
  t.equal(store.current?.generation, 1, 'nothing was reloaded');
});

t.test('withdrawing a stall report brings back the error it covered (quality review 6, S2)', async (t) => {
  const stall = stallableStat();
  const { provider } = setup(t, { writeFirst: false, tuning: { statFile: stall.statFile, checkIntervalMs: 100, stalledAccessMs: 150 } });
  await provider.start();
  t.match(provider.status().lastError?.message, /does not exist/);
  stall.hang();
  await waitFor('the stall to be reported', () => /has not finished/.test(provider.status().lastError?.message ?? ''));
  stall.answer();
  await waitFor('the earlier error to be back', () => /does not exist/.test(provider.status().lastError?.message ?? ''));
});

t.test('a read that outlives stop() changes no policy (quality review 6, S1)', HANG_GUARD, async (t) => {
  const { readFile, answer } = hangingRead();
  const { provider, store } = setup(t, { tuning: { readFile, stalledAccessMs: 60_000, stopWaitMs: 100 } });
  void provider.start();
  await pause(50);
  await provider.stop();
  answer();
  await pause(200);
  t.equal(store.current, null, 'the late read was dropped');
});

t.test('a policy path that cannot be read at start says that no policy is in force (operator review 14)', async (t) => {
  const { path, store, provider, lines } = setup(t, { writeFirst: false });
  mkdirSync(path);
  await provider.start();
  t.equal(store.current, null);
  t.ok(lines.some((l) => l.level === 50 && l.msg === 'cannot read the policy file; no policy is in force yet (the gateway answers 503)'));
});
