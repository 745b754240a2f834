import type { ConfigIssue } from './issues.js';
import { checkHttpUrl } from '../http-url.js';
import { MAX_TIMER_MS } from '../timer-limit.js';

/** The policy provider types (`PolicyProvider.Type`), as in matrix-corporal. */
export const PROVIDER_TYPES = Object.freeze(['static_file', 'http', 'last_seen_store_policy'] as const);

/** One of {@link PROVIDER_TYPES}. */
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** The keys each provider type reads (besides `Type`); for `http` all of them must be present. */
const PROVIDER_KEYS: Readonly<Record<ProviderType, readonly string[]>> = Object.freeze({
  static_file: ['Path'],
  http: ['Uri', 'AuthorizationBearerToken', 'CachePath', 'ReloadIntervalSeconds', 'TimeoutMilliseconds'],
  last_seen_store_policy: ['CachePath'],
});

/** Largest `ReloadIntervalSeconds` whose millisecond value a Node timer can hold (2147483). */
const MAX_RELOAD_INTERVAL_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/**
 * Checks a raw `PolicyProvider` map (keys are case-sensitive, as in matrix-corporal) and returns
 * every error; an empty list means a provider of `provider.Type` can be built from it. Messages are
 * matrix-corporal's. Paths are `PolicyProvider.<key>`.
 */
export function validateProviderConfig(provider: Record<string, unknown>): ConfigIssue[] {
  const type = provider['Type'];
  if (!Object.hasOwn(provider, 'Type') || type === null || type === '') {
    return [{ path: 'PolicyProvider.Type', message: `provider configuration is missing a type${miscasedHint(provider, 'Type')}` }];
  }
  switch (type) {
    case 'static_file':
      return requireNonEmptyString(provider, 'Path', 'static file provider requires a Path');
    case 'last_seen_store_policy':
      return requireNonEmptyString(provider, 'CachePath', 'Last Seen Store Policy provider requires a CachePath');
    case 'http':
      return validateHttpProvider(provider);
    default:
      return [{ path: 'PolicyProvider.Type', message: `unknown provider type: ${typeof type === 'string' ? type : JSON.stringify(type)}` }];
  }
}

/**
 * Warnings for a valid provider map: keys its type does not read. They are ignored, as in
 * matrix-corporal, but a miscased key (`path` for `Path`) is the usual cause.
 */
export function providerConfigWarnings(provider: Record<string, unknown>): ConfigIssue[] {
  const type = provider['Type'];
  if (typeof type !== 'string' || !Object.hasOwn(PROVIDER_KEYS, type)) return [];
  const known = PROVIDER_KEYS[type as ProviderType];
  return Object.keys(provider)
    .filter((key) => key !== 'Type' && !known.includes(key))
    .map((key) => ({
      path: `PolicyProvider.${key}`,
      message: `PolicyProvider.${key} is not read by the ${type} provider; it is ignored (PolicyProvider keys are case-sensitive)`,
    }));
}

function requireNonEmptyString(provider: Record<string, unknown>, key: string, missingMessage: string): ConfigIssue[] {
  const value = provider[key];
  if (!Object.hasOwn(provider, key) || value === null || value === '') {
    return [{ path: `PolicyProvider.${key}`, message: `${missingMessage}${miscasedHint(provider, key)}` }];
  }
  if (typeof value !== 'string') return [{ path: `PolicyProvider.${key}`, message: `PolicyProvider.${key} is expected to be a string` }];
  return [];
}

function validateHttpProvider(provider: Record<string, unknown>): ConfigIssue[] {
  // Every error at once: the missing keys, then what is wrong with the keys that are there.
  const present = (key: string): boolean => Object.hasOwn(provider, key);
  const issues: ConfigIssue[] = PROVIDER_KEYS.http.filter((key) => !present(key)).map((key) => ({
    path: `PolicyProvider.${key}`,
    message: `HTTP provider is missing a required configuration key: ${key}${miscasedHint(provider, key)}`,
  }));
  const uri = provider['Uri'];
  if (present('Uri')) {
    if (typeof uri !== 'string') issues.push({ path: 'PolicyProvider.Uri', message: 'PolicyProvider.Uri is expected to be a string' });
    else {
      const problem = checkHttpUrl(uri);
      if (problem !== null) issues.push({ path: 'PolicyProvider.Uri', message: `PolicyProvider.Uri needs to be an http(s) URL (it ${problem})` });
    }
  }
  // matrix-corporal requires a string here; null (no Authorization header) is accepted too.
  for (const key of ['AuthorizationBearerToken', 'CachePath'].filter(present)) {
    const value = provider[key];
    if (value !== null && typeof value !== 'string') issues.push({ path: `PolicyProvider.${key}`, message: `PolicyProvider.${key} is expected to be a string or null` });
  }
  if (present('ReloadIntervalSeconds')) issues.push(...numberOrNull(provider, 'ReloadIntervalSeconds', MAX_RELOAD_INTERVAL_SECONDS));
  if (present('TimeoutMilliseconds')) issues.push(...numberOrNull(provider, 'TimeoutMilliseconds', MAX_TIMER_MS));
  return issues;
}

/**
 * A hint for a required key that is missing while another spelling of it is present (`type`,
 * `path`): every other section of the configuration is case-insensitive, this map is not (as in
 * matrix-corporal), so the operator is told which key was not taken. `''` when there is none.
 */
function miscasedHint(provider: Record<string, unknown>, key: string): string {
  const found = Object.keys(provider).filter((name) => name !== key && name.toLowerCase() === key.toLowerCase());
  if (found.length === 0) return '';
  return ` (found ${found.map((name) => `\`${name}\``).join(', ')}: PolicyProvider keys are case-sensitive)`;
}

/**
 * matrix-corporal's number-or-null rule, plus the bound a Node timer can hold. Null or ≤ 0 means
 * "off" (as in matrix-corporal); a positive value must be at least 1 of its unit: a fraction below
 * that (`0.001` seconds, `0.5` ms) is a typo that would poll the policy server back to back or give
 * every fetch a deadline it can never meet, never a wish.
 */
function numberOrNull(provider: Record<string, unknown>, key: string, max: number): ConfigIssue[] {
  const value = provider[key];
  if (value === null) return [];
  const path = `PolicyProvider.${key}`;
  if (typeof value !== 'number') return [{ path, message: `${key} is expected to be a number or NULL` }];
  if (value > max) return [{ path, message: `${path} needs to be at most ${max}` }];
  if (value > 0 && value < 1) return [{ path, message: `${path} needs to be at least 1 (or null or ≤ 0 to turn it off)` }];
  return [];
}
