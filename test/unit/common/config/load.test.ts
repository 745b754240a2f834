import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  loadConfigFile, MAX_CONFIG_FILE_BYTES, parseConfigObject, parseConfigText, type ConfigResult,
} from '../../../../src/common/config/index.js';
import type { CorporalConfig } from '../../../../src/common/config/types.js';
import { applyChanges, readRepoText, repoFile } from '../../../fixtures/config/fixture-files.js';

const V3_FILE = 'config/matrix-corporal-3.config.json';
const EXAMPLE_FILE = 'config/corporal.example.json';

function configOf(result: ConfigResult): CorporalConfig {
  if (!result.ok) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
  return result.config;
}

/** The smallest valid configuration: only the keys matrix-corporal requires. */
const MINIMAL = {
  Matrix: { HomeserverDomainName: 'example.com', HomeserverApiEndpoint: 'http://127.0.0.1:8008', AuthSharedSecret: 's3cret', TimeoutMilliseconds: 1000 },
  Corporal: { UserID: '@corporal:example.com' },
  Reconciliation: { RetryIntervalMilliseconds: 1000 },
  HttpGateway: { TimeoutMilliseconds: 2000 },
  HttpApi: { TimeoutMilliseconds: 3000 },
  PolicyProvider: { Type: 'last_seen_store_policy', CachePath: '/var/cache/policy.json' },
};

const INTERNAL_AUTH_WARNING = {
  path: 'HttpGateway.InternalRESTAuth.Enabled',
  message: 'HttpGateway.InternalRESTAuth.Enabled is neither explicitly enabled, nor disabled. Interactive Auth may not work without it. Define it as enabled or disabled to get rid of this warning',
};

t.test('a matrix-corporal 3.x config.json loads unchanged, with its defaults', async (t) => {
  const result = await loadConfigFile(repoFile(V3_FILE));
  t.same(result.warnings, []);
  t.same(configOf(result), {
    Matrix: {
      HomeserverDomainName: 'example.com',
      HomeserverApiEndpoint: 'http://matrix-synapse:8008',
      HomeserverApiSocketPath: '',
      AuthSharedSecret: 'zc1EHmCdSH7CxP4gFUuoRY7vyNc3Gr2pdRiSHmWLYeBHO7ddGTxmJ9ipTyAZvaZB',
      RegistrationSharedSecret: 'q8GUyYkK;h9ZHaMU=a#M3vE&nRz_pL7*cWxTb4Dk2sF6',
      TimeoutMilliseconds: 45000,
    },
    Corporal: { UserID: '@matrix-corporal:example.com', AccessToken: null },
    Reconciliation: {
      RetryIntervalMilliseconds: 30000, RetryMaxIntervalMilliseconds: 600000, Concurrency: 8,
      ResyncIntervalMilliseconds: 900000, LiftRateLimits: true, DeactivatedDisplayNameMarker: false, AvatarMaxBytes: 10485760,
    },
    HttpGateway: {
      ListenAddress: '0.0.0.0:41080',
      TimeoutMilliseconds: 60000,
      InternalRESTAuth: { Enabled: true, IPNetworkWhitelist: ['127.0.0.0/8', '172.16.0.0/12', '10.0.0.0/8', 'fd00::/8'] },
      UserMappingResolver: { CacheSize: 10000, ExpirationTimeMilliseconds: 300000 },
      Threads: Math.min(availableParallelism(), 256),
      UpstreamConnections: 128,
      MaxInspectedBodyBytes: 1048576,
      MaxBufferedBytesPerThread: 268435456,
      DrainTimeoutMilliseconds: 10000,
      AllowUwsFallback: false,
      AccessLog: true,
      TrustedProxies: null,
    },
    HttpApi: {
      Enabled: true,
      ListenAddress: '0.0.0.0:41081',
      AuthorizationBearerToken: 'Fq6Rk1Yd0uH2mXw8pVb4Tn7LsZc3Je9GaQy5Wo0Ix2Nr8Ut6Bh1Kd4Mv7Pe3Sg9A',
      MetricsAuthorizationBearerToken: '',
      TimeoutMilliseconds: 15000,
    },
    PolicyProvider: { Type: 'static_file', Path: 'policy.json' },
    Offload: { Threads: 1, MaxQueue: 512, ConcurrentTasksPerWorker: 32 },
    UserAuth: { RestTimeoutMilliseconds: 10000, RestCacheFallback: false, RestCacheTtlMilliseconds: 86400000, RestCacheSize: 1000 },
    Misc: { Debug: false, LogLevel: null },
  });
});

