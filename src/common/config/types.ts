/**
 * The validated, normalised configuration that every part of Corporal reads.
 *
 * Key names and nesting are matrix-corporal 3.x's (`Matrix.HomeserverDomainName`, …), so that a
 * matrix-corporal `config.json` loads unchanged; keys Corporal adds are marked "Corporal only".
 * Every field is filled in by the loader (defaults applied), so readers never see `undefined`.
 * The object is plain data: it crosses thread and process boundaries by structured clone.
 */
export interface CorporalConfig {
  Matrix: MatrixConfig;
  Corporal: CorporalUserConfig;
  Reconciliation: ReconciliationConfig;
  HttpGateway: HttpGatewayConfig;
  HttpApi: HttpApiConfig;
  /** Raw provider settings; keys are case-sensitive, as in matrix-corporal. */
  PolicyProvider: PolicyProviderConfig;
  /** Corporal only: the Piscina pool each gateway thread owns. */
  Offload: OffloadConfig;
  /** Corporal only: how managed users are authenticated against `rest` services. */
  UserAuth: UserAuthConfig;
  Misc: MiscConfig;
}

/** How Corporal reaches the homeserver and the secrets it shares with it. */
export interface MatrixConfig {
  /** server_name of the homeserver; a user id belongs to it when it ends in `:` + this. */
  HomeserverDomainName: string;
  /** Base URL of Synapse's client listener, e.g. `http://127.0.0.1:8008`. */
  HomeserverApiEndpoint: string;
  /**
   * Corporal: a Unix socket of Synapse's client listener (`listeners: - path: …`); `""` = TCP to
   * `HomeserverApiEndpoint`. When set, every connection to the homeserver (gateway and reconciler)
   * goes over this socket, and `HomeserverApiEndpoint` only gives the `Host` header and path prefix.
   */
  HomeserverApiSocketPath: string;
  /** Key of the `hex(HMAC-SHA512(key, mxid))` password given to Synapse for managed users. */
  AuthSharedSecret: string;
  /** Synapse `registration_shared_secret` (shared-secret registration). */
  RegistrationSharedSecret: string;
  /** Upstream response-header timeout and the reconciler's per-call timeout (> 0). */
  TimeoutMilliseconds: number;
}

/** The admin account Corporal acts as. */
export interface CorporalUserConfig {
  /** Full MXID of the admin user; must be on `Matrix.HomeserverDomainName`. */
  UserID: string;
  /**
   * Corporal only: an access token of `UserID` to use instead of logging in with the derived
   * password. `null` (default; `""` is read as null) means: log in (registering the admin through
   * shared-secret registration first when it does not exist yet).
   */
  AccessToken: string | null;
}

/** The reconcile loop (control child). */
export interface ReconciliationConfig {
  /** Base delay before a failed item is retried (> 0); doubles up to `RetryMaxIntervalMilliseconds`. */
  RetryIntervalMilliseconds: number;
  /** Corporal only: cap of the retry backoff. Default 600000 (10 min), or `RetryIntervalMilliseconds` when larger. */
  RetryMaxIntervalMilliseconds: number;
  /** Corporal only: Synapse requests in flight at once while observing and applying. Default 8. */
  Concurrency: number;
  /** Corporal only: full drift-correcting pass every this many ms; 0 disables. Default 900000 (15 min). */
  ResyncIntervalMilliseconds: number;
  /** Corporal only: lift the admin user's rate limits with Synapse's override API at start. Default true. */
  LiftRateLimits: boolean;
  /** Corporal only: prefix inactive users' display names with matrix-corporal's "[x] " marker. Default false. */
  DeactivatedDisplayNameMarker: boolean;
  /** Corporal only: largest avatar source accepted (bytes). Default 10485760 (10 MiB). */
  AvatarMaxBytes: number;
}

