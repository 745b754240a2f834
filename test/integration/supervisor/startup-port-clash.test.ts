import t, { type Test } from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../support/free-port.js';
import { testConfigRaw, type TestConfigOptions } from '../../support/corporal-config.js';
import { startCorporalProcess, ensureStopped, type CorporalProcess } from '../../support/corporal-process.js';

/** How long a refused start-up may take (it fails before any thread or child starts). */
const QUICK_EXIT_MS = 10_000;

function serve(t: Test, options: Omit<TestConfigOptions, 'policyCachePath'>): CorporalProcess {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-clash-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(testConfigRaw({ ...options, policyCachePath: join(dir, 'policy.json') })));
  const corporal = startCorporalProcess(['serve', '--config', configPath]);
  t.teardown(() => ensureStopped(corporal));
  return corporal;
}

/** The exit code, or 'still running' if the process has not exited within `ms`. */
function exitWithin(corporal: CorporalProcess, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => { timer = setTimeout(() => resolve('still running'), ms); });
  return Promise.race([corporal.exited, timeout]).finally(() => clearTimeout(timer));
}

function startupError(corporal: CorporalProcess): string {
  return String(corporal.logs.find((l) => l.msg === 'start-up failed')?.err ?? '');
}

async function listenBlocker(t: Test): Promise<number> {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  return (blocker.address() as { port: number }).port;
}

t.test('a second instance on the gateway port of a running one exits non-zero; the first keeps serving', async (t) => {
  const gatewayPort = await findFreePort();
  const first = serve(t, { gatewayPort, threads: 1 });
  await first.waitForLog((l) => l.msg === 'corporal started');

  const second = serve(t, { gatewayPort, threads: 1 });
  const code = await exitWithin(second, QUICK_EXIT_MS);
  t.equal(code, 1, 'the second instance exits 1');
  t.match(startupError(second), new RegExp(`HttpGateway\\.ListenAddress 127\\.0\\.0\\.1:${gatewayPort} is already in use`));
  t.notOk(second.logs.some((l) => l.msg === 'gateway thread listening'), 'no gateway thread of the second instance listened');

  t.equal(first.process.exitCode, null, 'the first instance still runs');
  for (let i = 0; i < 20; i++) {
    const response = await fetch(`http://127.0.0.1:${gatewayPort}/_matrix/client/corporal`);
    t.equal(response.status, 200);
    await response.text();
  }
  first.process.kill('SIGTERM');
  t.equal(await first.exited, 0);
});

t.test('an HTTP API port clash is a fatal start-up error, not a restart loop', async (t) => {
  const apiPort = await listenBlocker(t);
  const gatewayPort = await findFreePort();
  const corporal = serve(t, { gatewayPort, apiPort, threads: 1 });
  const code = await exitWithin(corporal, QUICK_EXIT_MS);
  t.equal(code, 1, 'exits 1');
  t.match(startupError(corporal), new RegExp(`HttpApi\\.ListenAddress 127\\.0\\.0\\.1:${apiPort} is already in use`));
  t.notOk(corporal.logs.some((l) => l.msg === 'corporal started'), 'nothing started');
});

t.test('a disabled HTTP API is not probed', async (t) => {
  const gatewayPort = await findFreePort();
  // testConfigRaw disables the API without apiPort; point its (unused) address at a taken port.
  const takenPort = await listenBlocker(t);
  const corporal = serve(t, { gatewayPort, threads: 1, overrides: { HttpApi: { Enabled: false, ListenAddress: `127.0.0.1:${takenPort}` } } });
  await corporal.waitForLog((l) => l.msg === 'corporal started');
  corporal.process.kill('SIGTERM');
  t.equal(await corporal.exited, 0);
});