t.test('text and parsed-object input give the same result', async (t) => {
  const text = readRepoText(V3_FILE);
  t.same(parseConfigObject(JSON.parse(text)), parseConfigText(text));
});

t.test('the example sets every key, and loads to exactly what it says', async (t) => {
  const raw = JSON.parse(readRepoText(EXAMPLE_FILE)) as Record<string, unknown>;
  const result = parseConfigObject(raw);
  t.same(result.warnings, []);
  t.same(configOf(result), raw, 'no key of the configuration is missing from the example, none is extra');
});

t.test('defaults: Go zero values, matrix-corporal\'s own defaults, Corporal\'s documented ones', async (t) => {
  const result = parseConfigObject(MINIMAL);
  t.same(result.warnings, [INTERNAL_AUTH_WARNING]);
  const config = configOf(result);
  t.same(config.Matrix.RegistrationSharedSecret, '');
  t.same(config.Corporal, { UserID: '@corporal:example.com', AccessToken: null });
  t.same(config.Reconciliation, {
    RetryIntervalMilliseconds: 1000, RetryMaxIntervalMilliseconds: 600000, Concurrency: 8,
    ResyncIntervalMilliseconds: 900000, LiftRateLimits: true, DeactivatedDisplayNameMarker: false, AvatarMaxBytes: 10485760,
  });
  t.same(config.HttpGateway, {
    ListenAddress: '0.0.0.0:41080', TimeoutMilliseconds: 2000,
    InternalRESTAuth: { Enabled: null, IPNetworkWhitelist: null },
    UserMappingResolver: { CacheSize: 10000, ExpirationTimeMilliseconds: 300000 },
    Threads: Math.min(availableParallelism(), 256), UpstreamConnections: 128, MaxInspectedBodyBytes: 1048576,
    MaxBufferedBytesPerThread: 268435456,
    DrainTimeoutMilliseconds: 10000, AllowUwsFallback: false, AccessLog: true, TrustedProxies: null,
  });
  t.same(config.HttpApi, { Enabled: false, ListenAddress: '0.0.0.0:41081', AuthorizationBearerToken: '', MetricsAuthorizationBearerToken: '', TimeoutMilliseconds: 3000 });
  t.same(config.Offload, { Threads: 1, MaxQueue: 512, ConcurrentTasksPerWorker: 32 });
  t.same(config.UserAuth, { RestTimeoutMilliseconds: 10000, RestCacheFallback: false, RestCacheTtlMilliseconds: 86400000, RestCacheSize: 1000 });
  t.same(config.Misc, { Debug: false, LogLevel: null });
});

t.test('empty strings mean "not set" where a default exists', async (t) => {
  const config = configOf(parseConfigObject(applyChanges(MINIMAL, { set: {
    'HttpGateway.ListenAddress': '', 'HttpApi.ListenAddress': '', 'Corporal.AccessToken': '', 'Misc.LogLevel': '',
    'HttpGateway.UserMappingResolver': { CacheSize: 0, ExpirationTimeMilliseconds: 0 },
  } })));
  t.equal(config.HttpGateway.ListenAddress, '0.0.0.0:41080');
  t.equal(config.HttpApi.ListenAddress, '0.0.0.0:41081');
  t.equal(config.Corporal.AccessToken, null);
  t.equal(config.Misc.LogLevel, null);
  t.same(config.HttpGateway.UserMappingResolver, { CacheSize: 10000, ExpirationTimeMilliseconds: 300000 });
});