/** The firewalling gateway (gateway threads). */
export interface HttpGatewayConfig {
  /** `host:port` the gateway listens on. Default (also when `""`) `0.0.0.0:41080`. */
  ListenAddress: string;
  /** Cap on one whole exchange (> 0, ≥ `Matrix.TimeoutMilliseconds`); streaming bodies that keep moving are exempt. */
  TimeoutMilliseconds: number;
  InternalRESTAuth: InternalRestAuthConfig;
  UserMappingResolver: UserMappingResolverConfig;
  /** Corporal only: gateway threads (each with its own uWS app on the same port). Default: available cores. */
  Threads: number;
  /** Corporal only: keep-alive connections to Synapse per gateway thread for all but long-polls (those get their own, uncapped; docs/gateway.md). Default 128. */
  UpstreamConnections: number;
  /** Corporal only: largest request/response body a check or hook may buffer (bytes). Default 1048576. */
  MaxInspectedBodyBytes: number;
  /**
   * Corporal only: the bytes of buffered (inspected) bodies one gateway thread may hold at once;
   * a request needing more while it is spent gets 503. Default 268435456 (256 MiB).
   */
  MaxBufferedBytesPerThread: number;
  /** Corporal only: how long SIGTERM/SIGINT/SIGHUP waits for in-flight requests. Default 10000. */
  DrainTimeoutMilliseconds: number;
  /** Corporal only: start even when uWebSockets.js' native module cannot load (slow fallback). Default false. */
  AllowUwsFallback: boolean;
  /** Corporal only: log one line per request (never tokens or bodies). Default true. */
  AccessLog: boolean;
  /**
   * Corporal only: the reverse proxies (CIDRs or single addresses) whose `X-Forwarded-For` the
   * gateway believes. `null` (default) = loopback, private and link-local networks; `[]` = none
   * (every TCP peer is the client). See upstream/forwarded-for.ts.
   */
  TrustedProxies: string[] | null;
}

/** The internal REST auth endpoint called by Synapse's REST password provider. */
export interface InternalRestAuthConfig {
  /** `null` means "not set" (a startup warning, as in matrix-corporal); only `true` enables it. */
  Enabled: boolean | null;
  /** CIDRs allowed to call it; `null` = private/local ranges, `[]` = everyone. */
  IPNetworkWhitelist: string[] | null;
}

/** Access token → user id cache (`/account/whoami`). */
export interface UserMappingResolverConfig {
  /** Entries kept; default 10000 (also when 0). */
  CacheSize: number;
  /** Time to live of positive and negative entries; default 300000 (also when 0). */
  ExpirationTimeMilliseconds: number;
}

/** The HTTP API (control child, own port). */
export interface HttpApiConfig {
  Enabled: boolean;
  /** `host:port`. Default (also when `""`) `0.0.0.0:41081`. */
  ListenAddress: string;
  /** Bearer token callers must present (constant-time comparison). */
  AuthorizationBearerToken: string;
  /**
   * Corporal only: a second token accepted by `GET /_matrix/corporal/metrics` and nothing else, for
   * Prometheus, which should not hold the token that can push a policy. `""`: none.
   */
  MetricsAuthorizationBearerToken: string;
  /** Per-request time limit (> 0, even when disabled, as in matrix-corporal). */
  TimeoutMilliseconds: number;
}

/** Raw policy-provider settings (`Type` plus type-specific, case-sensitive keys). */
export interface PolicyProviderConfig {
  Type: string;
  [key: string]: unknown;
}

/** Corporal only: the Piscina pool owned by each gateway thread (password hashing, REST auth, hook consultations). */
export interface OffloadConfig {
  /** Pool threads per gateway thread. Default 1. */
  Threads: number;
  /** Tasks waiting beyond the running ones before new work is refused with 503 + Retry-After. Default 512. */
  MaxQueue: number;
  /** Concurrent async tasks (REST calls) per pool thread. Default 32. */
  ConcurrentTasksPerWorker: number;
}

/** Corporal only: `rest` authentication settings. */
export interface UserAuthConfig {
  /** Timeout of one call to a `rest` auth service. Default 10000. */
  RestTimeoutMilliseconds: number;
  /**
   * When a `rest` service is unreachable, accept a (user, password, URL) combination that it
   * accepted within `RestCacheTtlMilliseconds` (matrix-corporal's documented, never-wired fallback).
   * Default false.
   */
  RestCacheFallback: boolean;
  /** How long a successful `rest` result may serve as fallback. Default 86400000 (24 h). */
  RestCacheTtlMilliseconds: number;
  /** Entries of that cache. Default 1000. */
  RestCacheSize: number;
}

/** Logging. */
export interface MiscConfig {
  /** matrix-corporal's switch: debug level logs (tokens are still never logged). */
  Debug: boolean;
  /** Corporal only: explicit level (`trace`…`fatal`); overrides `Debug` when set. Default null (also when `""`). */
  LogLevel: LogLevel | null;
}

/** pino log levels accepted by `Misc.LogLevel`. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
