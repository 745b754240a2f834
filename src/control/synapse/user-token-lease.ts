import { CorporalError, describeError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { loginAsUser } from './admin-users-api.js';
import { logout } from './client-api.js';
import type { SynapseHttp, TokenSource } from './synapse-http.js';

/** Validity of the tokens the reconciler mints for itself: long enough for one user's actions. */
export const USER_TOKEN_VALIDITY_MS = 2 * 60_000;

/** Tokens closer than this to their expiry are replaced before use. */
const EXPIRY_MARGIN_MS = 15_000;

/** Error code of a use of a lease after {@link UserTokenLease.release}. */
export const LEASE_RELEASED = 'CORP_ERR_LEASE_RELEASED';

/**
 * Short-lived tokens of one user, minted by the admin (`valid_until_ms` ≈ now + 2 min) only when an
 * action needs to act as the user (leave a room, upload an avatar, write account data, cancel
 * delayed events), reused for that user's actions in one run, and logged out by {@link release}.
 * Logging out matters: such a token is owned by the admin and would otherwise survive the user's
 * password change and deactivation until it expires (synapse.md §0.5).
 *
 * A released lease stays closed: an action abandoned at its deadline keeps running, and a token it
 * minted after the release would be logged out by nobody. So {@link token} and {@link renew} then
 * reject, and a token whose minting was in flight at the release is logged out as it arrives.
 */
export class UserTokenLease implements TokenSource {
  readonly userId: string;
  readonly #http: SynapseHttp;
  readonly #admin: TokenSource;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #minted: string[] = [];
  #current: { token: string; validUntilMs: number } | null = null;
  #released = false;

  constructor(http: SynapseHttp, admin: TokenSource, userId: string, logger: Logger, now: () => number = Date.now) {
    this.#http = http;
    this.#admin = admin;
    this.userId = userId;
    this.#logger = logger;
    this.#now = now;
  }

  /** A valid token of the user, minted on first use and replaced near its expiry; rejects once released. */
  async token(): Promise<string> {
    const current = this.#current;
    if (current !== null && current.validUntilMs - this.#now() > EXPIRY_MARGIN_MS) return current.token;
    return this.#mint();
  }

  /** The token was refused as unknown (expired): mint another; rejects once released. */
  async renew(): Promise<string> {
    return this.#mint();
  }

  /** Logs out every token minted here and closes the lease; failures are logged, never thrown. */
  async release(): Promise<void> {
    this.#released = true;
    const tokens = this.#minted.splice(0);
    this.#current = null;
    await Promise.all(tokens.map((token) => this.#logout(token)));
  }

  async #mint(): Promise<string> {
    if (this.#released) throw this.#releasedError();
    const validUntilMs = this.#now() + USER_TOKEN_VALIDITY_MS;
    const token = await loginAsUser(this.#http, this.#admin, this.userId, validUntilMs);
    if (this.#released) {
      await this.#logout(token);
      throw this.#releasedError();
    }
    this.#minted.push(token);
    this.#current = { token, validUntilMs };
    return token;
  }

  async #logout(token: string): Promise<void> {
    try {
      await logout(this.#http, token);
    } catch (err) {
      this.#logger.warn({ userId: this.userId, err: describeError(err) }, 'could not log out a short-lived user token');
    }
  }

  #releasedError(): CorporalError {
    return leaseReleasedError(this.userId);
  }
}

/** The error of a use of `userId`'s user tokens after their lease (or the scope holding it) was released. */
export function leaseReleasedError(userId: string): CorporalError {
  return new CorporalError(LEASE_RELEASED, `the user-token lease of ${userId} was released (its action ran past its deadline)`, { source: 'internal' });
}
