/**
 * Builds the gateway's authentication phases (login, UIA, internal REST auth) for one gateway
 * thread; called from the thread's composition root.
 */
import type { CorporalConfig } from '../../common/config/types.js';
import type { Logger } from '../../common/logger.js';
import type { OffloadPool } from '../../offload/pool.js';
import type { RestAuthCache } from '../../offload/rest-auth-cache.js';
import { createPasswordCheckLimits } from './password-check-limits.js';
import type { UpstreamPools } from '../upstream/pools.js';
import type { TrustedProxies } from '../upstream/forwarded-for.js';
import { createInternalAuthHandler } from '../internal-auth/internal-auth-handler.js';
import { FailedAttempts } from '../internal-auth/failed-attempts.js';
import { InternalAuthPhase } from '../internal-auth/internal-auth-phase.js';
import { createUiaInterceptor } from '../uia/uia-interceptor.js';
import { UiaPhase } from '../uia/uia-phase.js';
import { createLoginInterceptor } from './login-interceptor.js';
import { createLoginResponseGuard } from './login-response-guard.js';
import type { LoginSession } from './login-response.js';
import { LoginPhase } from './login-phase.js';

/** The three phases; see pipeline.ts for where each runs. */
export interface GatewayAuthPhases {
  login: LoginPhase;
  uia: UiaPhase;
  internalAuth: InternalAuthPhase;
}

/**
 * One `rest` fallback cache and one set of password-check limits are shared by the three (a
 * success at login vouches for UIA and the internal endpoint too, and vice versa). `pool` is the
 * thread's offload pool, `upstream` its connections to the homeserver (used to log out refused
 * sessions), `trustedProxies` tells a login's or UIA request's client address (password checks
 * are counted per address), `failedAttemptsTable` the wrong-password counts of the internal REST
 * auth endpoint that every thread shares, `restCache` the thread's `rest` fallback cache (its
 * refusals reach the other threads' caches), `onSession` is told of each session a login through the
 * gateway created. Throws for an invalid `IPNetworkWhitelist` entry (the config loader refuses
 * those first).
 */
export function createGatewayAuthPhases(
  config: CorporalConfig,
  pool: OffloadPool,
  upstream: UpstreamPools,
  trustedProxies: TrustedProxies,
  logger: Logger,
  failedAttemptsTable: SharedArrayBuffer,
  restCache: RestAuthCache,
  onSession?: (session: LoginSession) => void,
): GatewayAuthPhases {
  // One set of limits for the three: a user's checks count together whichever endpoint sent them.
  const limits = createPasswordCheckLimits(config.Matrix.TimeoutMilliseconds);
  const checker = { pool, restCache, userAuth: config.UserAuth, logger, limits };
  const domain = config.Matrix.HomeserverDomainName;
  const authSharedSecret = config.Matrix.AuthSharedSecret;
  const maxBodyBytes = config.HttpGateway.MaxInspectedBodyBytes;
  const homeserver = { dispatcher: upstream.internal, origin: upstream.target.origin, basePath: upstream.target.basePath, timeoutMs: config.Matrix.TimeoutMilliseconds };
  return {
    login: new LoginPhase({
      intercept: createLoginInterceptor({ ...checker, domain, authSharedSecret }),
      guard: createLoginResponseGuard(homeserver, logger, onSession),
      maxBodyBytes,
      trustedProxies,
    }),
    uia: new UiaPhase({ intercept: createUiaInterceptor({ ...checker, authSharedSecret }), maxBodyBytes, trustedProxies }),
    internalAuth: new InternalAuthPhase({ handle: createInternalAuthHandler({
      ...checker,
      config: config.HttpGateway.InternalRESTAuth,
      domain,
      authSharedSecret,
      failedAttempts: new FailedAttempts(failedAttemptsTable),
    }), maxBodyBytes }),
  };
}
