import { isIP } from 'node:net';
import { isIPv6 } from 'node:net';
import { parseListenAddress } from '../listen-address.js';
import { parseCidr, parseNetwork } from './cidr.js';
import type { ConfigIssue } from './issues.js';
import { providerConfigWarnings, validateProviderConfig } from './provider-rules.js';
import type { CorporalConfig, LogLevel } from './types.js';
import { checkHttpUrl, hasUserInfo } from '../http-url.js';
import { isServerName } from '../server-name.js';
import { checkUserId } from '../matrix-ids.js';
import { MAX_TIMER_MS } from '../timer-limit.js';

/** Errors and warnings of {@link checkConfigRules}. */
export interface RuleResult {
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

/**
 * Every integer (durations, sizes and counts alike) is capped at the timer ceiling unless it has a
 * range of its own: for a duration a larger value would fire at once, for the others it is a
 * mistake, never a wish.
 */
const INT_MAX = MAX_TIMER_MS;

/** The pino levels `Misc.LogLevel` accepts. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/**
 * Keys whose rule also reads other keys (path → the other paths). When one of those failed to
 * decode, the loader drops the rule's error: it would be about a value the operator never wrote —
 * zero for a matrix-corporal key, the default for a Corporal-only key (`MaxInspectedBodyBytes:
 * "2048"` takes its 1 MiB default, which the per-thread budget would then be compared with).
 * Every cross-check is listed, also those that a zero value happens not to trigger.
 */
export const RULE_INPUTS: ReadonlyMap<string, readonly string[]> = new Map([
  ['Corporal.UserID', ['Matrix.HomeserverDomainName']],
  ['HttpGateway.MaxBufferedBytesPerThread', ['HttpGateway.MaxInspectedBodyBytes']],
  ['Reconciliation.RetryMaxIntervalMilliseconds', ['Reconciliation.RetryIntervalMilliseconds']],
  ['HttpGateway.TimeoutMilliseconds', ['Matrix.TimeoutMilliseconds']],
]);

/**
 * Upper bounds of the cache sizes. lru-cache reserves every slot when the cache is built (about
 * 28 bytes each, empty, 44 with a TTL), so a size is memory taken at start, not a ceiling reached only under
 * load: 2^31 − 1 aborted the whole process (V8 "invalid table size"). `CacheSize` sizes about
 * 2.25 × its value in slots per gateway thread (identities, known tokens, a quarter for negative
 * answers): about 83 bytes per unit, so 10 million is ~830 MB reserved per thread, beyond any
 * homeserver's active tokens. `RestCacheSize` is one cache per thread of `rest` users' logins: a
 * million is ~44 MB.
 */
const MAX_USER_MAPPING_CACHE_SIZE = 10_000_000;
const MAX_REST_CACHE_SIZE = 1_000_000;

/** Allowed range of each Corporal-only number (and matrix-corporal numbers it leaves unchecked). */
const RANGES: ReadonlyArray<readonly [path: string, min: number, max: number]> = Object.freeze([
  ['HttpGateway.UserMappingResolver.CacheSize', 1, MAX_USER_MAPPING_CACHE_SIZE],
  ['HttpGateway.UserMappingResolver.ExpirationTimeMilliseconds', 1, INT_MAX],
  ['Reconciliation.RetryMaxIntervalMilliseconds', 1, INT_MAX],
  ['Reconciliation.Concurrency', 1, 1024],
  ['Reconciliation.ResyncIntervalMilliseconds', 0, INT_MAX],
  ['Reconciliation.AvatarMaxBytes', 1, INT_MAX],
  ['HttpGateway.Threads', 1, 256],
  ['HttpGateway.UpstreamConnections', 1, INT_MAX],
  ['HttpGateway.MaxInspectedBodyBytes', 1024, INT_MAX],
  ['HttpGateway.MaxBufferedBytesPerThread', 1024, INT_MAX],
  ['HttpGateway.DrainTimeoutMilliseconds', 0, INT_MAX],
  ['Offload.Threads', 1, 256],
  ['Offload.MaxQueue', 0, INT_MAX],
  ['Offload.ConcurrentTasksPerWorker', 1, INT_MAX],
  ['UserAuth.RestTimeoutMilliseconds', 1, INT_MAX],
  ['UserAuth.RestCacheTtlMilliseconds', 1, INT_MAX],
  ['UserAuth.RestCacheSize', 1, MAX_REST_CACHE_SIZE],
]);

/**
 * The semantic rules of a defaulted configuration. matrix-corporal's rules come first, in its
 * order and with its messages (it stops at the first; we report all), then Corporal's additions.
 */
export function checkConfigRules(config: CorporalConfig): RuleResult {
  const out: RuleResult = { errors: [], warnings: [] };
  checkReferenceRules(config, out);
  checkMatrixRules(config, out);
  checkListenAddress(out, 'HttpGateway.ListenAddress', config.HttpGateway.ListenAddress);
  checkListenAddress(out, 'HttpApi.ListenAddress', config.HttpApi.ListenAddress);
  checkListenAddressUse(config, out);
  for (const [path, min, max] of RANGES) checkRange(out, path, valueAt(config, path), min, max);
  const { RetryIntervalMilliseconds: retry, RetryMaxIntervalMilliseconds: retryMax } = config.Reconciliation;
  if (retry > 0 && retryMax > 0 && retryMax < retry) {
    out.errors.push({
      path: 'Reconciliation.RetryMaxIntervalMilliseconds',
      message: `Reconciliation.RetryMaxIntervalMilliseconds (${retryMax}) needs to be at least Reconciliation.RetryIntervalMilliseconds (${retry})`,
    });
  }
  const { MaxInspectedBodyBytes: perBody, MaxBufferedBytesPerThread: perThread } = config.HttpGateway;
  if (perThread < perBody) {
    out.errors.push({
      path: 'HttpGateway.MaxBufferedBytesPerThread',
      message: `HttpGateway.MaxBufferedBytesPerThread (${perThread}) needs to be at least HttpGateway.MaxInspectedBodyBytes (${perBody})`,
    });
  }
  checkRestAuthWhitelist(config, out);
  checkTrustedProxies(config, out);
  if (config.HttpApi.Enabled && config.HttpApi.AuthorizationBearerToken === '') {
    const refused = config.HttpApi.MetricsAuthorizationBearerToken === '' ? 'every HTTP API request' : 'every HTTP API request but GET /_matrix/corporal/metrics';
    out.warnings.push({ path: 'HttpApi.AuthorizationBearerToken', message: `HttpApi.AuthorizationBearerToken is empty: ${refused} will be refused` });
  }
  const metricsToken = config.HttpApi.MetricsAuthorizationBearerToken;
  if (metricsToken !== '' && metricsToken === config.HttpApi.AuthorizationBearerToken) {
    // The point of a metrics token is that the scraper cannot push a policy or mint tokens.
    out.warnings.push({ path: 'HttpApi.MetricsAuthorizationBearerToken', message: 'HttpApi.MetricsAuthorizationBearerToken is HttpApi.AuthorizationBearerToken: give the metrics scraper a token of its own, which can read /metrics and nothing else' });
  }
  const level = config.Misc.LogLevel;
  if (level !== null && !LOG_LEVELS.includes(level)) {
    out.errors.push({ path: 'Misc.LogLevel', message: `Misc.LogLevel needs to be one of ${LOG_LEVELS.join(', ')} (got "${level}")` });
  }
  const providerErrors = validateProviderConfig(config.PolicyProvider);
  out.errors.push(...providerErrors);
  if (providerErrors.length === 0) out.warnings.push(...providerConfigWarnings(config.PolicyProvider));
  return out;
}

/** matrix-corporal's `validateConfiguration`, rule for rule. */
function checkReferenceRules(config: CorporalConfig, out: RuleResult): void {
  const { UserID } = config.Corporal;
  const domain = config.Matrix.HomeserverDomainName;
  if (!UserID.endsWith(`:${domain}`)) {
    out.errors.push({
      path: 'Corporal.UserID',
      message: `Reconciliation user \`${UserID}\` (specified in Corporal.UserID) is not hosted on the managed homeserver domain (${domain})`,
    });
  }
  checkRange(out, 'Matrix.TimeoutMilliseconds', config.Matrix.TimeoutMilliseconds, 1, INT_MAX);
  checkRange(out, 'Reconciliation.RetryIntervalMilliseconds', config.Reconciliation.RetryIntervalMilliseconds, 1, INT_MAX);
  const gatewayTimeout = config.HttpGateway.TimeoutMilliseconds;
  const matrixTimeout = config.Matrix.TimeoutMilliseconds;
  checkRange(out, 'HttpGateway.TimeoutMilliseconds', gatewayTimeout, 1, INT_MAX);
  // The reference says "larger" but accepts equal values; so do we.
  if (gatewayTimeout > 0 && gatewayTimeout < matrixTimeout) {
    out.errors.push({
      path: 'HttpGateway.TimeoutMilliseconds',
      message: `HttpGateway.TimeoutMilliseconds (${gatewayTimeout}) needs to be larger than Matrix.TimeoutMilliseconds (${matrixTimeout})`,
    });
  }
  const { Enabled, IPNetworkWhitelist } = config.HttpGateway.InternalRESTAuth;
  if (Enabled !== true) {
    out.warnings.push({
      path: 'HttpGateway.InternalRESTAuth.Enabled',
      message: 'HttpGateway.InternalRESTAuth.Enabled is neither explicitly enabled, nor disabled. Interactive Auth may not work without it. Define it as enabled or disabled to get rid of this warning',
    });
  } else if (IPNetworkWhitelist !== null && IPNetworkWhitelist.length === 0) {
    out.warnings.push({
      path: 'HttpGateway.InternalRESTAuth.IPNetworkWhitelist',
      message: 'An empty IP range whitelist defined for HTTP Internal Auth. All IP addresses will be allowed',
      level: 'info',
    });
  }
  checkRange(out, 'HttpApi.TimeoutMilliseconds', config.HttpApi.TimeoutMilliseconds, 1, INT_MAX);
}

/** Corporal's additions about the homeserver. */
function checkMatrixRules(config: CorporalConfig, out: RuleResult): void {
  const { HomeserverDomainName: domain, HomeserverApiEndpoint: endpoint } = config.Matrix;
  if (domain === '') {
    out.errors.push({ path: 'Matrix.HomeserverDomainName', message: 'Matrix.HomeserverDomainName needs to be set' });
  } else if (!isServerName(domain)) {
    out.errors.push({ path: 'Matrix.HomeserverDomainName', message: `Matrix.HomeserverDomainName needs to be a Matrix server name such as example.com (got "${domain}")` });
  }
  const endpointProblem = checkHttpUrl(endpoint);
  if (endpointProblem !== null) {
    out.errors.push({ path: 'Matrix.HomeserverApiEndpoint', message: `Matrix.HomeserverApiEndpoint needs to be an http(s) URL, such as http://127.0.0.1:8008 (it ${endpointProblem})` });
  } else if (hasUserInfo(endpoint)) {
    // Corporal connects to the endpoint's origin and never sends these; a password written there
    // would only end up wherever the endpoint is shown (`corporal check`, an operator's notes).
    out.warnings.push({ path: 'Matrix.HomeserverApiEndpoint', message: 'Matrix.HomeserverApiEndpoint holds a user name or password, which Corporal never sends: remove them' });
  }
  // matrix-corporal only checks the domain suffix, so a user id it took stays loadable; but one
  // outside the grammar (`@:example.com`, no `@`) can never log in, which is worth saying now.
  const userId = config.Corporal.UserID;
  const userIdProblem = userId.endsWith(`:${domain}`) ? checkUserId(userId, domain).error : null;
  if (userIdProblem !== null) {
    out.warnings.push({ path: 'Corporal.UserID', message: `Corporal.UserID: ${userIdProblem}; Corporal cannot log in as it` });
  }
  checkSocketPath(config.Matrix, out);
  // The managed users' passwords are HMAC-SHA512(AuthSharedSecret, mxid), and Corporal sets them as
  // real Synapse passwords: with an empty key anyone could compute every managed user's password.
  if (config.Matrix.AuthSharedSecret === '') {
    out.errors.push({ path: 'Matrix.AuthSharedSecret', message: 'Matrix.AuthSharedSecret needs to be set: it is the key of the managed users\' passwords' });
  }
}

/** Longest path a Unix socket address holds on Linux (`sun_path` is 108 bytes with the final NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

/** `Matrix.HomeserverApiSocketPath`: absolute, short enough for `sun_path`, and plain HTTP. */
function checkSocketPath(matrix: CorporalConfig['Matrix'], out: RuleResult): void {
  const path = 'Matrix.HomeserverApiSocketPath';
  const socketPath = matrix.HomeserverApiSocketPath;
  if (socketPath === '') return;
  if (!socketPath.startsWith('/')) {
    out.errors.push({ path, message: `${path} needs to be an absolute path, such as /run/synapse/client.sock (got "${socketPath}")` });
  } else if (Buffer.byteLength(socketPath, 'utf8') > MAX_SOCKET_PATH_BYTES) {
    out.errors.push({ path, message: `${path} is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a Unix socket path may have` });
  }
  // Synapse cannot serve TLS on a Unix listener; an https endpoint would make every request fail.
  if (matrix.HomeserverApiEndpoint.toLowerCase().startsWith('https:')) {
    out.errors.push({ path, message: `${path} needs an http:// Matrix.HomeserverApiEndpoint (a Unix socket carries no TLS; the endpoint's host is only the Host header)` });
  }
}

function checkListenAddress(out: RuleResult, path: string, address: string): void {
  const parsed = parseListenAddress(address);
  if (parsed !== null && (parsed.host === null || isIP(parsed.host) !== 0 || isHostName(parsed.host))) return;
  out.errors.push({ path, message: `${path} needs to be host:port, such as 0.0.0.0:41080, [::]:41080 or :41080 (got "${address}")` });
}

/**
 * How the two listen addresses are used. Port 0 gives each gateway thread its own random port and
 * start-up reports only the first, so it only works with one thread. The gateway and the API on
 * one address would fail at the listen probe with "already in use (is another corporal
 * instance…)", which points elsewhere; said here, with both keys named.
 */
function checkListenAddressUse(config: CorporalConfig, out: RuleResult): void {
  const gateway = parseListenAddress(config.HttpGateway.ListenAddress);
  if (gateway === null) return;
  if (gateway.port === 0 && config.HttpGateway.Threads > 1) {
    out.errors.push({
      path: 'HttpGateway.ListenAddress',
      message: `HttpGateway.ListenAddress has port 0 (a random port per thread), which only works with HttpGateway.Threads 1 (got ${config.HttpGateway.Threads})`,
    });
  }
  const api = config.HttpApi.Enabled ? parseListenAddress(config.HttpApi.ListenAddress) : null;
  if (api !== null && api.port !== 0 && api.port === gateway.port && hostsOverlap(api.host, gateway.host)) {
    out.errors.push({
      path: 'HttpApi.ListenAddress',
      message: `HttpApi.ListenAddress (${config.HttpApi.ListenAddress}) and HttpGateway.ListenAddress (${config.HttpGateway.ListenAddress}) use the same port on the same interface: give them different ports`,
    });
  }
}

/** Whether two listen hosts share an interface: the same host, or either one every interface. */
function hostsOverlap(a: string | null, b: string | null): boolean {
  // No host and `::` listen on every address of both families (dual stack); `0.0.0.0` only on
  // IPv4's, so an IPv6 address binds beside it (verification 18, V5).
  const dualStack = (host: string | null): boolean => host === null || host === '::';
  if (dualStack(a) || dualStack(b) || a === b) return true;
  if (a === '0.0.0.0') return !isIPv6(b!);
  if (b === '0.0.0.0') return !isIPv6(a!);
  return false;
}

function checkRestAuthWhitelist(config: CorporalConfig, out: RuleResult): void {
  const list = config.HttpGateway.InternalRESTAuth.IPNetworkWhitelist ?? [];
  list.forEach((cidr, i) => {
    if (parseCidr(cidr) !== null) return;
    const path = `HttpGateway.InternalRESTAuth.IPNetworkWhitelist[${i}]`;
    out.errors.push({ path, message: `${path} is not a valid CIDR network such as 10.0.0.0/8 or fc00::/7 (got "${cidr}")` });
  });
}

/**
 * `HttpGateway.TrustedProxies`: networks or addresses. Trusting a /0 network gives every client
 * the choice of the address Synapse records (and rate-limits by): allowed, but said out loud.
 */
function checkTrustedProxies(config: CorporalConfig, out: RuleResult): void {
  (config.HttpGateway.TrustedProxies ?? []).forEach((text, i) => {
    const path = `HttpGateway.TrustedProxies[${i}]`;
    const network = parseNetwork(text);
    if (network === null) {
      out.errors.push({ path, message: `${path} needs to be an IP address or CIDR network such as 10.0.0.0/8, 192.0.2.10 or fc00::/7 (got "${text}")` });
    } else if (network.prefix === 0) {
      out.warnings.push({ path, message: `${path} (${text}) trusts every address: any client can choose the address Synapse records for it (X-Forwarded-For)` });
    }
  });
}

/**
 * matrix-corporal keys where 0 means the default (the loader has already put the default in): a
 * value below the range is a negative one, and the message says so rather than "positive".
 */
const ZERO_MEANS_DEFAULT: ReadonlySet<string> = new Set(['HttpGateway.UserMappingResolver.CacheSize', 'HttpGateway.UserMappingResolver.ExpirationTimeMilliseconds']);

function checkRange(out: RuleResult, path: string, value: number, min: number, max: number): void {
  if (value > max) out.errors.push({ path, message: `${path} needs to be at most ${max}` });
  if (value >= min) return;
  const requirement = ZERO_MEANS_DEFAULT.has(path)
    ? 'zero (the default) or a positive number'
    : min === 1 ? 'a positive number' : min === 0 ? 'zero or a positive number' : `at least ${min}`;
  out.errors.push({ path, message: `${path} needs to be ${requirement}` });
}

function valueAt(config: CorporalConfig, path: string): number {
  let current: unknown = config;
  for (const key of path.split('.')) current = (current as Record<string, unknown>)[key];
  return current as number;
}

/** An RFC 1123 host name (`localhost`, `corporal`, `gw.example.com`). */
function isHostName(text: string): boolean {
  return text.length <= 253 && /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(text);
}
