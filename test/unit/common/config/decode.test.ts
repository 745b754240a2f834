import t from 'tap';
import { parseConfigText, type ConfigIssue, type ConfigResult } from '../../../../src/common/config/index.js';
import type { CorporalConfig } from '../../../../src/common/config/types.js';

/** A valid configuration; `extra` members come after it, so they override (or merge into) it. */
function withBase(extra = ''): string {
  return `{
    "Matrix": {"HomeserverDomainName": "example.com", "HomeserverApiEndpoint": "http://127.0.0.1:8008",
               "AuthSharedSecret": "s3cret", "TimeoutMilliseconds": 1000},
    "Corporal": {"UserID": "@corporal:example.com"},
    "Reconciliation": {"RetryIntervalMilliseconds": 1000},
    "HttpGateway": {"TimeoutMilliseconds": 2000, "InternalRESTAuth": {"Enabled": true}},
    "HttpApi": {"TimeoutMilliseconds": 3000},
    "PolicyProvider": {"Type": "static_file", "Path": "policy.json"}
    ${extra === '' ? '' : `, ${extra}`}
  }`;
}

function configOf(result: ConfigResult): CorporalConfig {
  if (!result.ok) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
  return result.config;
}

/** Warnings other than the repeated-section ones every `withBase(extra)` causes. */
function extraWarnings(result: ConfigResult): ConfigIssue[] {
  return result.warnings.filter((w) => w.path.includes('.') || !w.message.includes(' is given more than once '));
}

t.test('the base is valid and warning-free', async (t) => {
  const result = parseConfigText(withBase());
  t.equal(result.ok, true);
  t.same(result.warnings, []);
});

t.test('keys match case-insensitively in every typed section', async (t) => {
  const result = parseConfigText(`{
    "matrix": {"homeserverdomainname": "example.com", "HOMESERVERAPIENDPOINT": "http://127.0.0.1:8008",
               "authSharedSecret": "s3cret", "TimeoutMilliSeconds": 1000},
    "CORPORAL": {"userid": "@corporal:example.com"},
    "reconciliation": {"retryIntervalMilliseconds": 1000, "liftratelimits": false},
    "httpgateway": {"timeoutmilliseconds": 2000, "threads": 3,
      "internalrestauth": {"enabled": true, "ipnetworkwhitelist": ["10.0.0.0/8"]},
      "usermappingresolver": {"cachesize": 5, "EXPIRATIONTIMEMILLISECONDS": 6}},
    "HttpAPI": {"timeoutMILLISECONDS": 3000, "enabled": true, "authorizationbearertoken": "tok", "METRICSauthorizationbearertoken": "mtok"},
    "policyprovider": {"Type": "static_file", "Path": "policy.json"},
    "offload": {"maxqueue": 7}, "userauth": {"restcachesize": 9}, "MISC": {"debug": true, "loglevel": "warn"}
  }`);
  const config = configOf(result);
  t.same(result.warnings, []);
  t.equal(config.Matrix.HomeserverDomainName, 'example.com');
  t.equal(config.Matrix.HomeserverApiEndpoint, 'http://127.0.0.1:8008');
  t.equal(config.Matrix.TimeoutMilliseconds, 1000);
  t.equal(config.Corporal.UserID, '@corporal:example.com');
  t.equal(config.Reconciliation.LiftRateLimits, false);
  t.equal(config.HttpGateway.Threads, 3);
  t.same(config.HttpGateway.InternalRESTAuth, { Enabled: true, IPNetworkWhitelist: ['10.0.0.0/8'] });
  t.same(config.HttpGateway.UserMappingResolver, { CacheSize: 5, ExpirationTimeMilliseconds: 6 });
  t.same(config.HttpApi, { Enabled: true, ListenAddress: '0.0.0.0:41081', AuthorizationBearerToken: 'tok', MetricsAuthorizationBearerToken: 'mtok', TimeoutMilliseconds: 3000 });
  t.equal(config.Offload.MaxQueue, 7);
  t.equal(config.UserAuth.RestCacheSize, 9);
  t.same(config.Misc, { Debug: true, LogLevel: 'warn' });
});