t.test('the default retry cap never falls below a longer 3.x retry interval', async (t) => {
  const config = configOf(parseConfigObject(applyChanges(MINIMAL, { set: { 'Reconciliation.RetryIntervalMilliseconds': 1200000 } })));
  t.equal(config.Reconciliation.RetryMaxIntervalMilliseconds, 1200000);
});

t.test('warnings about internal REST auth and the HTTP API', async (t) => {
  const rows: Array<[name: string, set: Record<string, unknown>, warnings: unknown[]]> = [
    ['Enabled missing', {}, [INTERNAL_AUTH_WARNING]],
    ['Enabled false (matrix-corporal warns then too)', { 'HttpGateway.InternalRESTAuth': { Enabled: false } }, [INTERNAL_AUTH_WARNING]],
    ['Enabled null', { 'HttpGateway.InternalRESTAuth': { Enabled: null } }, [INTERNAL_AUTH_WARNING]],
    ['Enabled, default whitelist', { 'HttpGateway.InternalRESTAuth': { Enabled: true, IPNetworkWhitelist: null } }, []],
    ['Enabled, empty whitelist', { 'HttpGateway.InternalRESTAuth': { Enabled: true, IPNetworkWhitelist: [] } }, [{
      path: 'HttpGateway.InternalRESTAuth.IPNetworkWhitelist',
      message: 'An empty IP range whitelist defined for HTTP Internal Auth. All IP addresses will be allowed',
      level: 'info',
    }]],
    ['TrustedProxies trusting every address', { 'HttpGateway.InternalRESTAuth': { Enabled: true }, 'HttpGateway.TrustedProxies': ['0.0.0.0/0', '10.0.0.0/8'] }, [{
      path: 'HttpGateway.TrustedProxies[0]',
      message: 'HttpGateway.TrustedProxies[0] (0.0.0.0/0) trusts every address: any client can choose the address Synapse records for it (X-Forwarded-For)',
    }]],
    ['API enabled without a token', { 'HttpGateway.InternalRESTAuth': { Enabled: true }, 'HttpApi.Enabled': true }, [{
      path: 'HttpApi.AuthorizationBearerToken',
      message: 'HttpApi.AuthorizationBearerToken is empty: every HTTP API request will be refused',
    }]],
    ['API enabled with only a metrics token', { 'HttpGateway.InternalRESTAuth': { Enabled: true }, 'HttpApi.Enabled': true, 'HttpApi.MetricsAuthorizationBearerToken': 'metrics' }, [{
      path: 'HttpApi.AuthorizationBearerToken',
      message: 'HttpApi.AuthorizationBearerToken is empty: every HTTP API request but GET /_matrix/corporal/metrics will be refused',
    }]],
    ['the metrics token is the API token', { 'HttpGateway.InternalRESTAuth': { Enabled: true }, 'HttpApi.AuthorizationBearerToken': 'same', 'HttpApi.MetricsAuthorizationBearerToken': 'same' }, [{
      path: 'HttpApi.MetricsAuthorizationBearerToken',
      message: 'HttpApi.MetricsAuthorizationBearerToken is HttpApi.AuthorizationBearerToken: give the metrics scraper a token of its own, which can read /metrics and nothing else',
    }]],
    ['a metrics token of its own', { 'HttpGateway.InternalRESTAuth': { Enabled: true }, 'HttpApi.AuthorizationBearerToken': 'api', 'HttpApi.MetricsAuthorizationBearerToken': 'metrics' }, []],
    // matrix-corporal only checks the domain suffix: ids outside the grammar load, with a warning.
    ['Corporal.UserID with an empty localpart', { 'HttpGateway.InternalRESTAuth': { Enabled: true }, 'Corporal.UserID': '@:example.com' }, [{
      path: 'Corporal.UserID',
      message: 'Corporal.UserID: user id `@:example.com` has an empty localpart; Corporal cannot log in as it',
    }]],
    ['Corporal.UserID without @', { 'HttpGateway.InternalRESTAuth': { Enabled: true }, 'Corporal.UserID': 'corporal:example.com' }, [{
      path: 'Corporal.UserID',
      message: 'Corporal.UserID: `corporal:example.com` is not a Matrix user id (expected @localpart:domain); Corporal cannot log in as it',
    }]],
    ['Corporal.UserID with a historical (upper-case) localpart: no warning', { 'HttpGateway.InternalRESTAuth': { Enabled: true }, 'Corporal.UserID': '@Admin:example.com' }, []],
  ];
  for (const [name, set, warnings] of rows) {
    const result = parseConfigObject(applyChanges(MINIMAL, { set }));
    t.equal(result.ok, true, `${name}: ok`);
    t.same(result.warnings, warnings, name);
  }
});

