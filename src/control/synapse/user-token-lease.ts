import { describeError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { loginAsUser } from './admin-users-api.js';
import { logout } from './client-api.js';
import type { SynapseHttp, TokenSource } from './synapse-http.js';

/** Validity of the tokens the reconciler mints for itself: long enough for one user's actions. */
export const USER_TOKEN_VALIDITY_MS = 2 * 60_000;

/** Tokens closer than this to their expiry are replaced before use. */
const EXPIRY_MARGIN_MS = 15_000;

/**
 * Short-lived tokens of one user, minted by the admin (`valid_until_ms` ≈ now + 2 min) only when an
 * action needs to act as the user (leave a room, upload an avatar, write account data, cancel
 * delayed events), reused for that user's actions in one run, and logged out by {@link release}.
 * Logging out matters: such a token is owned by the admin and would otherwise survive the user's
 * password change and deactivation until it expires (synapse.md §0.5).
 */
export class UserTokenLease implements TokenSource {
  readonly userId: string;
  readonly #http: SynapseHttp;
  readonly #admin: TokenSource;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #minted: string[] = [];
  #current: { token: string; validUntilMs: number } | null = null;

  constructor(http: SynapseHttp, admin: TokenSource, userId: string, logger: Logger, now: () => number = Date.now) {
    this.#http = http;
    this.#admin = admin;
    this.userId = userId;
    this.#logger = logger;
    this.#now = now;
  }

  /** A valid token of the user, minted on first use and replaced near its expiry. */
  async token(): Promise<string> {
    const current = this.#current;
    if (current !== null && current.validUntilMs - this.#now() > EXPIRY_MARGIN_MS) return current.token;
    return this.#mint();
  }

  /** The token was refused as unknown (expired): mint another. */
  async renew(): Promise<string> {
    return this.#mint();
  }

  /** Logs out every token minted here; failures are logged, never thrown. */
  async release(): Promise<void> {
    const tokens = this.#minted.splice(0);
    this.#current = null;
    const results = await Promise.allSettled(tokens.map((token) => logout(this.#http, token)));
    for (const result of results) {
      if (result.status === 'rejected') this.#logger.warn({ userId: this.userId, err: describeError(result.reason) }, 'could not log out a short-lived user token');
    }
  }

  async #mint(): Promise<string> {
    const validUntilMs = this.#now() + USER_TOKEN_VALIDITY_MS;
    const token = await loginAsUser(this.#http, this.#admin, this.userId, validUntilMs);
    this.#minted.push(token);
    this.#current = { token, validUntilMs };
    return token;
  }
}
