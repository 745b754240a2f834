import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient } from './control-plane-api.js';
import { derivedPassword } from '../../src/common/derived-password.js';
import { TEST_AUTH_SHARED_SECRET, testConfigRaw, type RawConfig } from './corporal-config.js';
import { ensureStopped, startCorporalProcess } from './corporal-process.js';
import { findFreePort } from './free-port.js';
import { createRoom } from './matrix-client.js';
import { startSynapse, type StartSynapseOptions, type SynapseHandle } from './start-synapse.js';
import { startGate } from './tcp-gate.js';

/** `Corporal.UserID` of {@link testConfigRaw} on server name `localhost`. */
export const TEST_CORPORAL_USER = '@corporal:localhost';

/**
 * A test Synapse whose harness admin is Corporal's own user, created with the password Corporal
 * derives from {@link TEST_AUTH_SHARED_SECRET}: Corporal logs in as it, and the rooms a test creates
 * with `hs.admin.accessToken` are Corporal's (joined, power 100). `options` go to `startSynapse`.
 * Stopped at teardown.
 */
export async function synapseWithCorporalAdmin(t: { teardown(fn: () => unknown): void }, options: Omit<StartSynapseOptions, 'adminPassword' | 'adminLocalpart'> = {}): Promise<SynapseHandle> {
  const hs = await startSynapse({ ...options, adminPassword: derivedPassword(TEST_AUTH_SHARED_SECRET, TEST_CORPORAL_USER) });
  t.teardown(() => hs.stop());
  return hs;
}

/** Options of {@link serveAgainst}. */
export interface ServeAgainstOptions {
  /** `Matrix.HomeserverApiEndpoint`. */
  homeserverUrl: string;
  /** The homeserver's `registration_shared_secret`. */
  registrationSharedSecret: string;
  /** Sections merged over `testConfigRaw`'s (one level deep). */
  overrides?: RawConfig;
}

/**
 * A `corporal serve` subprocess (one gateway thread, the HTTP API on, `last_seen_store_policy` in a
 * temp dir) against a homeserver on server name `localhost`. Stopped and cleaned up at teardown.
 */
export async function serveAgainst(t: { teardown(fn: () => unknown): void }, options: ServeAgainstOptions) {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-serve-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [gatewayPort, apiPort] = [await findFreePort(), await findFreePort()];
  const overrides = options.overrides ?? {};
  const raw = testConfigRaw({
    homeserverUrl: options.homeserverUrl,
    gatewayPort,
    apiPort,
    threads: 1,
    policyCachePath: join(dir, 'last-seen.json'),
    overrides: { ...overrides, Matrix: { ...overrides['Matrix'], RegistrationSharedSecret: options.registrationSharedSecret } },
  });
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(raw));
  const corporal = startCorporalProcess(['serve', '--config', configPath]);
  t.teardown(() => ensureStopped(corporal));
  return { corporal, api: apiClient(apiPort), dir, gatewayUrl: `http://127.0.0.1:${gatewayPort}` };
}

/**
 * A Synapse with one public room (created by its harness admin, who is not the corporal user:
 * Corporal registers `@corporal:localhost` itself), behind a closed TCP gate (`startGate`), and
 * `corporal serve` pointed at the gate with the given retry timings and no periodic resync: a
 * Synapse that is down until the test opens the gate. Everything is stopped at teardown.
 */
export async function serveBehindGate(t: { teardown(fn: () => unknown): void }, retry: { RetryIntervalMilliseconds: number; RetryMaxIntervalMilliseconds: number }) {
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const room = await createRoom(hs.baseUrl, hs.admin.accessToken, { preset: 'public_chat' });
  const gate = await startGate(hs.port);
  t.teardown(() => gate.close());
  const served = await serveAgainst(t, {
    homeserverUrl: gate.url,
    registrationSharedSecret: hs.registrationSharedSecret,
    overrides: { Reconciliation: { ...retry, ResyncIntervalMilliseconds: 0 } },
  });
  return { ...served, hs, room, gate };
}
