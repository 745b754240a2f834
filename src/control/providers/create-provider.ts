import type { PolicyProviderConfig } from '../../common/config/types.js';
import { validateProviderConfig } from '../../common/config/index.js';
import { CorporalError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { PolicyStore } from '../policy-store.js';
import { HttpProvider } from './http-provider.js';
import { LastSeenProvider } from './last-seen-provider.js';
import type { PolicyProvider } from './provider.js';
import { StaticFileProvider } from './static-file-provider.js';

/**
 * Builds the provider `PolicyProvider.Type` names from its (case-sensitive) keys. The configuration
 * loader has already validated them; an invalid map here is a programming error
 * (`CORP_ERR_PROVIDER_CONFIG`).
 */
export function createPolicyProvider(config: PolicyProviderConfig, store: PolicyStore, logger: Logger): PolicyProvider {
  const issues = validateProviderConfig(config);
  if (issues.length > 0) {
    throw new CorporalError('CORP_ERR_PROVIDER_CONFIG', issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '), { source: 'config' });
  }
  const providerLogger = logger.child({ provider: config.Type });
  switch (config.Type) {
    case 'static_file':
      return new StaticFileProvider({ path: config['Path'] as string, store, logger: providerLogger });
    case 'last_seen_store_policy':
      return new LastSeenProvider({ cachePath: config['CachePath'] as string, store, logger: providerLogger });
    default: {
      const seconds = config['ReloadIntervalSeconds'] as number | null;
      return new HttpProvider({
        uri: config['Uri'] as string,
        bearerToken: (config['AuthorizationBearerToken'] as string | null) || null,
        cachePath: (config['CachePath'] as string | null) || null,
        reloadIntervalMs: seconds === null ? null : seconds * 1000,
        timeoutMs: config['TimeoutMilliseconds'] as number | null,
        store,
        logger: providerLogger,
      });
    }
  }
}
