import { foldKey } from '../key-fold.js';

/**
 * The Go type of one configuration field, which decides how JSON binds to it:
 * - `string` / `integer` / `boolean`: a Go value; `null` leaves it unchanged. With `nullable` it is
 *   a Go pointer instead, and `null` resets it to null.
 * - `string-list`: `*[]string` (null resets it; a new list replaces the old one).
 * - `map`: `map[string]interface{}`; keys are kept exactly (case-sensitive), a repeated object
 *   adds to the same map, null resets it.
 * - `struct`: keys match field names case-insensitively; a repeated object is merged into it.
 */
export type FieldShape =
  | { kind: 'string' | 'integer' | 'boolean'; nullable: boolean; ignoredBecause?: string }
  | { kind: 'string-list' }
  | { kind: 'map' }
  | StructShape;

/** A Go struct: its fields, and the index Go uses to find a field by a JSON key. */
export interface StructShape {
  kind: 'struct';
  fields: Readonly<Record<string, FieldShape>>;
  /** Folded name → canonical name (see {@link foldKey}). */
  byFoldedName: ReadonlyMap<string, string>;
}

function struct(fields: Record<string, FieldShape>): StructShape {
  const byFoldedName = new Map(Object.keys(fields).map((name) => [foldKey(name), name] as const));
  return { kind: 'struct', fields: Object.freeze(fields), byFoldedName };
}

const string: FieldShape = { kind: 'string', nullable: false };
const integer: FieldShape = { kind: 'integer', nullable: false };
const boolean: FieldShape = { kind: 'boolean', nullable: false };
const nullableString: FieldShape = { kind: 'string', nullable: true };
const nullableBoolean: FieldShape = { kind: 'boolean', nullable: true };

/**
 * Every key the configuration knows: matrix-corporal 3.x's `Configuration` struct plus Corporal's
 * own keys (documented in types.ts and docs/configuration.md). Loader, schema and key matching are
 * all derived from this one table.
 */
export const CONFIG_SHAPE: StructShape = struct({
  Matrix: struct({
    HomeserverDomainName: string,
    HomeserverApiEndpoint: string,
    HomeserverApiSocketPath: string,
    AuthSharedSecret: string,
    RegistrationSharedSecret: string,
    // A field of matrix-corporal's struct that nothing reads since 2.0: accepted, type-checked, unused.
    ReconciliatorUserId: {
      kind: 'string',
      nullable: false,
      ignoredBecause: 'it is unused (as in matrix-corporal 3.x); the admin user is Corporal.UserID',
    },
    TimeoutMilliseconds: integer,
  }),
  Corporal: struct({
    UserID: string,
    AccessToken: nullableString,
  }),
  Reconciliation: struct({
    RetryIntervalMilliseconds: integer,
    RetryMaxIntervalMilliseconds: integer,
    Concurrency: integer,
    ResyncIntervalMilliseconds: integer,
    LiftRateLimits: boolean,
    DeactivatedDisplayNameMarker: boolean,
    AvatarMaxBytes: integer,
  }),
  HttpGateway: struct({
    ListenAddress: string,
    TimeoutMilliseconds: integer,
    InternalRESTAuth: struct({
      Enabled: nullableBoolean,
      IPNetworkWhitelist: { kind: 'string-list' },
    }),
    UserMappingResolver: struct({
      CacheSize: integer,
      ExpirationTimeMilliseconds: integer,
    }),
    Threads: integer,
    UpstreamConnections: integer,
    MaxInspectedBodyBytes: integer,
    MaxBufferedBytesPerThread: integer,
    DrainTimeoutMilliseconds: integer,
    AllowUwsFallback: boolean,
    AccessLog: boolean,
    TrustedProxies: { kind: 'string-list' },
  }),
  HttpApi: struct({
    Enabled: boolean,
    ListenAddress: string,
    AuthorizationBearerToken: string,
    MetricsAuthorizationBearerToken: string,
    TimeoutMilliseconds: integer,
  }),
  PolicyProvider: { kind: 'map' },
  Offload: struct({
    Threads: integer,
    MaxQueue: integer,
    ConcurrentTasksPerWorker: integer,
  }),
  UserAuth: struct({
    RestTimeoutMilliseconds: integer,
    RestCacheFallback: boolean,
    RestCacheTtlMilliseconds: integer,
    RestCacheSize: integer,
  }),
  Misc: struct({
    Debug: boolean,
    LogLevel: nullableString,
  }),
});
