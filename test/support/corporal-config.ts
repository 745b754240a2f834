import { parseConfigObject } from '../../src/common/config/index.js';
import type { CorporalConfig } from '../../src/common/config/types.js';

/** Raw (matrix-corporal-style) configuration sections, as a test writes them. */
export type RawConfig = Record<string, Record<string, unknown>>;

/** `Matrix.AuthSharedSecret` of {@link testConfigRaw}. */
export const TEST_AUTH_SHARED_SECRET = 'test-auth-shared-secret';

/** Options of {@link testConfigRaw}. */
export interface TestConfigOptions {
  homeserverUrl?: string;
  serverName?: string;
  gatewayPort: number;
  apiPort?: number;
  threads?: number;
  policyCachePath: string;
  /** Sections merged over the defaults (one level deep). */
  overrides?: RawConfig;
}

/**
 * A raw configuration for tests: gateway and API on 127.0.0.1, short timeouts, a push-style policy
 * provider. Pass it to `writeFile` for the CLI, or to {@link testConfig} for an in-process supervisor.
 */
export function testConfigRaw(options: TestConfigOptions): RawConfig {
  const serverName = options.serverName ?? 'localhost';
  const raw: RawConfig = {
    Matrix: {
      HomeserverDomainName: serverName,
      HomeserverApiEndpoint: options.homeserverUrl ?? 'http://127.0.0.1:9',
      AuthSharedSecret: TEST_AUTH_SHARED_SECRET,
      RegistrationSharedSecret: 'test-registration-shared-secret',
      TimeoutMilliseconds: 5000,
    },
    Corporal: { UserID: `@corporal:${serverName}` },
    Reconciliation: { RetryIntervalMilliseconds: 1000 },
    HttpGateway: {
      ListenAddress: `127.0.0.1:${options.gatewayPort}`,
      TimeoutMilliseconds: 10000,
      InternalRESTAuth: { Enabled: false },
      Threads: options.threads ?? 2,
      DrainTimeoutMilliseconds: 3000,
    },
    HttpApi: {
      Enabled: options.apiPort !== undefined,
      ListenAddress: `127.0.0.1:${options.apiPort ?? 0}`,
      AuthorizationBearerToken: 'test-api-token',
      TimeoutMilliseconds: 5000,
    },
    PolicyProvider: { Type: 'last_seen_store_policy', CachePath: options.policyCachePath },
    Misc: { Debug: false },
  };
  for (const [section, values] of Object.entries(options.overrides ?? {})) {
    raw[section] = { ...(raw[section] ?? {}), ...values };
  }
  return raw;
}

/** The validated configuration for {@link testConfigRaw}'s options; throws listing the problems if invalid. */
export function testConfig(options: TestConfigOptions): CorporalConfig {
  const result = parseConfigObject(testConfigRaw(options));
  if (!result.ok) throw new Error(`test configuration invalid: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return result.config;
}
