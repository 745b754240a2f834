import type { CorporalConfig } from '../../common/config/types.js';
import type { Logger } from '../../common/logger.js';
import type { ApplyContext } from '../apply/apply-context.js';
import { createAvatarDispatcher } from '../apply/avatar-source.js';
import { AccessTokens } from '../synapse/access-tokens.js';
import { AdminSession } from '../synapse/admin-session.js';
import { DEFAULT_RATE_LIMIT_RETRY } from '../synapse/rate-limit.js';
import { SynapseHttp } from '../synapse/synapse-http.js';
import { planReconciliation } from '../plan/index.js';
import type { Planner } from './planner.js';
import { ReconcileLoop } from './reconcile-loop.js';
import { accountDataUnfinishedLocks } from './unfinished-locks-store.js';

/** Options of {@link startReconciler}. */
export interface StartReconcilerOptions {
  config: Pick<CorporalConfig, 'Matrix' | 'Corporal' | 'Reconciliation'>;
  /** Default: `planReconciliation` from `control/plan` (tests may pass another). */
  planner?: Planner;
  logger: Logger;
  /** The loop's wait for the gateway threads to enforce a new policy (`ReconcileLoopOptions.gatewayCaughtUp`); absent: none. */
  gatewayCaughtUp?: (generation: number, signal: AbortSignal) => Promise<boolean>;
}

/** The reconciler's parts, for the control child and its HTTP API. */
export interface Reconciler {
  loop: ReconcileLoop;
  /** Token logic of the HTTP API's `/user/{id}/access-token` routes. */
  tokens: AccessTokens;
  session: AdminSession;
  http: SynapseHttp;
  /** Stops the loop (actions in flight finish), logs out the admin session Corporal opened, closes every connection. */
  close(): Promise<void>;
}

/**
 * Builds and starts the reconciler: one connection pool to Synapse (`Concurrency` × 2 keep-alive
 * connections, so that a run leaves the token API connections; a dry run during a run can still fill them), the admin session (opened here; a
 * failure rejects after closing what was built), the avatar downloader and the loop. The loop waits
 * for its first `onPolicy`.
 */
export async function startReconciler(options: StartReconcilerOptions): Promise<Reconciler> {
  const { Matrix, Corporal, Reconciliation } = options.config;
  const logger = options.logger;
  const http = new SynapseHttp({
    baseUrl: Matrix.HomeserverApiEndpoint,
    timeoutMs: Matrix.TimeoutMilliseconds,
    connections: Reconciliation.Concurrency * 2,
    socketPath: Matrix.HomeserverApiSocketPath,
    logger,
  });
  const session = new AdminSession({
    http,
    userId: Corporal.UserID,
    accessToken: Corporal.AccessToken,
    authSharedSecret: Matrix.AuthSharedSecret,
    registrationSharedSecret: Matrix.RegistrationSharedSecret,
    liftRateLimits: Reconciliation.LiftRateLimits,
    logger,
  });
  try {
    await session.start();
  } catch (err) {
    await http.close();
    throw err;
  }
  const avatarDispatcher = createAvatarDispatcher(Matrix.TimeoutMilliseconds);
  const ctx: ApplyContext = {
    http,
    admin: session,
    adminUserId: Corporal.UserID,
    authSharedSecret: Matrix.AuthSharedSecret,
    avatarMaxBytes: Reconciliation.AvatarMaxBytes,
    avatarTimeoutMs: Matrix.TimeoutMilliseconds,
    avatarDispatcher,
    logger,
  };
  const loop = new ReconcileLoop({
    ctx,
    reconciliation: Reconciliation,
    actionTimeoutMs: defaultActionTimeoutMs(Matrix.TimeoutMilliseconds),
    planner: options.planner ?? planReconciliation,
    logger,
    unfinishedLocks: accountDataUnfinishedLocks(http, session, Corporal.UserID),
    ...(options.gatewayCaughtUp ? { gatewayCaughtUp: options.gatewayCaughtUp } : {}),
  });
  const tokens = new AccessTokens({ http, admin: session, corporalUserId: Corporal.UserID, authSharedSecret: Matrix.AuthSharedSecret });
  let closed: Promise<void> | null = null;
  return {
    loop,
    tokens,
    session,
    http,
    close: () =>
      (closed ??= (async () => {
        await loop.stop();
        await session.stop();
        await avatarDispatcher.close();
        await http.close();
      })()),
  };
}

/**
 * Deadline of one action: room for ten sequential calls that each use their whole
 * `Matrix.TimeoutMilliseconds`, plus one minute of rate-limit waits. Most actions make two to six
 * calls (avatar: download, token, upload, profile, account data); `user.deactivate` makes one more
 * per pending delayed event, and each call may wait out rate limits on its own, so a very slow
 * Synapse can make a healthy action run past it (docs/reconciliation-apply.md).
 */
export function defaultActionTimeoutMs(callTimeoutMs: number): number {
  return 10 * callTimeoutMs + DEFAULT_RATE_LIMIT_RETRY.maxTotalWaitMs;
}
