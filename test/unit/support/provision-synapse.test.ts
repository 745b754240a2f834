import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROVISION_ERROR_CODE, provisionSynapse, PSYCOPG2_BINARY_VERSION, SHARED_SECRET_AUTHENTICATOR_VERSION, SYNAPSE_VERSION } from '../../support/provision-synapse.js';

/**
 * The failure paths of provisioning, driven by a stand-in interpreter (a shell script) that answers
 * the version probe as told and fails the venv step the way a Python without ensurepip does. The
 * success path runs against the real PyPI install in test/integration/synapse-harness.test.ts.
 * A second stand-in plays a cached virtualenv made before psycopg2-binary was pinned.
 */
function fakePython(t: { teardown(fn: () => void): void }, version: string): { python: string; cacheDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-provision-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const python = join(dir, 'python3');
  writeFileSync(
    python,
    `#!/bin/sh
case "$*" in
  *version_info*) echo ${version} ;;
  *runpy*" venv "*) echo "The virtual environment was not created successfully because ensurepip is not available." >&2; exit 1 ;;
  *) exit 99 ;;
esac
`,
  );
  chmodSync(python, 0o755);
  return { python, cacheDir: join(dir, 'cache') };
}

t.test('a failing venv step removes the half-made virtualenv, releases the lock and says how to fix it', async (t) => {
  const { python, cacheDir } = fakePython(t, '3.11.4');
  const venvDir = join(cacheDir, `synapse-${SYNAPSE_VERSION}-py3.11`);
  mkdirSync(join(venvDir, 'bin'), { recursive: true });
  writeFileSync(join(venvDir, 'half-made'), '');
  const progress: string[] = [];
  const error = await provisionSynapse({ python, cacheDir, log: (line) => progress.push(line) }).then(
    () => new Error('provisioning should have failed') as Error & { code?: string },
    (err: unknown) => err as Error & { code?: string },
  );
  t.equal(error.code, PROVISION_ERROR_CODE);
  t.match(error.message, /creating the virtualenv failed: `.*python3 -m venv .*py3\.11` exited with code 1/);
  t.match(error.message, /apt-get install python3-venv/);
  t.match(error.message, /ensurepip is not available/, 'the tool output is quoted');
  t.notOk(existsSync(join(venvDir, 'half-made')), 'the incomplete virtualenv was removed before reinstalling');
  t.notOk(existsSync(`${venvDir}.lock`), 'the lock is released');
  t.match(readFileSync(`${venvDir}.install.log`, 'utf8'), /-m venv/);
  t.match(progress, [/removing incomplete virtualenv/, /installing matrix-synapse==/]);
});

t.test('a Python older than 3.10 is refused with the reason', async (t) => {
  const { python, cacheDir } = fakePython(t, '3.8.10');
  await t.rejects(provisionSynapse({ python, cacheDir, log: () => undefined }), {
    code: PROVISION_ERROR_CODE,
    message: /is Python 3\.8\.10; Synapse .* needs >= 3\.10 .*CORPORAL_PYTHON/,
  });
  t.notOk(existsSync(cacheDir), 'nothing was created');
});

t.test('a missing interpreter is named, with the fix', async (t) => {
  await t.rejects(provisionSynapse({ python: '/nonexistent/python3', cacheDir: '/nonexistent/cache', log: () => undefined }), {
    code: PROVISION_ERROR_CODE,
    message: /`\/nonexistent\/python3` cannot be started .*CORPORAL_PYTHON/,
  });
});

t.test('a cached virtualenv without psycopg2-binary gets it added when asked; Synapse is not reinstalled', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-provision-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cacheDir = join(dir, 'cache');
  const venvDir = join(cacheDir, `synapse-${SYNAPSE_VERSION}-py3.11`);
  const bin = join(venvDir, 'bin');
  mkdirSync(bin, { recursive: true });
  // Base interpreter and the virtualenv's: answers the probes, records pip calls, "installs" psycopg2.
  const script = `#!/bin/sh
state=${JSON.stringify(bin)}
case "$*" in
  *importlib.metadata*)
    if [ -f "$state/psycopg2" ]; then p='"${PSYCOPG2_BINARY_VERSION}"'; else p=null; fi
    echo "{\\"synapse\\": \\"${SYNAPSE_VERSION}\\", \\"sharedSecretAuthenticator\\": \\"${SHARED_SECRET_AUTHENTICATOR_VERSION}\\", \\"psycopg2Binary\\": $p, \\"python\\": \\"3.11.4\\"}" ;;
  *version_info*) echo 3.11.4 ;;
  *runpy*" pip install "*) for a in "$@"; do case "$a" in *==*) printf '%s ' "$a" ;; esac; done >> "$state/pip-calls"; echo >> "$state/pip-calls"; touch "$state/psycopg2" ;;
  "-c import psycopg2") exit 0 ;;
  *) exit 99 ;;
esac
`;
  for (const python of [join(dir, 'python3'), join(bin, 'python')]) {
    writeFileSync(python, script);
    chmodSync(python, 0o755);
  }
  writeFileSync(join(venvDir, '.corporal-provisioned.json'), JSON.stringify({ synapse: SYNAPSE_VERSION, sharedSecretAuthenticator: SHARED_SECRET_AUTHENTICATOR_VERSION, python: '3.11.4' }));
  writeFileSync(join(venvDir, 'synapse-was-here'), '');
  const progress: string[] = [];

  const sqliteOnly = await provisionSynapse({ python: join(dir, 'python3'), cacheDir, log: (line) => progress.push(line) });
  t.same([sqliteOnly.installed, sqliteOnly.psycopg2BinaryVersion], [false, null], 'not asked for: the virtualenv is used as it is');
  t.notOk(existsSync(join(bin, 'pip-calls')), 'and pip is not run');

  const first = await provisionSynapse({ python: join(dir, 'python3'), cacheDir, log: (line) => progress.push(line), postgres: true });
  t.equal(first.installed, true);
  t.equal(first.psycopg2BinaryVersion, PSYCOPG2_BINARY_VERSION);
  t.same(readFileSync(join(bin, 'pip-calls'), 'utf8').trim().split('\n'), [`psycopg2-binary==${PSYCOPG2_BINARY_VERSION}`], 'one pip install, of psycopg2-binary only (pinned arguments recorded)');
  t.ok(existsSync(join(venvDir, 'synapse-was-here')), 'the virtualenv was kept');
  t.match(JSON.parse(readFileSync(join(venvDir, '.corporal-provisioned.json'), 'utf8')), { psycopg2Binary: PSYCOPG2_BINARY_VERSION }, 'the marker records it');
  t.match(progress, [/adding psycopg2-binary==/, /added psycopg2-binary/]);

  const again = await provisionSynapse({ python: join(dir, 'python3'), cacheDir, log: (line) => progress.push(line), postgres: true });
  t.equal(again.installed, false, 'then it is complete');
  t.equal(again.psycopg2BinaryVersion, PSYCOPG2_BINARY_VERSION);
  t.equal(readFileSync(join(bin, 'pip-calls'), 'utf8').trim().split('\n').length, 1, 'no further pip call');
});
