import t from 'tap';
import { buildHomeserverConfig, buildLogConfig, deepMerge, RAISED_RATE_LIMITS, toYaml, type HomeserverConfigParams } from '../../support/homeserver-config.js';

const params: HomeserverConfigParams = {
  serverName: 'localhost',
  port: 18008,
  dataDir: '/data',
  logConfigPath: '/data/log.config',
  signingKeyPath: '/data/localhost.signing.key',
  registrationSharedSecret: 'reg',
  macaroonSecretKey: 'mac',
  formSecret: 'form',
  enableRegistration: false,
  xForwarded: false,
};

/** Every `{per_second, burst_count}` pair in a config value, with its path. */
function limitPairs(value: unknown, path: string, out: [string, number, number][] = []): [string, number, number][] {
  if (typeof value !== 'object' || value === null) return out;
  const record = value as Record<string, unknown>;
  if ('per_second' in record) out.push([path, Number(record['per_second']), Number(record['burst_count'])]);
  for (const [key, item] of Object.entries(record)) limitPairs(item, `${path}.${key}`, out);
  return out;
}

t.test('the generated config follows synapse.md §4.2', async (t) => {
  const config = buildHomeserverConfig(params);
  t.match(config, {
    server_name: 'localhost',
    public_baseurl: 'http://127.0.0.1:18008/',
    pid_file: '/data/homeserver.pid',
    database: { name: 'sqlite3', args: { database: '/data/homeserver.db' } },
    log_config: '/data/log.config',
    media_store_path: '/data/media_store',
    signing_key_path: '/data/localhost.signing.key',
    registration_shared_secret: 'reg',
    macaroon_secret_key: 'mac',
    form_secret: 'form',
    report_stats: false,
    enable_registration: false,
    suppress_key_server_warning: true,
    bcrypt_rounds: 4,
    url_preview_enabled: false,
    presence: { enabled: false },
    enable_metrics: false,
  });
  t.same(config['trusted_key_servers'], [], 'no outbound key-server traffic');
  t.same(config['federation_domain_whitelist'], [], 'federates with nobody');
  t.same(config['listeners'], [
    { port: 18008, bind_addresses: ['127.0.0.1'], type: 'http', tls: false, x_forwarded: false, resources: [{ names: ['client'], compress: false }] },
  ]);
  t.notOk('modules' in config, 'no module unless asked');
  t.notOk('enable_registration_without_verification' in config);
});

t.test('every rate limit is raised far above what a test does', async (t) => {
  const config = buildHomeserverConfig(params);
  const pairs = limitPairs(config, '$');
  // Every {per_second, burst_count} setting read by synapse/config/ratelimiting.py in 1.163.2.
  const synapseLimits = [
    'rc_message', 'rc_registration', 'rc_registration_token_validity', 'rc_login.address', 'rc_login.account',
    'rc_login.failed_attempts', 'rc_admin_redaction', 'rc_joins.local', 'rc_joins.remote', 'rc_joins_per_room',
    'rc_3pid_validation', 'rc_invites.per_room', 'rc_invites.per_user', 'rc_invites.per_issuer', 'rc_third_party_invite',
    'rc_media_create', 'rc_presence.per_user', 'rc_delayed_event_mgmt', 'rc_reports', 'rc_room_creation',
    'rc_user_directory', 'rc_key_requests', 'rc_profile',
  ];
  t.same(pairs.map(([path]) => path.slice(2)).sort(), [...synapseLimits].sort());
  t.match(config['rc_federation'], { sleep_limit: 9999, reject_limit: 9999, concurrent: 9999 });
  for (const [path, perSecond, burst] of pairs) t.ok(perSecond >= 1000 && burst >= 1000, `${path} raised`);
  for (const key of Object.keys(RAISED_RATE_LIMITS)) t.same(config[key], RAISED_RATE_LIMITS[key], `${key} present`);
});

t.test('options: shared-secret auth module, registration, x_forwarded', async (t) => {
  const config = buildHomeserverConfig({ ...params, sharedSecretAuth: { sharedSecret: 's3' }, enableRegistration: true, xForwarded: true });
  t.same(config['modules'], [
    {
      module: 'shared_secret_authenticator.SharedSecretAuthProvider',
      config: { shared_secret: 's3', m_login_password_support_enabled: true, com_devture_shared_secret_auth_support_enabled: true },
    },
  ]);
  t.equal(config['enable_registration'], true);
  t.equal(config['enable_registration_without_verification'], true);
  t.match(config['listeners'], [{ x_forwarded: true }]);
});

t.test('a PostgreSQL database replaces SQLite: psycopg2, no password, a small pool', async (t) => {
  const config = buildHomeserverConfig({ ...params, postgres: { host: '127.0.0.1', port: 45432, user: 'corporal', database: 'synapse' } });
  t.same(config['database'], { name: 'psycopg2', args: { user: 'corporal', database: 'synapse', host: '127.0.0.1', port: 45432, cp_min: 1, cp_max: 10 } });
  t.notMatch(toYaml(config), /homeserver\.db/, 'no SQLite file is configured');
});

t.test('extraConfig merges objects key by key and replaces everything else', async (t) => {
  const config = buildHomeserverConfig({
    ...params,
    extraConfig: { rc_login: { address: { per_second: 1, burst_count: 2 } }, trusted_key_servers: [{ server_name: 'x' }], presence: { enabled: true }, new_key: 7 },
  });
  t.same(config['rc_login'], { ...(RAISED_RATE_LIMITS['rc_login'] as object), address: { per_second: 1, burst_count: 2 } });
  t.same(config['trusted_key_servers'], [{ server_name: 'x' }]);
  t.same(config['presence'], { enabled: true });
  t.equal(config['new_key'], 7);
  const base = { a: { b: 1, c: [1] } };
  t.same(deepMerge(base, { a: { c: [2] } }), { a: { b: 1, c: [2] } });
  t.same(base, { a: { b: 1, c: [1] } }, 'inputs are not mutated');
});

t.test('toYaml writes JSON (a YAML subset) and refuses non-JSON values', async (t) => {
  const config = buildHomeserverConfig(params);
  const yaml = toYaml(config);
  t.match(yaml, /^#/);
  t.same(JSON.parse(yaml.slice(yaml.indexOf('\n') + 1)), config);
  t.throws(() => toYaml({ a: { b: Number.NaN } }), { message: /\$\.a\.b is not a finite number/ });
  t.throws(() => toYaml({ a: [undefined] }), { message: /\$\.a\[0\] is not JSON data/ });
  t.throws(() => toYaml({ a: new Date() }), { message: /\$\.a is not JSON data/ });
});

t.test('the log config writes unbuffered to one file and keeps SQL logging at INFO', async (t) => {
  t.match(buildLogConfig('/data/homeserver.log'), {
    handlers: { file: { class: 'logging.FileHandler', filename: '/data/homeserver.log', mode: 'a' } },
    loggers: { 'synapse.storage.SQL': { level: 'INFO' } },
    root: { handlers: ['file'] },
  });
});
