/**
 * The configuration loader's public API. Everything else in this folder is internal to it; the
 * configuration's shape itself is in types.ts.
 */
export type { ConfigIssue, ConfigResult } from './issues.js';
export { loadConfigFile, parseConfigObject, parseConfigText, MAX_CONFIG_FILE_BYTES } from './load.js';
export { validateProviderConfig, PROVIDER_TYPES, type ProviderType } from './provider-rules.js';
export { DEFAULT_TRUSTED_PROXY_CIDRS, parseCidr, parseNetwork, PRIVATE_NETWORK_CIDRS, type CidrNetwork } from './cidr.js';
export { DEFAULT_API_LISTEN_ADDRESS, DEFAULT_GATEWAY_LISTEN_ADDRESS } from './defaults.js';
export { LOG_LEVELS } from './rules.js';
