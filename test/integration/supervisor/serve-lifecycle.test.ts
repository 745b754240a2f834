import t, { type Test } from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testConfigRaw } from '../../support/corporal-config.js';
import { startCorporalProcess, startServeOnFreePorts, ensureStopped } from '../../support/corporal-process.js';

/** `corporal serve` with `threads` gateway threads on a free port, stopped at the end of `t`; once it has started. */
async function startServe(t: Test, threads: number): Promise<{ port: number; corporal: ReturnType<typeof startCorporalProcess> }> {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-serve-'));
  const { ports, corporal } = await startServeOnFreePorts(t, 1, ([port]) => {
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify(testConfigRaw({ gatewayPort: port!, threads, policyCachePath: join(dir, 'policy.json') })));
    return configPath;
  });
  return { port: ports[0]!, corporal };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

t.test('serve: threads and child start, a killed child is restarted, SIGTERM drains and exits 0', async (t) => {
  const { port, corporal } = await startServe(t, 2);

  await corporal.waitForLog((l) => l.msg === 'corporal started');
  const listening = corporal.logs.filter((l) => l.msg === 'gateway thread listening');
  await corporal.waitForLog((l) => l.msg === 'gateway thread listening' && l.component !== listening[0]?.component);
  const ready = await corporal.waitForLog((l) => l.msg === 'control child ready');
  const firstChildPid = ready.pid as number;
  t.type(firstChildPid, 'number');

  const info = await fetch(`http://127.0.0.1:${port}/_matrix/client/corporal`);
  t.equal(info.status, 200);
  t.equal(await info.text(), 'Matrix Client-Server API protected by Matrix Corporal');

  process.kill(firstChildPid, 'SIGKILL');
  const restartLog = await corporal.waitForLog((l) => l.supervised === 'control child' && l.signal === 'SIGKILL');
  t.equal(restartLog.restart, 1);
  const again = await corporal.waitForLog((l) => l.msg === 'control child ready' && l.pid !== firstChildPid);
  t.not(again.pid, firstChildPid, 'a new control child runs');
  t.equal((await fetch(`http://127.0.0.1:${port}/_matrix/client/corporal`)).status, 200, 'the gateway kept serving');

  const stoppedAt = Date.now();
  corporal.process.kill('SIGTERM');
  const code = await corporal.exited;
  t.equal(code, 0, 'exit code 0');
  t.ok(Date.now() - stoppedAt < 3000 + 2000, 'within the drain deadline');
  t.ok(await portIsFree(port), 'the port is released');
  t.notOk(corporal.text.join('').includes('Assertion failed'), 'no native assertion');
});

t.test('serve: SIGHUP (a hang-up reaching the whole process group) drains and exits 0', async (t) => {
  const { port, corporal } = await startServe(t, 1);
  await corporal.waitForLog((l) => l.msg === 'corporal started');
  const ready = await corporal.waitForLog((l) => l.msg === 'control child ready');
  const childPid = ready.pid as number;

  // The control child ignores the hang-up: the supervisor decides the shutdown order.
  process.kill(childPid, 'SIGHUP');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.doesNotThrow(() => process.kill(childPid, 0), 'the control child survived SIGHUP');
  t.notOk(corporal.logs.some((l) => l.supervised === 'control child'), 'no control child restart');

  corporal.process.kill('SIGHUP');
  t.equal(await corporal.exited, 0, 'exit code 0');
  t.match(corporal.logs.find((l) => l.msg === 'signal received'), { signal: 'SIGHUP' });
  t.ok(corporal.logs.some((l) => l.msg === 'shutting down: draining'), 'drained');
  t.ok(corporal.logs.some((l) => l.msg === 'shutdown complete'), 'shutdown completed');
  t.ok(await portIsFree(port), 'the port is released');
});

t.test('serve: an unusable listen address fails start-up with exit code 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-serve-'));
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(testConfigRaw({ gatewayPort: port, threads: 1, policyCachePath: join(dir, 'policy.json') })));
  const corporal = startCorporalProcess(['serve', '--config', configPath]);
  t.teardown(() => ensureStopped(corporal));
  t.equal(await corporal.exited, 1);
  t.ok(corporal.logs.some((l) => l.msg === 'start-up failed'));
});

t.test('serve: an invalid config exits 2 before starting anything', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-serve-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, '{"Matrix": {}}');
  const corporal = startCorporalProcess(['serve', '--config', configPath]);
  t.teardown(() => ensureStopped(corporal));
  t.equal(await corporal.exited, 2);
  t.match(corporal.text.join(''), /Matrix\.TimeoutMilliseconds needs to be a positive number/);
});

t.test('serve: an invalid config is reported with its warnings, so a misspelt key is named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-serve-'));
  const raw = testConfigRaw({ gatewayPort: 1, threads: 1, policyCachePath: join(dir, 'policy.json') });
  const { HomeserverApiEndpoint: endpoint, ...matrix } = raw.Matrix!;
  raw.Matrix = { ...matrix, HomeserverApiEndpont: endpoint };
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(raw));
  const corporal = startCorporalProcess(['serve', '--config', configPath]);
  t.teardown(() => ensureStopped(corporal));
  t.equal(await corporal.exited, 2);
  const text = corporal.text.join('');
  t.match(text, /Matrix\.HomeserverApiEndpoint: Matrix\.HomeserverApiEndpoint needs to be an http\(s\) URL/);
  t.match(text, /Matrix\.HomeserverApiEndpont is not a known configuration key; it is ignored/);
});