t.test('every error is reported at once, each with its path', async (t) => {
  const result = parseConfigText(`{
    "Matrix": {"HomeserverDomainName": "example.com", "HomeserverApiEndpoint": "synapse", "TimeoutMilliseconds": 0},
    "Corporal": {"UserId": "@corporal:example.org"},
    "Reconciliation": {"RetryIntervalMilliseconds": "30s"},
    "HttpGateway": {"ListenAddress": "41080", "InternalRESTAuth": {"Enabled": true, "IPNetworkWhitelist": ["nope"]}},
    "HttpApi": {"TimeoutMilliseconds": -1},
    "PolicyProvider": {"Type": "http", "Uri": "http://x/p"},
    "Misc": {"LogLevel": "loud"}
  }`);
  t.equal(result.ok, false);
  t.same(result.ok ? [] : result.errors, [
    { path: 'Reconciliation.RetryIntervalMilliseconds', message: 'Reconciliation.RetryIntervalMilliseconds is expected to be an integer, got a string' },
    { path: 'Corporal.UserID', message: 'Reconciliation user `@corporal:example.org` (specified in Corporal.UserID) is not hosted on the managed homeserver domain (example.com)' },
    { path: 'Matrix.TimeoutMilliseconds', message: 'Matrix.TimeoutMilliseconds needs to be a positive number' },
    { path: 'HttpGateway.TimeoutMilliseconds', message: 'HttpGateway.TimeoutMilliseconds needs to be a positive number' },
    { path: 'HttpApi.TimeoutMilliseconds', message: 'HttpApi.TimeoutMilliseconds needs to be a positive number' },
    { path: 'Matrix.HomeserverApiEndpoint', message: 'Matrix.HomeserverApiEndpoint needs to be an http(s) URL, such as http://127.0.0.1:8008 (it is not an absolute http(s) URL)' },
    { path: 'Matrix.AuthSharedSecret', message: 'Matrix.AuthSharedSecret needs to be set: it is the key of the managed users\' passwords' },
    { path: 'HttpGateway.ListenAddress', message: 'HttpGateway.ListenAddress needs to be host:port, such as 0.0.0.0:41080, [::]:41080 or :41080 (got "41080")' },
    { path: 'HttpGateway.InternalRESTAuth.IPNetworkWhitelist[0]', message: 'HttpGateway.InternalRESTAuth.IPNetworkWhitelist[0] is not a valid CIDR network such as 10.0.0.0/8 or fc00::/7 (got "nope")' },
    { path: 'Misc.LogLevel', message: 'Misc.LogLevel needs to be one of trace, debug, info, warn, error, fatal (got "loud")' },
    { path: 'PolicyProvider.AuthorizationBearerToken', message: 'HTTP provider is missing a required configuration key: AuthorizationBearerToken' },
    { path: 'PolicyProvider.CachePath', message: 'HTTP provider is missing a required configuration key: CachePath' },
    { path: 'PolicyProvider.ReloadIntervalSeconds', message: 'HTTP provider is missing a required configuration key: ReloadIntervalSeconds' },
    { path: 'PolicyProvider.TimeoutMilliseconds', message: 'HTTP provider is missing a required configuration key: TimeoutMilliseconds' },
  ]);
});

t.test('a document that is not an object is one error', async (t) => {
  for (const text of ['[]', '"config"', '42', 'true']) {
    const result = parseConfigText(text);
    t.same(result, { ok: false, errors: [{ path: '', message: `The configuration is expected to be an object, got ${text === '[]' ? 'an array' : text === '42' ? 'an integer' : text === 'true' ? 'a boolean' : 'a string'}` }], warnings: [] }, text);
  }
});

