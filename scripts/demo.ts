/**
 * `npm run demo`: a throwaway real Synapse (from the test harness) with Corporal in front of it.
 * Prints where everything listens and runs until Ctrl-C, then stops both and removes the data.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSynapse } from '../test/support/start-synapse.js';
import { findFreePort } from '../test/support/free-port.js';
import { testConfigRaw } from '../test/support/corporal-config.js';
import { startCorporalProcess } from '../test/support/corporal-process.js';

async function main(): Promise<void> {
  process.stdout.write('Starting a throwaway Synapse (the first run installs it into a cached virtualenv)…\n');
  const synapse = await startSynapse({ serverName: 'localhost' });
  const dir = mkdtempSync(join(tmpdir(), 'corporal-demo-'));
  const gatewayPort = await findFreePort();
  const apiPort = await findFreePort();
  const configPath = join(dir, 'config.json');
  const raw = testConfigRaw({
    homeserverUrl: synapse.baseUrl,
    serverName: synapse.serverName,
    gatewayPort,
    apiPort,
    policyCachePath: join(dir, 'policy.json'),
  });
  writeFileSync(configPath, JSON.stringify(raw, null, 2));
  const corporal = startCorporalProcess(['serve', '--config', configPath]);
  await corporal.waitForLog((line) => line.msg === 'corporal started', 30_000);

  process.stdout.write(`
Corporal demo is running.
  Synapse (direct):   ${synapse.baseUrl}   (server name ${synapse.serverName}, log ${synapse.logPath})
  Corporal gateway:   http://127.0.0.1:${gatewayPort}   (health: /_matrix/client/corporal)
  Corporal HTTP API:  http://127.0.0.1:${apiPort}   (Authorization: Bearer ${String(raw.HttpApi?.AuthorizationBearerToken)})
  Admin user:         ${synapse.admin.userId} / ${synapse.admin.password}
  Configuration:      ${configPath}
Press Ctrl-C to stop.
`);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping…\n');
    corporal.process.kill('SIGTERM');
    await corporal.exited;
    await synapse.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  corporal.exited.then((code) => {
    if (!stopping) {
      process.stderr.write(`Corporal exited unexpectedly (${code}):\n${corporal.text.join('')}\n`);
      void stop();
    }
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
