import { availableParallelism } from 'node:os';
import type { CorporalConfig, LogLevel, PolicyProviderConfig } from './types.js';

/** `HttpGateway.ListenAddress` when empty: matrix-corporal's documented gateway port, every IPv4 interface. */
export const DEFAULT_GATEWAY_LISTEN_ADDRESS = '0.0.0.0:41080';
/** `HttpApi.ListenAddress` when empty: matrix-corporal's documented API port, every IPv4 interface. */
export const DEFAULT_API_LISTEN_ADDRESS = '0.0.0.0:41081';

/** The default thread count stays within the validated range (1–256) even on very large machines. */
const MAX_DEFAULT_GATEWAY_THREADS = 256;

type Section = Record<string, unknown>;

/**
 * Builds the complete configuration from a decoded, type-checked document (every value present has
 * the schema's type; anything may be missing). A missing matrix-corporal key gets its Go zero value
 * (0, "", false), to which matrix-corporal's own defaults apply (`UserMappingResolver` 0 →
 * 10000 / 300000); an empty listen address gets the documented port. A missing Corporal-only key
 * gets the default documented in types.ts. Nothing is validated here (see rules.ts).
 */
export function applyConfigDefaults(doc: Section): CorporalConfig {
  const matrix = section(doc, 'Matrix');
  const corporal = section(doc, 'Corporal');
  const reconciliation = section(doc, 'Reconciliation');
  const gateway = section(doc, 'HttpGateway');
  const restAuth = section(gateway, 'InternalRESTAuth');
  const resolver = section(gateway, 'UserMappingResolver');
  const api = section(doc, 'HttpApi');
  const offload = section(doc, 'Offload');
  const userAuth = section(doc, 'UserAuth');
  const misc = section(doc, 'Misc');
  const retryInterval = int(reconciliation, 'RetryIntervalMilliseconds', 0);
  return {
    Matrix: {
      HomeserverDomainName: str(matrix, 'HomeserverDomainName', ''),
      HomeserverApiEndpoint: str(matrix, 'HomeserverApiEndpoint', ''),
      HomeserverApiSocketPath: str(matrix, 'HomeserverApiSocketPath', ''),
      AuthSharedSecret: str(matrix, 'AuthSharedSecret', ''),
      RegistrationSharedSecret: str(matrix, 'RegistrationSharedSecret', ''),
      TimeoutMilliseconds: int(matrix, 'TimeoutMilliseconds', 0),
    },
    Corporal: {
      UserID: str(corporal, 'UserID', ''),
      // "" is how templating tools write "not set"; it would never be a usable token.
      AccessToken: str(corporal, 'AccessToken', '') || null,
    },
    Reconciliation: {
      RetryIntervalMilliseconds: retryInterval,
      // A 3.x config may already retry less often than our default cap: never cap below it.
      RetryMaxIntervalMilliseconds: int(reconciliation, 'RetryMaxIntervalMilliseconds', Math.max(600_000, retryInterval)),
      Concurrency: int(reconciliation, 'Concurrency', 8),
      ResyncIntervalMilliseconds: int(reconciliation, 'ResyncIntervalMilliseconds', 900_000),
      LiftRateLimits: bool(reconciliation, 'LiftRateLimits', true),
      DeactivatedDisplayNameMarker: bool(reconciliation, 'DeactivatedDisplayNameMarker', false),
      AvatarMaxBytes: int(reconciliation, 'AvatarMaxBytes', 10_485_760),
    },
    HttpGateway: {
      ListenAddress: str(gateway, 'ListenAddress', '') || DEFAULT_GATEWAY_LISTEN_ADDRESS,
      TimeoutMilliseconds: int(gateway, 'TimeoutMilliseconds', 0),
      InternalRESTAuth: {
        Enabled: nullable(restAuth, 'Enabled', (v): v is boolean => typeof v === 'boolean'),
        IPNetworkWhitelist: nullable(restAuth, 'IPNetworkWhitelist', (v): v is string[] => Array.isArray(v)),
      },
      UserMappingResolver: {
        CacheSize: int(resolver, 'CacheSize', 0) || 10_000,
        ExpirationTimeMilliseconds: int(resolver, 'ExpirationTimeMilliseconds', 0) || 300_000,
      },
      // Port 0 gives each thread its own random port, which works with one thread only: the default
      // follows, so a config that never set `Threads` keeps working (verification 18, V3).
      Threads: int(gateway, 'Threads', /:0$/.test(str(gateway, 'ListenAddress', '')) ? 1 : Math.min(availableParallelism(), MAX_DEFAULT_GATEWAY_THREADS)),
      UpstreamConnections: int(gateway, 'UpstreamConnections', 128),
      MaxInspectedBodyBytes: int(gateway, 'MaxInspectedBodyBytes', 1_048_576),
      MaxBufferedBytesPerThread: int(gateway, 'MaxBufferedBytesPerThread', 268_435_456),
      DrainTimeoutMilliseconds: int(gateway, 'DrainTimeoutMilliseconds', 10_000),
      AllowUwsFallback: bool(gateway, 'AllowUwsFallback', false),
      AccessLog: bool(gateway, 'AccessLog', true),
      TrustedProxies: nullable(gateway, 'TrustedProxies', (v): v is string[] => Array.isArray(v)),
    },
    HttpApi: {
      Enabled: bool(api, 'Enabled', false),
      ListenAddress: str(api, 'ListenAddress', '') || DEFAULT_API_LISTEN_ADDRESS,
      AuthorizationBearerToken: str(api, 'AuthorizationBearerToken', ''),
      MetricsAuthorizationBearerToken: str(api, 'MetricsAuthorizationBearerToken', ''),
      TimeoutMilliseconds: int(api, 'TimeoutMilliseconds', 0),
    },
    // Validated separately (validateProviderConfig); until then `Type` may be absent.
    PolicyProvider: section(doc, 'PolicyProvider') as PolicyProviderConfig,
    Offload: {
      Threads: int(offload, 'Threads', 1),
      MaxQueue: int(offload, 'MaxQueue', 512),
      ConcurrentTasksPerWorker: int(offload, 'ConcurrentTasksPerWorker', 32),
    },
    UserAuth: {
      RestTimeoutMilliseconds: int(userAuth, 'RestTimeoutMilliseconds', 10_000),
      RestCacheFallback: bool(userAuth, 'RestCacheFallback', false),
      RestCacheTtlMilliseconds: int(userAuth, 'RestCacheTtlMilliseconds', 86_400_000),
      RestCacheSize: int(userAuth, 'RestCacheSize', 1000),
    },
    Misc: {
      Debug: bool(misc, 'Debug', false),
      // Checked against the pino levels by rules.ts.
      LogLevel: (str(misc, 'LogLevel', '') || null) as LogLevel | null,
    },
  };
}

function section(parent: Section, key: string): Section {
  const value = parent[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Section) : {};
}

function str(s: Section, key: string, fallback: string): string {
  const value = s[key];
  return typeof value === 'string' ? value : fallback;
}

function int(s: Section, key: string, fallback: number): number {
  const value = s[key];
  return typeof value === 'number' ? value : fallback;
}

function bool(s: Section, key: string, fallback: boolean): boolean {
  const value = s[key];
  return typeof value === 'boolean' ? value : fallback;
}

function nullable<T>(s: Section, key: string, isT: (v: unknown) => v is T): T | null {
  const value = s[key];
  return isT(value) ? value : null;
}