t.test('values JSON cannot hold are errors in parseConfigObject; undefined properties are absent', async (t) => {
  const result = parseConfigObject({ ...MINIMAL, Misc: { Debug: undefined, LogLevel: () => 'debug' }, HttpGateway: { TimeoutMilliseconds: Number.NaN } });
  t.same(result.ok ? [] : result.errors, [
    { path: 'HttpGateway.TimeoutMilliseconds', message: 'HttpGateway.TimeoutMilliseconds is not a JSON value (NaN)' },
    { path: 'Misc.LogLevel', message: 'Misc.LogLevel is not a JSON value (function)' },
  ]);
});

t.test('no secret value ever appears in a message', async (t) => {
  const secrets = { 'Matrix.AuthSharedSecret': 918273645, 'Matrix.RegistrationSharedSecret': ['Zq9-secret-Zq9'], 'HttpApi.AuthorizationBearerToken': { t: 'Xy7-secret-Xy7' }, 'Corporal.AccessToken': 564738291 };
  const result = parseConfigObject(applyChanges(MINIMAL, { set: secrets }));
  const text = JSON.stringify(result);
  for (const needle of ['918273645', 'Zq9-secret-Zq9', 'Xy7-secret-Xy7', '564738291']) t.notMatch(text, needle, needle);
  t.equal(result.ok ? 0 : result.errors.length, 4);
});

t.test('syntax errors name line:column', async (t) => {
  const result = parseConfigText('{\n  "Matrix": {\n    "TimeoutMilliseconds": 45000,\n  }\n}');
  t.same(result, { ok: false, errors: [{ path: '', message: "Invalid JSON at 4:3: unexpected character '}'; expected a string key" }], warnings: [] });
});

t.test('text after the configuration object is ignored with a warning (Go\'s json.Decoder ignores it)', async (t) => {
  const result = parseConfigText(`${JSON.stringify(MINIMAL)}\n}\n`);
  t.equal(result.ok, true);
  t.same(result.warnings[0], { path: '', message: 'The text after the configuration object (from 2:1) is ignored' });
});

t.test('loadConfigFile reports file problems as issues and never throws', async (t) => {
  const dir = t.testdir({
    'broken.json': '{\n  "Matrix": [1,,2]\n}',
    'latin1.json': Buffer.from([0x7b, 0x22, 0x4d, 0x69, 0x73, 0x63, 0x22, 0x3a, 0x7b, 0x22, 0x4c, 0x6f, 0x67, 0x4c, 0x65, 0x76, 0x65, 0x6c, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d, 0x7d]),
    'big.json': `{"Misc": {"Debug": false}${' '.repeat(MAX_CONFIG_FILE_BYTES)}}`,
    'sub': {},
  });
  const rows: Array<[file: string, pattern: RegExp]> = [
    ['missing.json', /^Cannot read the configuration file: ENOENT: no such file or directory/],
    ['sub', /^Cannot read the configuration file: .*sub is not a regular file \(it is a directory\)$/],
    ['big.json', /^Cannot read the configuration file: .*big\.json is larger than 1048576 bytes$/],
    ['broken.json', /^Invalid JSON at 2:16: unexpected character ','; expected a value$/],
  ];
  for (const [file, pattern] of rows) {
    const result = await loadConfigFile(join(dir, file));
    t.equal(result.ok, false, file);
    t.match(result.ok ? [] : result.errors, [{ path: '', message: pattern }], file);
    t.equal(result.ok ? 0 : result.errors.length, 1, `${file}: one issue`);
  }
  const latin1 = await loadConfigFile(join(dir, 'latin1.json'));
  t.same((latin1.ok ? [] : latin1.errors).find((e) => e.path === 'Misc.LogLevel'),
    { path: 'Misc.LogLevel', message: 'Misc.LogLevel needs to be one of trace, debug, info, warn, error, fatal (got "\ufffd")' },
    'invalid UTF-8 becomes U+FFFD, as in Go');
});
