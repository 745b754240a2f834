import { join } from 'node:path';

/**
 * The `homeserver.yaml` of a test Synapse, as plain data, following synapse.md §4.2: SQLite (or a
 * PostgreSQL database given by the caller, see postgres-cluster.ts),
 * one plain-HTTP `client` listener on 127.0.0.1 (which also serves `/_synapse/admin`), no federation
 * listener and no federation peers, no outbound key-server traffic, fast bcrypt, and every rate
 * limit of §4.3 raised so that tests which log in, register, join or send a lot never hit 429.
 */

/** Inputs of {@link buildHomeserverConfig}. */
export interface HomeserverConfigParams {
  serverName: string;
  port: number;
  dataDir: string;
  /** Path of the Python logging dictConfig file (see {@link buildLogConfig}). */
  logConfigPath: string;
  signingKeyPath: string;
  registrationSharedSecret: string;
  macaroonSecretKey: string;
  formSecret: string;
  enableRegistration: boolean;
  /** Trust `X-Forwarded-For` from the client (set when a gateway sits in front). */
  xForwarded: boolean;
  /** Also serve the client listener on this Unix socket (Synapse's `listeners: - path:`). */
  unixSocketPath?: string;
  /** Load devture's shared-secret-auth module with this secret, `m.login.password` support on. */
  sharedSecretAuth?: { sharedSecret: string };
  /** Use this PostgreSQL database (trust auth, no password) instead of SQLite in `dataDir`. */
  postgres?: PostgresDatabase;
  /** Deep-merged last: objects merge key by key, anything else (arrays included) replaces. */
  extraConfig?: Record<string, unknown>;
}

/** Where a test Synapse finds its PostgreSQL database (see {@link HomeserverConfigParams.postgres}). */
export interface PostgresDatabase {
  host: string;
  port: number;
  user: string;
  database: string;
}

/**
 * Synapse reads `per_second: 0` as "never refills", not "unlimited" (synapse.md §4.3), so limits
 * are raised to large numbers instead, as Complement does.
 */
const UNLIMITED = { per_second: 9999, burst_count: 9999 } as const;

/** Every `rc_*` rate limit Synapse 1.163.2 reads, raised. Exported for tests that assert coverage. */
export const RAISED_RATE_LIMITS: Readonly<Record<string, unknown>> = Object.freeze({
  rc_message: UNLIMITED,
  rc_registration: UNLIMITED,
  rc_registration_token_validity: UNLIMITED,
  rc_login: { address: UNLIMITED, account: UNLIMITED, failed_attempts: UNLIMITED },
  rc_admin_redaction: UNLIMITED,
  rc_joins: { local: UNLIMITED, remote: UNLIMITED },
  rc_joins_per_room: UNLIMITED,
  rc_3pid_validation: UNLIMITED,
  rc_invites: { per_room: UNLIMITED, per_user: UNLIMITED, per_issuer: UNLIMITED },
  rc_third_party_invite: UNLIMITED,
  rc_media_create: UNLIMITED,
  rc_presence: { per_user: UNLIMITED },
  rc_delayed_event_mgmt: UNLIMITED,
  rc_reports: UNLIMITED,
  rc_room_creation: UNLIMITED,
  rc_user_directory: UNLIMITED,
  rc_key_requests: UNLIMITED,
  rc_profile: UNLIMITED,
  rc_federation: { window_size: 1000, sleep_limit: 9999, sleep_delay: 0, reject_limit: 9999, concurrent: 9999 },
  federation_rr_transactions_per_room_per_second: 9999,
});

