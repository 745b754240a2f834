import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testConfigRaw } from '../../support/corporal-config.js';

const MAIN = fileURLToPath(new URL('../../../src/main.js', import.meta.url));

/**
 * Runs `corporal check` on a configuration whose static_file policy is `policy`, with a stdout
 * pipe whose reader is closed before the child writes anything, so its very first write meets EPIPE.
 */
async function checkWithClosedReader(t: Test, policy: unknown): Promise<{ code: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-epipe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policyPath = join(dir, 'policy.json');
  writeFileSync(policyPath, JSON.stringify(policy));
  const raw = testConfigRaw({ gatewayPort: 41080, serverName: 'example.com', policyCachePath: join(dir, 'cache.json'), overrides: { PolicyProvider: { Type: 'static_file', Path: policyPath } } });
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(raw));
  const child = spawn(process.execPath, [MAIN, 'check', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the child has loaded its modules
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
  return { code, stderr };
}

t.test('check with a reader that went away still exits 2 for an invalid policy, quietly', async (t) => {
  const { code, stderr } = await checkWithClosedReader(t, { schemaVersion: 2, users: [{ id: '@x:elsewhere.org', authType: 'md5', authCredential: 'zz' }] });
  t.equal(code, 2, 'the real exit code of the check, not 0');
  t.equal(stderr, '', 'no stack trace');
});

t.test('check with a reader that went away exits 0 for a valid policy', async (t) => {
  const { code, stderr } = await checkWithClosedReader(t, { schemaVersion: 2, users: [] });
  t.equal(code, 0);
  t.equal(stderr, '');
});
