import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { findFreePort } from '../../support/free-port.js';
import { testConfigRaw } from '../../support/corporal-config.js';
import { startCorporalProcess, ensureStopped } from '../../support/corporal-process.js';

/**
 * `:port` (matrix-corporal's usual `HttpGateway.ListenAddress`, Go's "every interface") listens on
 * IPv6 and IPv4 alike, for the gateway and the HTTP API: a client that reaches the host over IPv6
 * is served, not refused as it was when `:port` meant 0.0.0.0.
 */
t.test(':port serves IPv4 and IPv6 clients, gateway and HTTP API', async (t) => {
  const gatewayPort = await findFreePort();
  const apiPort = await findFreePort();
  const dir = mkdtempSync(join(tmpdir(), 'corporal-every-interface-'));
  const configPath = join(dir, 'config.json');
  const raw = testConfigRaw({
    gatewayPort, apiPort, threads: 2, policyCachePath: join(dir, 'policy.json'),
    overrides: { HttpGateway: { ListenAddress: `:${gatewayPort}` }, HttpApi: { ListenAddress: `:${apiPort}` } },
  });
  writeFileSync(configPath, JSON.stringify(raw));
  const corporal = startCorporalProcess(['serve', '--config', configPath]);
  t.teardown(() => ensureStopped(corporal));
  await corporal.waitForLog((l) => l.msg === 'corporal started');
  await corporal.waitForLog((l) => l.msg === 'HTTP API listening');

  for (const host of ['127.0.0.1', '[::1]']) {
    const gateway = await request(`http://${host}:${gatewayPort}/_matrix/client/corporal`);
    await gateway.body.dump();
    t.equal(gateway.statusCode, 200, `the gateway answers on ${host}`);
    const api = await request(`http://${host}:${apiPort}/_matrix/corporal/policy`);
    const body = (await api.body.json()) as { errcode?: string };
    t.equal(api.statusCode, 401, `the HTTP API answers on ${host} (and asks for its token)`);
    t.ok(body.errcode, 'as a Matrix error');
  }
});
