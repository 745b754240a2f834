import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPORAL_MAIN } from '../../support/corporal-process.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

function corporal(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CORPORAL_MAIN, ...args], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

t.test('--help and --version exit 0', async (t) => {
  const help = corporal('--help');
  t.equal(help.status, 0);
  t.match(help.stdout, /Usage: corporal/);
  const version = corporal('--version');
  t.equal(version.status, 0);
  t.match(version.stdout, /^corporal \d+\.\d+\.\d+/);
});

t.test('a report piped into a reader that went away ends quietly (check | head)', async (t) => {
  const child = spawn(process.execPath, [CORPORAL_MAIN, 'check', '-config=config/matrix-corporal-3.config.json'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the first line is written
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 0, stderr);
  t.notMatch(stderr, /EPIPE/);
});

t.test('usage errors exit 2 with the usage text', async (t) => {
  for (const args of [['--bogus'], ['frobnicate'], ['check', '--config']]) {
    const run = corporal(...args);
    t.equal(run.status, 2, args.join(' '));
    t.match(run.stderr, /Usage: corporal/);
  }
});

t.test('check accepts a matrix-corporal 3.x config.json unchanged', async (t) => {
  const run = corporal('check', '-config=config/matrix-corporal-3.config.json');
  t.equal(run.status, 0, run.stdout + run.stderr);
  t.match(run.stdout, /is valid/);
  t.match(run.stdout, /corporal user: @matrix-corporal:/);
});

t.test('check lists every error of a broken config with its key path and exits 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-cli-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({
    Matrix: { HomeserverDomainName: 'example.com', HomeserverApiEndpoint: 'http://synapse:8008', AuthSharedSecret: 'x', TimeoutMilliseconds: 45000 },
    Corporal: { UserID: '@corporal:elsewhere.org' },
    Reconciliation: { RetryIntervalMilliseconds: 0 },
    HttpGateway: { ListenAddress: '0.0.0.0:41080', TimeoutMilliseconds: 1000 },
    HttpApi: { TimeoutMilliseconds: 'soon' },
    PolicyProvider: { Type: 'carrier_pigeon' },
  }));
  const run = corporal('check', '--config', path);
  t.equal(run.status, 2);
  t.match(run.stdout, /invalid \(\d+ errors\)/);
  t.match(run.stdout, /Corporal\.UserID: Reconciliation user `@corporal:elsewhere\.org` \(specified in Corporal\.UserID\) is not hosted on the managed homeserver domain \(example\.com\)/);
  t.match(run.stdout, /Reconciliation\.RetryIntervalMilliseconds: Reconciliation\.RetryIntervalMilliseconds needs to be a positive number/);
  t.match(run.stdout, /HttpGateway\.TimeoutMilliseconds: HttpGateway\.TimeoutMilliseconds \(1000\) needs to be larger than Matrix\.TimeoutMilliseconds \(45000\)/);
  t.match(run.stdout, /HttpApi\.TimeoutMilliseconds: .*integer/);
  t.match(run.stdout, /PolicyProvider\.Type: .*unknown provider type/);
});

t.test('check of a missing file exits 2', async (t) => {
  const run = corporal('check', '--config', '/nonexistent/corporal.json');
  t.equal(run.status, 2);
  t.match(run.stdout, /nonexistent/);
});

t.test('check of a policy too large for the heap refuses it before parsing and says what to do', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-cli-'));
  const policy = join(dir, 'policy.json');
  // 2 M empty objects: 6 MiB of text, about 1 GiB estimated, against a 64 MiB heap.
  writeFileSync(policy, `{"schemaVersion":2,"users":[],"managedRoomIds":[${'{},'.repeat(1_999_999)}{}]}`);
  const result = spawnSync(process.execPath, ['--max-old-space-size=64', CORPORAL_MAIN, 'check', '-config=config/matrix-corporal-3.config.json', '--policy', policy], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
  t.equal(result.status, 2, result.stderr);
  t.match(result.stdout, /the policy would need about \d+ MiB of memory to load, more than \d+ MiB \(half of this process' \d+ MiB heap\); give Corporal a larger heap/);
});
