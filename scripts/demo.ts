/**
 * `npm run demo`: a throwaway real Synapse (from the test harness) with Corporal in front of it and
 * a small policy (two managed users in a managed room) that Corporal reconciles at once. Prints
 * where everything listens and a few requests to try; runs until Ctrl-C, then stops both and
 * removes the data (exit 0). If Corporal dies, or start-up fails half-way, whatever had started is
 * stopped and removed too, and the demo exits 1.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { derivedPassword } from '../src/common/derived-password.js';
import { startSynapse } from '../test/support/start-synapse.js';
import { createRoom } from '../test/support/matrix-client.js';
import { findFreePort } from '../test/support/free-port.js';
import { TEST_AUTH_SHARED_SECRET, testConfigRaw } from '../test/support/corporal-config.js';
import { startCorporalProcess } from '../test/support/corporal-process.js';
import { demoInstructions } from './demo-instructions.js';
import { Teardown } from './teardown.js';

const SERVER_NAME = 'localhost';
const CORPORAL_USER = `@corporal:${SERVER_NAME}`;

/** The demo policy: alice (plain password) and bob (sha256 of "bob-password") in one managed room. */
function demoPolicy(roomId: string): object {
  const bobHash = createHash('sha256').update('bob-password', 'utf8').digest('hex');
  return {
    schemaVersion: 2,
    flags: { allowCustomUserDisplayNames: false, forbidRoomCreation: false },
    managedRoomIds: [roomId],
    users: [
      {
        id: `@alice:${SERVER_NAME}`, active: true, authType: 'plain', authCredential: 'alice-password',
        displayName: 'Alice (managed)', avatarUri: '', joinedRooms: [{ roomId, powerLevel: 50 }],
      },
      {
        id: `@bob:${SERVER_NAME}`, active: true, authType: 'sha256',
        authCredential: bobHash,
        displayName: 'Bob (managed)', avatarUri: '', joinedRooms: [{ roomId, powerLevel: 0 }],
      },
    ],
    hooks: [],
  };
}

const teardown = new Teardown();

/** Stops and removes everything started so far, then exits with `code`. */
async function finish(code: number): Promise<never> {
  for (const failure of await teardown.run()) process.stderr.write(`cleanup failed: ${failure}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  process.stdout.write('Starting a throwaway Synapse (the first run installs it into a cached virtualenv)…\n');
  // The harness admin is Corporal's own user, with the password Corporal derives for it.
  const synapse = await startSynapse({ serverName: SERVER_NAME, adminPassword: derivedPassword(TEST_AUTH_SHARED_SECRET, CORPORAL_USER) });
  teardown.add(() => synapse.stop());
  const roomId = await createRoom(synapse.baseUrl, synapse.admin.accessToken, { name: 'Managed room', preset: 'private_chat' });

  const dir = mkdtempSync(join(tmpdir(), 'corporal-demo-'));
  teardown.add(() => rmSync(dir, { recursive: true, force: true }));
  const policyPath = join(dir, 'policy.json');
  writeFileSync(policyPath, JSON.stringify(demoPolicy(roomId), null, 2));
  const gatewayPort = await findFreePort();
  const apiPort = await findFreePort();
  const configPath = join(dir, 'config.json');
  const raw = testConfigRaw({
    homeserverUrl: synapse.baseUrl,
    serverName: SERVER_NAME,
    gatewayPort,
    apiPort,
    policyCachePath: join(dir, 'unused.json'),
    overrides: {
      Matrix: { RegistrationSharedSecret: synapse.registrationSharedSecret },
      PolicyProvider: { Type: 'static_file', Path: policyPath },
    },
  });
  delete raw.PolicyProvider!['CachePath'];
  writeFileSync(configPath, JSON.stringify(raw, null, 2));
  const corporal = startCorporalProcess(['serve', '--config', configPath]);
  teardown.add(async () => {
    corporal.process.kill('SIGTERM');
    await corporal.exited;
  });
  await corporal.waitForLog((line) => line.msg === 'corporal started', 30_000);
  const token = String(raw.HttpApi?.AuthorizationBearerToken);
  const gateway = `http://127.0.0.1:${gatewayPort}`;

  process.stdout.write(demoInstructions({
    synapseUrl: synapse.baseUrl,
    serverName: synapse.serverName,
    synapseLog: synapse.logPath,
    gatewayUrl: gateway,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    apiToken: token,
    configPath,
    policyPath,
    roomId,
  }));

  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping…\n');
    void finish(code);
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  void corporal.exited.then((code) => {
    if (stopping) return;
    process.stderr.write(`Corporal exited unexpectedly (${code}):\n${corporal.text.join('')}\n`);
    stop(1);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  void finish(1);
});