t.test('UserId (the documented spelling), UserID (the struct) and userid are one key', async (t) => {
  for (const key of ['UserId', 'UserID', 'userid', 'USERID']) {
    const config = configOf(parseConfigText(withBase(`"Corporal": {"${key}": "@other:example.com"}`)));
    t.equal(config.Corporal.UserID, '@other:example.com', key);
  }
});

t.test('Go\'s Unicode folding: the Kelvin sign matches k and the long s matches s; Turkish i\'s match nothing', async (t) => {
  const result = parseConfigText(withBase('"Mi\\u017Fc": {"Debug": true}, "Corporal": {"AccessTo\\u212Aen": "tok"}'));
  const config = configOf(result);
  t.equal(config.Misc.Debug, true);
  t.equal(config.Corporal.AccessToken, 'tok');
  t.same(extraWarnings(result), []);
  const near = parseConfigText(withBase('"M\\u00e4trix": {}, "Misc ": {}, "Corporal": {"User\\u0130D": "@x:example.com", "User\\u0131D": "@y:example.com"}'));
  t.same(extraWarnings(near).map((w) => w.path), ['M\u00e4trix', 'Misc ', 'Corporal.User\u0130D', 'Corporal.User\u0131D']);
  t.equal(configOf(near).Corporal.UserID, '@corporal:example.com');
});

t.test('several keys for one field: the last one in document order wins, with a warning', async (t) => {
  const result = parseConfigText(withBase(
    '"Corporal": {"UserID": "@a:example.com", "userid": "@b:example.com", "UserID": "@c:example.com"}',
  ));
  t.equal(configOf(result).Corporal.UserID, '@c:example.com');
  t.same(result.warnings, [
    { path: 'Corporal', message: 'Corporal is given more than once ("Corporal", then "Corporal"); the objects are merged and, where both set a key, the later one wins' },
    { path: 'Corporal.UserID', message: 'Corporal.UserID is given more than once ("UserID", then "userid"); the later one wins' },
    { path: 'Corporal.UserID', message: 'Corporal.UserID is given more than once ("userid", then "UserID"); the later one wins' },
  ]);
});

t.test('a repeated section is merged into the earlier one, as Go decodes into the existing struct', async (t) => {
  const config = configOf(parseConfigText(withBase(
    '"httpgateway": {"Threads": 4, "UserMappingResolver": {"CacheSize": 11}}, "HTTPGATEWAY": {"UserMappingResolver": {"ExpirationTimeMilliseconds": 12}}',
  )));
  t.equal(config.HttpGateway.TimeoutMilliseconds, 2000, 'from the first object');
  t.equal(config.HttpGateway.Threads, 4, 'from the second');
  t.same(config.HttpGateway.UserMappingResolver, { CacheSize: 11, ExpirationTimeMilliseconds: 12 });
});

t.test('a repeated PolicyProvider adds to the same map (keys are case-sensitive)', async (t) => {
  const config = configOf(parseConfigText(withBase('"policyProvider": {"Path": "other.json", "path": "x"}')));
  t.same(config.PolicyProvider, { Type: 'static_file', Path: 'other.json', path: 'x' });
});

t.test('a new list replaces the old one', async (t) => {
  const config = configOf(parseConfigText(withBase(
    '"HttpGateway": {"InternalRESTAuth": {"IPNetworkWhitelist": ["10.0.0.0/8", "::1/128"]}}, "httpGateway": {"InternalRESTAuth": {"IPNetworkWhitelist": ["192.168.0.0/16"]}}',
  )));
  t.same(config.HttpGateway.InternalRESTAuth.IPNetworkWhitelist, ['192.168.0.0/16']);
});

t.test('null leaves a plain field unchanged and resets a nullable one', async (t) => {
  const config = configOf(parseConfigText(withBase(`
    "Matrix": {"TimeoutMilliseconds": null, "HomeserverDomainName": null},
    "HttpGateway": {"InternalRESTAuth": {"Enabled": null, "IPNetworkWhitelist": null}, "Threads": null},
    "Corporal": {"AccessToken": "tok"}, "corporal": {"AccessToken": null},
    "Misc": null`)));
  t.equal(config.Matrix.TimeoutMilliseconds, 1000);
  t.equal(config.Matrix.HomeserverDomainName, 'example.com');
  t.same(config.HttpGateway.InternalRESTAuth, { Enabled: null, IPNetworkWhitelist: null });
  t.ok(config.HttpGateway.Threads >= 1, 'a null Corporal-only number keeps its default');
  t.equal(config.Corporal.AccessToken, null);
  t.same(config.Misc, { Debug: false, LogLevel: null });
});

