import type { Dispatcher } from 'undici';
import type { Logger } from '../../common/logger.js';
import type { SynapseHttp, TokenSource } from '../synapse/synapse-http.js';

/** What every action handler needs; built once by the reconciler's composition root. */
export interface ApplyContext {
  http: SynapseHttp;
  /** The corporal admin session. */
  admin: TokenSource;
  /** `Corporal.UserID`. */
  adminUserId: string;
  /** `Matrix.AuthSharedSecret` (derived passwords and the password marker). */
  authSharedSecret: string;
  /** `Reconciliation.AvatarMaxBytes`. */
  avatarMaxBytes: number;
  /** Deadline of one avatar download (`Matrix.TimeoutMilliseconds`). */
  avatarTimeoutMs: number;
  /** Dispatcher of avatar downloads (`createAvatarDispatcher`). */
  avatarDispatcher: Dispatcher;
  logger: Logger;
}

/**
 * Per-run scope of a user's actions: `userToken(userId)` gives a short-lived token of that user,
 * minted on first use; the caller logs such tokens out when the user's actions are done.
 */
export interface ActionScope {
  userToken(userId: string): TokenSource;
  /**
   * Whether the run is done with this scope (the user's actions finished or were given up): a
   * handler that sees true has outlived its deadline, and must not change the account any more.
   * Absent = never.
   */
  isReleased?(): boolean;
}
