import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../support/free-port.js';
import { testConfigRaw } from '../../support/corporal-config.js';
import { startCorporalProcess, ensureStopped } from '../../support/corporal-process.js';

// A second signal during the drain must exit with code 1 at once, as documented
// (docs/architecture.md), even while a gateway thread still holds a client connection: ending a
// worker thread with uWS sockets open trips a native assertion in Node (SIGABRT, exit 134).
t.test('serve: a second signal while a request is held exits 1, without a native assertion', async (t) => {
  // A homeserver that never answers: every proxied request stays in flight.
  const held: ServerResponse[] = [];
  let resolveHeld: () => void = () => undefined;
  const requestHeld = new Promise<void>((resolve) => { resolveHeld = resolve; });
  const upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
    held.push(res);
    if (req.url?.startsWith('/_matrix/client/versions')) resolveHeld();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const res of held) res.destroy();
    upstream.close();
  });
  const upstreamPort = (upstream.address() as { port: number }).port;

  const dir = mkdtempSync(join(tmpdir(), 'corporal-signal-'));
  const policyPath = join(dir, 'policy.json');
  writeFileSync(policyPath, JSON.stringify({ schemaVersion: 2, flags: {}, managedRoomIds: [], hooks: [], users: [] }));
  const port = await findFreePort();
  const configPath = join(dir, 'config.json');
  const raw = testConfigRaw({ gatewayPort: port, threads: 1, homeserverUrl: `http://127.0.0.1:${upstreamPort}`, policyCachePath: policyPath });
  raw.HttpGateway = { ...raw.HttpGateway, DrainTimeoutMilliseconds: 60_000 };
  writeFileSync(configPath, JSON.stringify(raw));
  const corporal = startCorporalProcess(['serve', '--config', configPath]);
  t.teardown(() => ensureStopped(corporal));
  await corporal.waitForLog((l) => l.msg === 'corporal started');
  await corporal.waitForLog((l) => l.msg === 'policy applied');

  // Ask until a thread enforces the policy and proxies the request (before that it answers 503).
  const client = new AbortController();
  t.teardown(() => client.abort());
  let proxied = false;
  void requestHeld.then(() => { proxied = true; });
  while (!proxied) {
    const answer = await Promise.race([
      fetch(`http://127.0.0.1:${port}/_matrix/client/versions`, { signal: client.signal }).then((r) => r.status, () => 0),
      requestHeld.then(() => null),
    ]);
    if (answer !== null) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  corporal.process.kill('SIGTERM');
  await corporal.waitForLog((l) => l.msg === 'draining' && l.inFlight === 1);
  corporal.process.kill('SIGTERM');
  const code = await corporal.exited;
  t.equal(code, 1, 'exit code 1');
  t.notOk(corporal.text.join('').includes('Assertion failed'), 'no native assertion');
  t.ok(corporal.logs.some((l) => l.msg === 'second signal: exiting without waiting for the drain'));
});