t.test('a null document is all zero values, as in Go', async (t) => {
  const result = parseConfigText('null');
  t.equal(result.ok, false);
  t.ok(!result.ok && result.errors.some((e) => e.message === 'Matrix.TimeoutMilliseconds needs to be a positive number'));
});

t.test('int fields take integer literals only, as Go\'s strconv.ParseInt', async (t) => {
  for (const literal of ['1000.0', '1e3', '1000.5', '1E+3']) {
    const result = parseConfigText(withBase(`"Matrix": {"TimeoutMilliseconds": ${literal}}`));
    t.same(result.ok ? [] : result.errors, [{
      path: 'Matrix.TimeoutMilliseconds',
      message: 'Matrix.TimeoutMilliseconds is expected to be an integer, got a number with a fraction or an exponent',
    }], literal);
  }
  const minusZero = parseConfigText(withBase('"Matrix": {"TimeoutMilliseconds": -0}'));
  t.same(minusZero.ok ? [] : minusZero.errors.map((e) => e.message), ['Matrix.TimeoutMilliseconds needs to be a positive number']);
});

t.test('unknown keys are ignored with a warning naming their path', async (t) => {
  const result = parseConfigText(withBase(
    '"Foo": 1, "Matrix": {"Bar": {"x": 1}}, "Reconciliation": {"UserId": "@old:example.com"}, "HttpGateway": {"InternalRESTAuth": {"Whitelist": []}}, "__proto__": {"Debug": true}',
  ));
  const config = configOf(result);
  t.same(extraWarnings(result).map((w) => [w.path, w.message]), [
    ['Foo', 'Foo is not a known configuration key; it is ignored'],
    ['Matrix.Bar', 'Matrix.Bar is not a known configuration key; it is ignored'],
    ['Reconciliation.UserId', 'Reconciliation.UserId is not a known configuration key; it is ignored'],
    ['HttpGateway.InternalRESTAuth.Whitelist', 'HttpGateway.InternalRESTAuth.Whitelist is not a known configuration key; it is ignored'],
    ['__proto__', '__proto__ is not a known configuration key; it is ignored'],
  ]);
  t.notOk('Foo' in config);
  t.notOk('Bar' in config.Matrix);
  t.equal(({} as Record<string, unknown>)['Debug'], undefined, 'no prototype was touched');
});

t.test('Matrix.ReconciliatorUserId is accepted, unused and warned about', async (t) => {
  const result = parseConfigText(withBase('"Matrix": {"ReconciliatorUserId": "@old:example.com"}'));
  const config = configOf(result);
  t.notOk('ReconciliatorUserId' in config.Matrix);
  t.same(extraWarnings(result), [{
    path: 'Matrix.ReconciliatorUserId',
    message: 'Matrix.ReconciliatorUserId is ignored: it is unused (as in matrix-corporal 3.x); the admin user is Corporal.UserID',
  }]);
});

t.test('PolicyProvider keeps its keys and values exactly', async (t) => {
  const config = configOf(parseConfigText(withBase(
    '"PolicyProvider": {"Type": "http", "Uri": "http://127.0.0.1:9/p", "AuthorizationBearerToken": "t", "CachePath": null, "ReloadIntervalSeconds": 1.5, "TimeoutMilliseconds": 100, "Extra": {"__proto__": 1, "n": [1]}}',
  )));
  const provider = config.PolicyProvider;
  t.equal(provider['ReloadIntervalSeconds'], 1.5);
  t.equal(provider['CachePath'], null);
  t.same(Object.keys(provider['Extra'] as object), ['__proto__', 'n']);
  t.equal(Object.getPrototypeOf(provider['Extra']), Object.prototype);
});