/** Builds the whole homeserver configuration; see the module comment. */
export function buildHomeserverConfig(params: HomeserverConfigParams): Record<string, unknown> {
  const { dataDir, port } = params;
  const config: Record<string, unknown> = {
    server_name: params.serverName,
    pid_file: join(dataDir, 'homeserver.pid'),
    public_baseurl: `http://127.0.0.1:${port}/`,
    listeners: [
      {
        port,
        bind_addresses: ['127.0.0.1'],
        type: 'http',
        tls: false,
        x_forwarded: params.xForwarded,
        resources: [{ names: ['client'], compress: false }],
      },
      ...(params.unixSocketPath === undefined
        ? []
        : [{ path: params.unixSocketPath, type: 'http', x_forwarded: params.xForwarded, resources: [{ names: ['client'], compress: false }] }]),
    ],
    database: params.postgres === undefined ? { name: 'sqlite3', args: { database: join(dataDir, 'homeserver.db') } } : postgresDatabaseConfig(params.postgres),
    log_config: params.logConfigPath,
    media_store_path: join(dataDir, 'media_store'),
    signing_key_path: params.signingKeyPath,
    registration_shared_secret: params.registrationSharedSecret,
    macaroon_secret_key: params.macaroonSecretKey,
    form_secret: params.formSecret,
    report_stats: false,
    enable_registration: params.enableRegistration,
    // Open registration without verification is refused at startup unless acknowledged.
    ...(params.enableRegistration ? { enable_registration_without_verification: true } : {}),
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    // An explicit empty list federates with nobody; leaving it out would federate with everybody.
    federation_domain_whitelist: [],
    bcrypt_rounds: 4,
    url_preview_enabled: false,
    presence: { enabled: false },
    enable_metrics: false,
    ...RAISED_RATE_LIMITS,
  };
  if (params.sharedSecretAuth) {
    config['modules'] = [
      {
        module: 'shared_secret_authenticator.SharedSecretAuthProvider',
        config: {
          shared_secret: params.sharedSecretAuth.sharedSecret,
          m_login_password_support_enabled: true,
          com_devture_shared_secret_auth_support_enabled: true,
        },
      },
    ];
  }
  return params.extraConfig ? deepMerge(config, params.extraConfig) : config;
}

/**
 * Synapse's `database` section for psycopg2. `cp_max` is Synapse's default pool size (10); its
 * `cp_min` default (5) is lowered to 1, since a test Synapse mostly idles.
 */
function postgresDatabaseConfig(db: PostgresDatabase): Record<string, unknown> {
  return { name: 'psycopg2', args: { user: db.user, database: db.database, host: db.host, port: db.port, cp_min: 1, cp_max: 10 } };
}

/**
 * A Python `logging.config.dictConfig` for Synapse that writes unbuffered to `logPath`, so the log
 * tail quoted in a start-up failure is complete. Appends: the same file also receives Synapse's
 * redirected stdout/stderr.
 */
export function buildLogConfig(logPath: string): Record<string, unknown> {
  return {
    version: 1,
    formatters: { precise: { format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s' } },
    handlers: { file: { class: 'logging.FileHandler', formatter: 'precise', filename: logPath, mode: 'a', encoding: 'utf8' } },
    // DEBUG on synapse.storage.SQL would log access tokens; keep it at INFO.
    loggers: { 'synapse.storage.SQL': { level: 'INFO' } },
    root: { level: 'INFO', handlers: ['file'] },
    disable_existing_loggers: false,
  };
}

/**
 * Serialises plain JSON data as YAML. YAML is a superset of JSON, so indented JSON is a valid YAML
 * document; refusing non-JSON values (undefined, functions, NaN) keeps what Synapse reads identical
 * to what the caller built.
 */
export function toYaml(value: unknown): string {
  assertJsonData(value, '$');
  return `# Generated by Corporal's test harness (JSON is valid YAML).\n${JSON.stringify(value, null, 2)}\n`;
}

function assertJsonData(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`homeserver config: ${path} is not a finite number`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => assertJsonData(item, `${path}[${index}]`));
    return;
  }
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) assertJsonData(item, `${path}.${key}`);
    return;
  }
  throw new TypeError(`homeserver config: ${path} is not JSON data (${typeof value})`);
}

/** Merges `extra` into `base` without mutating either: plain objects merge, everything else replaces. */
export function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
