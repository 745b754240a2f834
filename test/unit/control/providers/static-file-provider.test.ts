import t, { type Test } from 'tap';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticFileProvider } from '../../../../src/control/providers/static-file-provider.js';
import { captureLogger, pause, testPolicyText, testStore, waitFor } from '../../../support/control-plane.js';

const DEBOUNCE_MS = 100;
const ABSENCE_GRACE_MS = 600;

function setup(t: Test, options: { writeFirst?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-static-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'policy.json');
  if (options.writeFirst ?? true) writeFileSync(path, testPolicyText('a'));
  const { logger, lines } = captureLogger();
  const { store, published } = testStore({ logger });
  const provider = new StaticFileProvider({ path, store, logger, debounceMs: DEBOUNCE_MS, absenceGraceMs: ABSENCE_GRACE_MS });
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
  const { path, store, provider, stampIs } = setup(t, { writeFirst: false });
  await provider.start();
  t.equal(store.current, null);
  t.match(provider.status().lastError?.message, /does not exist/);
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
